/**
 * Client API for messages to a session that has already started: steering a running session
 * (the Update `steer`, with a receipt), and a message to a child session whether its run is
 * running (injected) or finished (its next run starts with the message).
 */
import type { Client } from '@temporalio/client';
import { BambooModel, BambooParentSessionId, parseOrThrow, sessionWorkflowId, SteerInputSchema, type ChildRunResult, type SteerReceipt, steerUpdate } from '../common';
import { injectIntoSession, startChildRun } from './child-runs';
import { rejectedAsError } from './requests';

/**
 * Steers a running session, root or child (the Update `steer`): the message joins its queue
 * and is merged at the next turn boundary. Returns then, with the turn (`mergedAtTurn`), or
 * once the run ended first (`mergedAtTurn: null`: the message is in the run's final session).
 * @throws UpdateRejectedError when the session cannot take it (not running, being cancelled,
 *   an external agent's run), with the workflow's reason.
 */
export async function steer(client: Client, sessionId: string, content: string): Promise<SteerReceipt> {
  const valid = parseOrThrow(SteerInputSchema, { content }, 'steer input');
  return rejectedAsError(() => client.workflow.getHandle(sessionWorkflowId(sessionId)).executeUpdate(steerUpdate, { args: [valid] }));
}

export type ChildDelivery =
  | { delivery: 'injected'; workflowId: string; runId: string }
  /** The child had finished: this run starts from its newest snapshot plus the message. */
  | { delivery: 'next-run'; workflowId: string; runId: string; parentSessionId: string; model: string };

/**
 * A message to a child session. A running run gets it injected (merged at its next turn
 * boundary). A finished child gets its next run, as `manage_children send_message` does: a
 * SpawnJob without `session`, so the run loads the newest snapshot itself — transcript and
 * metadata (an A2A context id, a subagent_type…) kept — and appends the message; it reports
 * to the same parent, with the same model, read from the last run (search attributes, else
 * its result).
 *
 * Not atomic: a run started by someone else between the look and the start is attached to
 * (workflow id = session), and the message is then not in it.
 * @throws Error when the session is not a child session, or its last run says no parent.
 */
export async function sendToChild(client: Client, childSessionId: string, message: string, options: { taskQueue: string }): Promise<ChildDelivery> {
  const handle = client.workflow.getHandle(sessionWorkflowId(childSessionId));
  const description = await handle.describe();
  if (description.type !== 'childSessionWorkflow') throw new Error(`session ${childSessionId} is not a child session (workflow type ${description.type})`);
  if (description.status.name === 'RUNNING') {
    await injectIntoSession(client, childSessionId, message);
    return { delivery: 'injected', workflowId: description.workflowId, runId: description.runId };
  }
  let parentSessionId = description.typedSearchAttributes.get(BambooParentSessionId);
  let model = description.typedSearchAttributes.get(BambooModel);
  if ((!parentSessionId || !model) && description.status.name === 'COMPLETED') {
    const result = (await client.workflow.getHandle(description.workflowId, description.runId).result()) as ChildRunResult;
    parentSessionId ??= result.parentSessionId;
    model ??= result.session?.model;
  }
  if (!parentSessionId || !model) throw new Error(`child session ${childSessionId}: its last run names no ${parentSessionId ? 'model' : 'parent'}, so its next run cannot start`);
  const next = await startChildRun(client, { parentSessionId, childSessionId, model, appendMessages: [message] }, options);
  return { delivery: 'next-run', workflowId: next.workflowId, runId: next.firstExecutionRunId, parentSessionId, model };
}
