/**
 * Session bookkeeping through the Temporal client. History is the store: a session's
 * snapshot is the result of one of its closed runs (`ChildRunResult.session`), and how a run
 * ended is in its close event.
 */
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { WorkflowContinuedAsNewError, WorkflowFailedError, type Client } from '@temporalio/client';
import { TerminatedFailure } from '@temporalio/common';
import {
  ChildRunResultSchema,
  LoadSnapshotInputSchema,
  outcomeOfFailure,
  outcomeOfResult,
  SessionRunRefSchema,
  sessionWorkflowId,
  type LoadSnapshotInput,
  type RunCloseReport,
  type Session,
  type SessionRunRef,
} from '../../common';
import { sleep } from '../sleep';
import { parseActivityInput } from './input';
import { createCloseWatches, type CloseWatchOptions } from './close-watches';
import type { ClientSource } from './client';

/** Visibility is eventually consistent: look once more before saying "not found". */
const VISIBILITY_RECHECK_MS = 1000;
export function createSessionActivities({ client: clientOf, closeWatches }: { client: ClientSource; closeWatches?: CloseWatchOptions }) {
  const watches = createCloseWatches(closeWatches);
  return {
    /**
     * The snapshot a session's next run continues from: the result of `snapshotRunId` (the run
     * that reported, following continue-as-new) when given; else, or when that run left no
     * snapshot (terminated, not found), the newest earlier run that did. Null: none has.
     */
    async loadSessionSnapshot(request: LoadSnapshotInput): Promise<Session | null> {
      const input = parseActivityInput(LoadSnapshotInputSchema, request, 'snapshot request');
      const client = clientOf();
      const workflowId = sessionWorkflowId(input.sessionId);
      if (input.snapshotRunId) {
        const session = await snapshotOf(client, workflowId, input.snapshotRunId);
        if (session) return session;
      }
      let session = await newestSnapshot(client, workflowId, input.currentRunId);
      if (!session) {
        await sleep(VISIBILITY_RECHECK_MS);
        session = await newestSnapshot(client, workflowId, input.currentRunId);
      }
      return session;
    },

    /**
     * Waits until a session's run closes and says how: by its result, or by the failure that
     * closed it (terminated, timed out, failed, cancelled). Follows continue-as-new and reset
     * to the run that replaces it. Without `runId`, watches the session's current run.
     * Long-running, but completes asynchronously (close-watches.ts): it holds no activity slot
     * while it waits; it heartbeats, and ends (cancelled) when the workflow stops waiting.
     */
    async awaitSessionRunClose(ref: SessionRunRef): Promise<RunCloseReport> {
      const input = parseActivityInput(SessionRunRefSchema, ref, 'session run reference');
      const client = clientOf();
      const workflowId = sessionWorkflowId(input.sessionId);
      watches.watch(client, Context.current().info.taskToken, (signal) => client.withAbortSignal(signal, () => closeOf(client, workflowId, input.runId)));
      throw new CompleteAsyncError();
    },
  };
}

async function snapshotOf(client: Client, workflowId: string, runId: string): Promise<Session | null> {
  try {
    const result = ChildRunResultSchema.safeParse(await client.workflow.getHandle(workflowId, runId).result());
    return result.success ? result.data.session : null;
  } catch (error) {
    if (error instanceof WorkflowFailedError) return null; // closed without a result: no snapshot
    throw error;
  }
}

/** The newest closed run with a snapshot: a run that ended without one never hides earlier ones. */
async function newestSnapshot(client: Client, workflowId: string, excludeRunId: string): Promise<Session | null> {
  const runs: { runId: string; closedAt: number }[] = [];
  const query = `WorkflowId = ${JSON.stringify(workflowId)} AND ExecutionStatus = "Completed"`;
  for await (const execution of client.workflow.list({ query })) {
    if (execution.runId !== excludeRunId) runs.push({ runId: execution.runId, closedAt: execution.closeTime?.getTime() ?? 0 });
  }
  runs.sort((a, b) => b.closedAt - a.closedAt);
  for (const run of runs) {
    const session = await snapshotOf(client, workflowId, run.runId);
    if (session) return session;
  }
  return null;
}

async function closeOf(client: Client, workflowId: string, firstRunId: string | undefined): Promise<RunCloseReport> {
  const chain = firstRunId ?? (await currentRun(client, workflowId)).firstRunId;
  let runId = chain;
  for (;;) {
    try {
      const result = await client.workflow.getHandle(workflowId, runId, { followRuns: false }).result();
      return { runId: chain, outcome: outcomeOfResult(result) };
    } catch (error) {
      if (error instanceof WorkflowContinuedAsNewError) {
        runId = error.newExecutionRunId;
        continue;
      }
      if (!(error instanceof WorkflowFailedError)) throw error; // unreachable server etc.: the activity retries
      if (error.cause instanceof TerminatedFailure) {
        const successor = await resetSuccessor(client, workflowId, chain, runId);
        if (successor) {
          runId = successor;
          continue;
        }
      }
      return { runId: chain, outcome: outcomeOfFailure(error.cause) };
    }
  }
}

async function currentRun(client: Client, workflowId: string): Promise<{ runId: string; firstRunId: string }> {
  const description = await client.workflow.getHandle(workflowId).describe();
  return { runId: description.runId, firstRunId: description.raw.workflowExecutionInfo?.firstRunId || description.runId };
}

/** A reset terminates the run it replaces; the new run keeps the chain's first run id. */
async function resetSuccessor(client: Client, workflowId: string, chain: string, terminatedRunId: string): Promise<string | undefined> {
  const latest = await currentRun(client, workflowId);
  return latest.firstRunId === chain && latest.runId !== terminatedRunId ? latest.runId : undefined;
}
