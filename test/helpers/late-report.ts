/**
 * A child run's report again, counting one message that reached the run after its first report
 * (what childSessionWorkflow sends then): the parent queues the child's next run for it. Tests
 * send it themselves to make that report arrive at a chosen moment.
 */
import type { ChildCompletion } from '../../common';

export function lateReport(parentSessionId: string, childSessionId: string, runId: string): ChildCompletion {
  return { parentSessionId, childSessionId, runId, status: 'completed', completedAt: new Date().toISOString(), finalResponse: 'done', unansweredMessages: 1 };
}
