/**
 * Client API for child runs: start (idempotent per session), inject, cancel, await.
 * Input is validated here too, so a bad call fails in the caller, not in a workflow.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { childStartSearchAttributes, CURRENT_HISTORY_SHAPE, parseOrThrow, SentMessageSchema, sessionWorkflowId, SpawnJobSchema, type SpawnJob, injectMessageSignal } from '../common';
import type { childSessionWorkflow } from '../workflows';

export type ChildRunHandle = WorkflowHandleWithFirstExecutionRunId<typeof childSessionWorkflow>;

/**
 * Starts a run of the child session, or returns the running one: the workflow id is the
 * session, and a start while a run is open attaches to it (no duplicate run, no duplicate
 * completion). A closed session starts a new run under the same id.
 */
export async function startChildRun(client: Client, job: SpawnJob, options: { taskQueue: string }): Promise<ChildRunHandle> {
  const valid = parseOrThrow(SpawnJobSchema, job, 'SpawnJob');
  const session = valid.session;
  return client.workflow.start<typeof childSessionWorkflow>('childSessionWorkflow', {
    taskQueue: options.taskQueue,
    workflowId: sessionWorkflowId(valid.childSessionId),
    args: [{ ...valid, historyShape: CURRENT_HISTORY_SHAPE }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: `child session ${session?.title ? `“${session.title}” ` : ''}(${valid.childSessionId}) of ${valid.parentSessionId} · ${valid.model}`,
    typedSearchAttributes: childStartSearchAttributes(valid),
  });
}

/** Queues a message into the session's running run (merged at its next turn boundary). */
export async function injectIntoSession(client: Client, sessionId: string, content: string): Promise<void> {
  const payload = parseOrThrow(SentMessageSchema, { content }, 'message');
  await client.workflow.getHandle(sessionWorkflowId(sessionId)).signal(injectMessageSignal, payload);
}

/** Requests cancellation of the session's running run; it ends `cancelled` and still reports to its parent. */
export async function cancelSession(client: Client, sessionId: string): Promise<void> {
  await client.workflow.getHandle(sessionWorkflowId(sessionId)).cancel();
}
