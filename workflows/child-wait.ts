/**
 * The durable wait for children, shared by root and child sessions: it lasts until the wait
 * policy holds or the lease expires — then the parent resumes with one hidden message naming
 * each child finished since the last one — or until `interrupt()` says the caller has
 * something to do first (a root's user message, its continue-as-new).
 */
import { condition } from '@temporalio/workflow';
import type { Session } from '../common/session';
import type { Children } from './children';
import { newMessage } from './messages';

/** Metadata of the resume message: hidden from transcripts shown to people, written by the runtime. */
export const RESUME_MESSAGE_METADATA = { hidden: 'true', runtime: 'children' } as const;

/** @returns true when the parent resumed (the resume message is in `session`), false when interrupted. */
export async function awaitChildren(session: Session, children: Children, interrupt: () => boolean = () => false): Promise<boolean> {
  const woke = await condition(() => children.waitSatisfied() || interrupt(), children.leaseRemainingMs());
  if (!woke) children.watchUnwatched(); // at a lease expiry, make sure no awaited child goes unobserved
  if (woke && !children.waitSatisfied()) return false;
  session.messages.push(newMessage('user', children.takeResumeMessage(!woke), { metadata: { ...RESUME_MESSAGE_METADATA } }));
  return true;
}
