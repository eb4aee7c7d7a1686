/**
 * Client API for requests for a person (docs/architecture.md#approvals-questions-and-steering):
 * what a root's tree waits for, the decision on one request, and every tree that waits for a
 * person (visibility). Steering is in ./steering.ts.
 *
 * Input is validated here with the workflows' own schemas, so a bad call fails in the caller;
 * an Update the workflow's validator rejects becomes an `UpdateRejectedError` carrying the
 * validator's text (`unknown request "…"`), not the SDK's generic "Workflow Update failed".
 */
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { BambooPendingRequests, parseOrThrow, RespondInputSchema, sessionIdFromWorkflowId, sessionWorkflowId, type PendingRequest, type RespondInput, type RespondReceipt, respondUpdate, stateQuery } from '../common';

/** The session's workflow rejected the Update (its validator's text is the message); nothing was recorded. */
export class UpdateRejectedError extends Error {
  override readonly name = 'UpdateRejectedError';
}

/** A root session with requests waiting for a person, as visibility lists it. */
export interface TreeWaitingForAPerson {
  rootSessionId: string;
  workflowId: string;
  /** `BambooPendingRequests`: visibility is eventually consistent, the root's `state` is exact. */
  pendingRequests: number;
  startTime: string;
}

/** The requests from anywhere in the root's tree that wait for a person (the root's `state` query). */
export async function pendingRequests(client: Client, rootSessionId: string): Promise<PendingRequest[]> {
  const state = await client.workflow.getHandle(sessionWorkflowId(rootSessionId)).query(stateQuery);
  return state.pendingRequests ?? [];
}

/**
 * A person's decision on a pending request (the Update `respond` on the root). Returns once
 * the root has recorded it (once: a second decision on the same id is rejected) and routed it;
 * `delivered: false` when the session that asked had already stopped waiting.
 * @throws UpdateRejectedError for an unknown, already answered or expired id, or a decision
 *   the request's kind does not take (approve a question, answer a tool call).
 */
export async function respond(client: Client, rootSessionId: string, input: RespondInput): Promise<RespondReceipt> {
  const valid = parseOrThrow(RespondInputSchema, input, 'respond input');
  return rejectedAsError(() => client.workflow.getHandle(sessionWorkflowId(rootSessionId)).executeUpdate(respondUpdate, { args: [valid] }));
}

/** The visibility query for running roots with requests pending (what the Web UI can list too). */
export const TREES_WAITING_QUERY = `WorkflowType = "sessionWorkflow" AND ExecutionStatus = "Running" AND ${BambooPendingRequests.name} > 0`;

/** Every running root whose tree has requests waiting for a person (`BambooPendingRequests > 0`). */
export async function treesWaitingForAPerson(client: Client, options: { limit?: number } = {}): Promise<TreeWaitingForAPerson[]> {
  const limit = options.limit ?? 1000;
  const trees: TreeWaitingForAPerson[] = [];
  for await (const run of client.workflow.list({ query: TREES_WAITING_QUERY })) {
    trees.push({
      rootSessionId: sessionIdFromWorkflowId(run.workflowId) ?? run.workflowId,
      workflowId: run.workflowId,
      pendingRequests: run.typedSearchAttributes.get(BambooPendingRequests) ?? 0,
      startTime: run.startTime.toISOString(),
    });
    if (trees.length >= limit) break;
  }
  return trees;
}

/** Runs an Update; a rejection (or failure) in the workflow becomes an `UpdateRejectedError` with its text. */
export async function rejectedAsError<T>(update: () => Promise<T>): Promise<T> {
  try {
    return await update();
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) throw new UpdateRejectedError(error.cause?.message || error.message, { cause: error });
    throw error;
  }
}
