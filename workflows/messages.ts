/** Building transcript messages inside workflows (deterministic ids and clocks). */
import { uuid4 } from '@temporalio/workflow';
import type { Message } from '../common/session';

export function newMessage(role: Message['role'], content: string, extra: Partial<Message> = {}): Message {
  return { id: uuid4(), role, content, createdAt: new Date().toISOString(), ...extra };
}
