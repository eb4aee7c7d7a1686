/**
 * Client API for root sessions: start (one workflow per session id), send a user message,
 * read state and transcript, cancel (cascades to the children).
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { BambooModel, BambooRootSessionId, BambooRunStatus, BambooSessionKind, upsertsStatus, parseOrThrow, sessionWorkflowId, SentMessageSchema, SessionWorkflowInputSchema, type Message, type SessionWorkflowInput, readTranscriptPages, stateQuery, transcriptQuery, userMessageSignal, type SessionRunState } from '../common';
import type { sessionWorkflow } from '../workflows';

export type SessionHandle = WorkflowHandleWithFirstExecutionRunId<typeof sessionWorkflow>;

/** Starts the root session's workflow, or attaches to it if it is already running. */
export async function startSession(client: Client, input: SessionWorkflowInput, options: { taskQueue: string }): Promise<SessionHandle> {
  const valid = parseOrThrow(SessionWorkflowInputSchema, input, 'session input');
  const { session } = valid;
  return client.workflow.start<typeof sessionWorkflow>('sessionWorkflow', {
    taskQueue: options.taskQueue,
    workflowId: sessionWorkflowId(session.id),
    args: [valid],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: `root session ${session.title ? `“${session.title}” ` : ''}(${session.id}) · ${session.model}`,
    typedSearchAttributes: [
      { key: BambooSessionKind, value: 'root' },
      { key: BambooRootSessionId, value: session.rootSessionId },
      { key: BambooModel, value: session.model },
      ...(upsertsStatus(valid.options?.searchAttributes) ? [{ key: BambooRunStatus, value: 'pending' }] : []),
    ],
  });
}

export async function sendUserMessage(client: Client, sessionId: string, content: string): Promise<void> {
  const payload = parseOrThrow(SentMessageSchema, { content }, 'message');
  await client.workflow.getHandle(sessionWorkflowId(sessionId)).signal(userMessageSignal, payload);
}

export async function sessionState(client: Client, sessionId: string): Promise<SessionRunState> {
  return client.workflow.getHandle(sessionWorkflowId(sessionId)).query(stateQuery);
}

export async function sessionTranscript(client: Client, sessionId: string): Promise<Message[]> {
  const handle = client.workflow.getHandle(sessionWorkflowId(sessionId));
  const { messageCount } = await handle.query(stateQuery);
  return readTranscriptPages(messageCount, (page) => handle.query(transcriptQuery, page));
}
