/**
 * How a parent learns that a child run closed when the child itself could not say so
 * (terminated by an operator or the server, timed out by a workflow execution timeout,
 * failed before it could signal): from the run's own outcome.
 *
 * - A run this parent run started: its child handle's result (the close event is in the
 *   parent's history anyway).
 * - A run it has no handle for (adopted after continue-as-new, started by someone else, or
 *   a run still closing when the parent wanted to start the next one): an activity that
 *   waits on the run's close through the client, following continue-as-new and reset.
 *
 * Either way the report is keyed like the child's own signal, (childSessionId, first run id
 * of the run's chain), so whichever path reports first wins and the other is a duplicate.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { BambooActivities } from '../worker/activities';
import { outcomeOfFailure, outcomeOfResult, type RunCloseReport } from '../common/run-close';

/** Workflow histories recorded before reconciliation existed replay without it. */
export const RECONCILE_PATCH = 'bamboo-reconcile-child-runs';

/** True in runs that reconcile: new executions, and old ones from the first new step on. */
export function reconciles(): boolean {
  return patched(RECONCILE_PATCH);
}

/**
 * Temporal Cloud bills one action for each workflow task that records patch markers, however
 * many. A run that may start children decides reconciliation (and `alsoDecide`) in the task
 * that records its first markers, instead of in the task of its first child start: a new run's
 * `patched()` is true whenever asked and keeps its first answer, so only the marker's place
 * changes. Runs recorded before this patch decide each when first needed, as they did.
 */
export const MARKERS_IN_FIRST_TASK_PATCH = 'bamboo-markers-in-first-task';

export function decideInFirstTask(alsoDecide: readonly string[] = []): void {
  if (!patched(MARKERS_IN_FIRST_TASK_PATCH)) return;
  for (const id of [RECONCILE_PATCH, ...alsoDecide]) patched(id);
}

/**
 * Issue 25: a start that finds the session's run still open waits for that run to close, and
 * watches are keyed by run. Histories recorded before replay as they were; the patch is asked
 * only where the two ways part, so a run that never meets such an overlap records no marker.
 */
export const OPEN_RUN_PATCH = 'bamboo-start-after-open-run-closes';

export function startsAfterOpenRunCloses(): boolean {
  return patched(OPEN_RUN_PATCH);
}

/**
 * The outcome of a run this parent run started, once it closes. Never rejects.
 * @param stillWanted asked when the run has closed: false (the child reported by itself first,
 *   as it almost always has) skips reading the result — validating a whole session snapshot
 *   for a report that would be dropped as a duplicate.
 */
export function closeOfStartedRun(
  handle: Pick<ChildWorkflowHandle<never>, 'firstExecutionRunId' | 'workflowId' | 'result'>,
  stillWanted: () => boolean = () => true,
): Promise<RunCloseReport | undefined> {
  const runId = handle.firstExecutionRunId;
  return handle.result().then(
    (result) => (stillWanted() ? { runId, outcome: outcomeOfResult(result) } : undefined),
    (error: unknown) => {
      if (!stillWanted()) return undefined;
      if (error instanceof ChildWorkflowFailure) return { runId, outcome: outcomeOfFailure(error.cause) };
      log.warn('child run result unavailable', { workflowId: handle.workflowId, error: String(error) });
      return undefined;
    },
  );
}

/**
 * Watches a session's run (its current one when `runId` is absent) until it closes. The
 * watch lives outside the caller's cancellation scope (cancelling a parent must not make its
 * children look cancelled); `stop()` ends it when the child reported by itself first.
 */
export function watchRunClose(sessionId: string, runId: string | undefined): { closed: Promise<RunCloseReport | undefined>; stop(): void } {
  let scope: CancellationScope | undefined;
  const { awaitSessionRunClose } = proxyActivities<BambooActivities>({
    summary: `watch child session ${sessionId} until its run closes`,
    startToCloseTimeout: '1 day',
    heartbeatTimeout: '60s',
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  const closed = CancellationScope.nonCancellable(() => {
    scope = new CancellationScope(); // a child of the non-cancellable scope, cancelled only by stop()
    return scope.run(() => awaitSessionRunClose({ sessionId, runId }));
  }).then(
    (report) => report,
    (error: unknown) => {
      if (!isCancellation(error)) log.warn('could not watch a child run', { sessionId, error: String(error) });
      return undefined;
    },
  );
  return { closed, stop: () => scope?.cancel() };
}
