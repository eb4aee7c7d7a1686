/**
 * The baseline: the same shapes as Bamboo's parent/child without Bamboo's logic. A bare
 * parent starts N bare children (ABANDON, by workflow id); each runs one no-op activity and
 * signals the parent; the parent completes when all N have signalled.
 */
import { condition, defineSignal, getExternalWorkflowHandle, ParentClosePolicy, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../baseline-activities';

export const childDone = defineSignal<[string]>('childDone');

const { noop } = proxyActivities<typeof activities>({ startToCloseTimeout: '1 minute' });
// As a user would write a model call: retried, a heartbeat timeout for liveness, the SDK's heartbeat throttling.
const { modelCall } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' });
const { streamFor } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' });

export async function baselineParentWorkflow(children: number): Promise<number> {
  let done = 0;
  setHandler(childDone, () => void (done += 1));
  const { workflowId, taskQueue } = workflowInfo();
  await Promise.all(
    Array.from({ length: children }, (_, i) =>
      startChild(baselineChildWorkflow, {
        workflowId: `${workflowId}-child-${i}`,
        taskQueue,
        args: [workflowId],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    ),
  );
  await condition(() => done === children);
  return done;
}

export async function baselineChildWorkflow(parentWorkflowId: string): Promise<void> {
  await noop();
  await getExternalWorkflowHandle(parentWorkflowId).signal(childDone, workflowInfo().workflowId);
}

/** The baseline for worker memory: one bare child run holding one streamed call open for `secs` seconds. */
export async function baselineStreamingChildWorkflow(secs: number): Promise<void> {
  await streamFor(secs);
}

/**
 * The baseline for the scale curve, shaped like a Bamboo child run started without a parent
 * workflow: one activity, then a completion signal to a parent that does not exist (the failure
 * is caught, as Bamboo's child logs it).
 */
export async function baselineLoneChildWorkflow(parentWorkflowId: string): Promise<void> {
  await noop();
  try {
    await getExternalWorkflowHandle(parentWorkflowId).signal(childDone, workflowInfo().workflowId);
  } catch {
    // No parent: nothing to tell.
  }
}

/**
 * The fair baseline for billable actions and CPU (bench/actions.ts): what a user would write by
 * hand on Temporal for a parent agent with sub-agents. The parent calls its model, starts N
 * children, waits for their completion signals and calls its model again; each child makes
 * one streaming model call (a token and a heartbeat a second for `streamSecs`) and signals
 * its parent.
 */
export async function fairParentWorkflow(children: number, streamSecs: number): Promise<number> {
  let done = 0;
  setHandler(childDone, () => void (done += 1));
  const { workflowId, taskQueue } = workflowInfo();
  await modelCall(0);
  await Promise.all(
    Array.from({ length: children }, (_, i) =>
      startChild(fairChildWorkflow, { workflowId: `${workflowId}-child-${i}`, taskQueue, args: [workflowId, streamSecs], parentClosePolicy: ParentClosePolicy.ABANDON }),
    ),
  );
  await condition(() => done === children);
  await modelCall(0);
  return done;
}

export async function fairChildWorkflow(parentWorkflowId: string, streamSecs: number): Promise<void> {
  await modelCall(streamSecs);
  await getExternalWorkflowHandle(parentWorkflowId).signal(childDone, workflowInfo().workflowId);
}
