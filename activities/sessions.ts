/**
 * Loading a session's latest snapshot. Temporal history is the store: the snapshot is the
 * result of the session's most recent closed run (`ChildRunResult.session`).
 */
import type { Client } from '@temporalio/client';
import { ChildRunResultSchema, LoadSnapshotInputSchema, sessionWorkflowId, type Session } from '../src/domain';
import { sleep } from '../src/util/sleep';
import { parseActivityInput } from './input';

/** Visibility is eventually consistent: look once more before saying "not found". */
const VISIBILITY_RECHECK_MS = 1000;

export function createSessionActivities({ client }: { client: Client }) {
  return {
    async loadSessionSnapshot(rawInput: unknown): Promise<Session | null> {
      const input = parseActivityInput(LoadSnapshotInputSchema, rawInput, 'snapshot request');
      const workflowId = sessionWorkflowId(input.sessionId);
      let runId = await latestClosedRun(client, workflowId, input.currentRunId);
      if (!runId) {
        await sleep(VISIBILITY_RECHECK_MS);
        runId = await latestClosedRun(client, workflowId, input.currentRunId);
      }
      if (!runId) return null;
      const result = ChildRunResultSchema.safeParse(await client.workflow.getHandle(workflowId, runId).result());
      return result.success ? result.data.session : null;
    },
  };
}

async function latestClosedRun(client: Client, workflowId: string, excludeRunId: string): Promise<string | undefined> {
  let best: { runId: string; closedAt: number } | undefined;
  const query = `WorkflowId = ${JSON.stringify(workflowId)} AND ExecutionStatus = "Completed"`;
  for await (const execution of client.workflow.list({ query })) {
    if (execution.runId === excludeRunId) continue;
    const closedAt = execution.closeTime?.getTime() ?? 0;
    if (!best || closedAt > best.closedAt) best = { runId: execution.runId, closedAt };
  }
  return best?.runId;
}
