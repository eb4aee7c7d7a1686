/** Observing a root session from a test, through its public queries and its children's histories. */
import type { Client } from '@temporalio/client';
import { sessionTranscript, sessionState } from '../../client/root-sessions';
import type { Message, SessionRunState } from '../../common';
import { eventually } from './eventually';
import { completionReportsDelivered } from './tree-audit';

export function resumeMessages(messages: Message[]): Message[] {
  return messages.filter((m) => m.metadata?.runtime === 'children');
}

/** Waits until the session is idle after a turn with no wait pending, and every child has finished. */
export async function settled(client: Client, sessionId: string, timeoutMs = 60_000): Promise<SessionRunState> {
  return eventually(async () => {
    const s = await sessionState(client, sessionId);
    const childrenDone = s.children.every((c) => !['pending', 'running'].includes(c.status));
    return s.phase === 'idle' && s.waiting === null && childrenDone && s.lastRunStatus ? s : undefined;
  }, { timeoutMs, what: `session ${sessionId} to settle` });
}

export { sessionTranscript, sessionState };

/**
 * How many completion signals a child session's runs delivered to its parent: every run of its
 * workflow id (follow-ups, continue-as-new), not the latest only — a session run twice, each run
 * reporting once, must count 2.
 */
export async function completionSignalsSent(client: Client, childSessionId: string): Promise<number> {
  return completionReportsDelivered(client, childSessionId);
}
