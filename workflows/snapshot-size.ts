/** Keeps a session small enough to leave the workflow as one payload (common/compaction.ts; docs/architecture.md#payload-size-and-compaction). */
import { log } from '@temporalio/workflow';
import { compactSession } from '../common/compaction';
import type { Session } from '../common/session';
import type { EventLog } from './event-log';

/** Compacts `session` in place if it has outgrown `budgetBytes` (SessionOptions.transcriptBudgetBytes), and says so. */
/** Returns whether it compacted (earlier messages changed). */
export function keepSnapshotSmall(session: Session, events: EventLog, budgetBytes: number): boolean {
  const compaction = compactSession(session, budgetBytes);
  if (!compaction) return false;
  log.warn('session compacted to stay under the payload limit', { sessionId: session.id, ...compaction });
  events.add({ type: 'transcript_compacted', ...compaction });
  return true;
}
