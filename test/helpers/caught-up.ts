/**
 * "Exactly one" checks need a window that ends for a reason, not after a fixed time: a duplicate
 * report can only come from a run still open, a signal not yet processed, or an activity still
 * pending. `caughtUp` waits until none of those is left, by Temporal's own records.
 */
import type { Client } from '@temporalio/client';
import { eventually } from './eventually';

/**
 * Resolves once every run of `childWorkflowIds` has closed (a child tells its parent before it
 * closes, so its reports are in the parent's history by then), the parent has no activity
 * pending, and the parent has completed a workflow task after a signal sent now — a task that
 * saw every event before it.
 */
export async function caughtUp(client: Client, parentWorkflowId: string, childWorkflowIds: string[]): Promise<void> {
  for (const id of childWorkflowIds) {
    await eventually(async () => (await client.workflow.getHandle(id).describe()).status.name !== 'RUNNING', { timeoutMs: 60_000, what: `${id} to close` });
  }
  const parent = client.workflow.getHandle(parentWorkflowId);
  await eventually(async () => ((await parent.describe()).raw.pendingActivities?.length ?? 0) === 0, { timeoutMs: 60_000, what: `${parentWorkflowId} to have no activity pending` });
  // A signal no workflow handles: the parent's next task takes it in, after everything before it.
  await parent.signal('bambooTestCatchUp');
  await eventually(async () => {
    const events = (await parent.fetchHistory()).events ?? [];
    const nudge = events.findLastIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'bambooTestCatchUp');
    return nudge >= 0 && events.slice(nudge + 1).some((e) => e.workflowTaskCompletedEventAttributes);
  }, { timeoutMs: 60_000, what: `${parentWorkflowId} to complete a task after everything sent to it` });
}
