/**
 * What the CLI reads about a session: its description, live state (query) or final result,
 * and the live progress of its running activity (heartbeat details, not history).
 */
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { BambooSessionKind, sessionWorkflowId, type ChildRunResult, type SessionWorkflowResult, stateQuery, type SessionRunState } from '../common';
import type { ProgressDetails } from '../common';
import { CliError, ExitCode } from './context';

export interface SessionView {
  sessionId: string;
  workflowId: string;
  runId: string;
  kind: string;
  executionStatus: string;
  startTime: string;
  closeTime?: string;
  summary?: string;
  state?: SessionRunState;
  result?: ChildRunResult | SessionWorkflowResult;
  live?: LiveProgress[];
}

export interface LiveProgress {
  activity: string;
  attempt: number;
  details?: ProgressDetails;
}

export async function describeSession(client: Client, sessionId: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(sessionWorkflowId(sessionId)).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new CliError(`no session ${sessionId} (workflow ${sessionWorkflowId(sessionId)} not found)`, ExitCode.notFound);
    throw error;
  }
}

export async function viewSession(client: Client, sessionId: string): Promise<SessionView> {
  const description = await describeSession(client, sessionId);
  const handle = client.workflow.getHandle(description.workflowId, description.runId);
  const running = description.status.name === 'RUNNING';
  const kind = description.typedSearchAttributes.get(BambooSessionKind) ?? (description.type === 'sessionWorkflow' ? 'root' : 'child');
  return {
    sessionId,
    workflowId: description.workflowId,
    runId: description.runId,
    kind,
    executionStatus: description.status.name,
    startTime: description.startTime.toISOString(),
    closeTime: description.closeTime?.toISOString(),
    summary: await description.staticSummary().catch(() => undefined),
    state: running ? await handle.query(stateQuery).catch(() => undefined) : undefined,
    result: description.status.name === 'COMPLETED' ? await handle.result() : undefined,
    live: running ? await liveProgress(client, description) : undefined,
  };
}

/** Token progress of the running activities, decoded from their last heartbeat details. */
export async function liveProgress(client: Client, description: WorkflowExecutionDescription): Promise<LiveProgress[]> {
  const pending = description.raw.pendingActivities ?? [];
  return Promise.all(
    pending.map(async (a) => ({
      activity: a.activityType?.name ?? 'activity',
      attempt: a.attempt ?? 1,
      details: a.heartbeatDetails?.payloads?.length
        ? await decodeFromPayloadsAtIndex<ProgressDetails>(client.options.loadedDataConverter, 0, a.heartbeatDetails.payloads).catch(() => undefined)
        : undefined,
    })),
  );
}
