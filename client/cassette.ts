/**
 * Exporting a session tree as a cassette (common/cassette.ts): every run of every session of
 * the tree, found through visibility, its history read and its payloads decoded through the
 * client's data converter (codecs included), turned into the steps the tree took.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import {
  BambooParentSessionId,
  BambooSessionKind,
  CASSETTE_FORMAT,
  CASSETTE_VERSION,
  CassetteSchema,
  FailureTypes,
  sessionIdFromWorkflowId,
  treeRunsQuery,
  type Cassette,
  type CassetteStep,
  type Message,
  readTranscriptPages,
  requestDecidedSignal,
  type RequestDecision,
  type PendingRequest,
  requestRaisedSignal,
  type SessionWorkflowInput,
  stateQuery,
  transcriptQuery,
  userMessageSignal,
  type ModelTurnInput,
  type ModelTurnResult,
  type SpawnJob,
  type SummaryInput,
  type SummaryResult,
  type ToolCallInput,
  type ToolCallOutcome,
} from '../common';

export interface HistoryEvent {
  eventId?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null; input?: { payloads?: Payload[] | null } | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; result?: { payloads?: Payload[] | null } | null } | null;
  activityTaskFailedEventAttributes?: {
    scheduledEventId?: unknown;
    failure?: {
      message?: string | null;
      applicationFailureInfo?: { type?: string | null; details?: { payloads?: Payload[] | null } | null } | null;
      cause?: { applicationFailureInfo?: { type?: string | null } | null } | null;
    } | null;
  } | null;
  startChildWorkflowExecutionInitiatedEventAttributes?: { input?: { payloads?: Payload[] | null } | null } | null;
  workflowExecutionStartedEventAttributes?: { input?: { payloads?: Payload[] | null } | null; continuedExecutionRunId?: string | null } | null;
  workflowExecutionSignaledEventAttributes?: { signalName?: string | null; input?: { payloads?: Payload[] | null } | null } | null;
  signalExternalWorkflowExecutionInitiatedEventAttributes?: { signalName?: string | null; input?: { payloads?: Payload[] | null } | null } | null;
  workflowExecutionCompletedEventAttributes?: { result?: { payloads?: Payload[] | null } | null } | null;
  workflowExecutionContinuedAsNewEventAttributes?: { input?: { payloads?: Payload[] | null } | null } | null;
}

export type Decode = <T>(payloads: Payload[] | null | undefined) => Promise<T | undefined>;

/** Decodes a history's payloads through the client's data converter (its codecs included). */
export function decoderFor(client: Client): Decode {
  return async <T>(payloads: Payload[] | null | undefined) =>
    payloads?.length ? decodeFromPayloadsAtIndex<T>(client.options.loadedDataConverter, 0, payloads) : undefined;
}

/** The tree's cassette: sessions in the order they started, each run's steps in its history's order. */
export async function exportCassette(client: Client, rootSessionId: string): Promise<Cassette> {
  const query = treeRunsQuery(rootSessionId);
  const runs: { sessionId: string; kind: 'root' | 'child'; parentSessionId?: string; workflowId: string; runId: string; start: Date; status: string }[] = [];
  for await (const info of client.workflow.list({ query })) {
    runs.push({
      sessionId: sessionIdFromWorkflowId(info.workflowId) ?? info.workflowId,
      kind: info.type === 'sessionWorkflow' || info.typedSearchAttributes.get(BambooSessionKind) === 'root' ? 'root' : 'child',
      ...(info.typedSearchAttributes.get(BambooParentSessionId) ? { parentSessionId: info.typedSearchAttributes.get(BambooParentSessionId) } : {}),
      workflowId: info.workflowId,
      runId: info.runId,
      start: info.startTime,
      status: info.status.name,
    });
  }
  if (!runs.some((r) => r.sessionId === rootSessionId)) throw new Error(`no root session ${rootSessionId}: visibility lists none of its runs`);
  runs.sort((a, b) => a.start.getTime() - b.start.getTime());
  const decode = decoderFor(client);
  const sessions = new Map<string, Cassette['sessions'][number]>();
  let start: SessionWorkflowInput | undefined;
  for (const run of runs) {
    const session = sessions.get(run.sessionId) ?? { sessionId: run.sessionId, kind: run.kind, ...(run.parentSessionId ? { parentSessionId: run.parentSessionId } : {}), runs: [] };
    sessions.set(run.sessionId, session);
    const handle = client.workflow.getHandle(run.workflowId, run.runId);
    const events = ((await handle.fetchHistory()).events ?? []) as HistoryEvent[];
    if (run.sessionId === rootSessionId && !start) start = await decode<SessionWorkflowInput>(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads);
    const messages = (await finalMessages(events, decode)) ?? (run.status === 'RUNNING' ? await openTranscript(handle).catch(() => undefined) : undefined);
    session.runs.push({ runId: run.runId, startTime: run.start.toISOString(), status: run.status, steps: await stepsOf(events, decode, run.kind), ...(messages ? { messages } : {}) });
  }
  const carried = start ? { start: { session: start.session, ...(start.options ? { options: start.options } : {}) } } : {};
  return CassetteSchema.parse({ format: CASSETTE_FORMAT, version: CASSETTE_VERSION, recordedAt: new Date().toISOString(), rootSessionId, ...carried, sessions: [...sessions.values()] });
}

/** The run's transcript as it closed: in its result, or in the input it continued-as-new with. */
export async function finalMessages(events: readonly HistoryEvent[], decode: Decode): Promise<Message[] | undefined> {
  const last = events.at(-1);
  const payloads = last?.workflowExecutionCompletedEventAttributes?.result?.payloads ?? last?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads;
  const value = await decode<{ session?: { messages?: Message[] } | null }>(payloads).catch(() => undefined);
  return value?.session?.messages ?? undefined;
}

/** An open run's transcript so far, through its queries (a worker with its code must be up). */
async function openTranscript(handle: WorkflowHandle): Promise<Message[]> {
  const { messageCount } = await handle.query(stateQuery);
  return readTranscriptPages(messageCount, (page) => handle.query(transcriptQuery, page));
}

async function stepsOf(events: readonly HistoryEvent[], decode: Decode, kind: 'root' | 'child'): Promise<CassetteStep[]> {
  const steps: CassetteStep[] = [];
  const pending = new Map<string, CassetteStep>();
  // A child's requests go to its root by signal: what each asked, by request id.
  const raised = new Map<string, Pick<PendingRequest, 'tool' | 'argumentsPreview' | 'question'>>();
  let modelCalls = 0;
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const type = scheduled.activityType?.name;
      if (type === 'callModel') {
        const input = (await decode<ModelTurnInput>(scheduled.input?.payloads)) as ModelTurnInput;
        const step: CassetteStep = {
          kind: 'model',
          turn: input.turn,
          call: modelCalls++,
          model: input.model,
          ...(input.messages ? { messages: input.messages } : {}),
          messageCount: input.messages?.length ?? input.transcript?.messageCount ?? 0,
          tools: input.workflowTools ?? [],
        };
        steps.push(step);
        pending.set(String(event.eventId), step);
      } else if (type === 'summarizeTranscript') {
        const input = (await decode<SummaryInput>(scheduled.input?.payloads)) as SummaryInput;
        const step: CassetteStep = { kind: 'summary', summaryId: input.summaryId, replaced: input.messages };
        steps.push(step);
        pending.set(String(event.eventId), step);
      } else if (type === 'runTool') {
        const input = (await decode<ToolCallInput>(scheduled.input?.payloads)) as ToolCallInput;
        const step: CassetteStep = { kind: 'tool', call: input.call };
        steps.push(step);
        pending.set(String(event.eventId), step);
      }
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const step = pending.get(String(completed.scheduledEventId));
      if (step?.kind === 'model') {
        const result = (await decode<ModelTurnResult>(completed.result?.payloads)) as ModelTurnResult;
        step.response = { content: result.content, toolCalls: result.toolCalls, usage: result.usage, provider: result.provider, ...(result.context ? { context: result.context } : {}) };
      } else if (step?.kind === 'tool') {
        const outcome = (await decode<ToolCallOutcome>(completed.result?.payloads)) as ToolCallOutcome;
        step.outcome = { ok: outcome.ok, content: outcome.content };
      } else if (step?.kind === 'summary') {
        const result = (await decode<SummaryResult>(completed.result?.payloads)) as SummaryResult;
        step.response = { summary: result.summary, usage: result.usage, provider: result.provider, model: result.model };
      }
      continue;
    }
    const failed = event.activityTaskFailedEventAttributes;
    if (failed) {
      const step = pending.get(String(failed.scheduledEventId));
      if (step && (step.kind === 'model' || step.kind === 'tool' || step.kind === 'summary')) step.failure = failed.failure?.message ?? 'failed';
      const type = failed.failure?.applicationFailureInfo?.type ?? failed.failure?.cause?.applicationFailureInfo?.type;
      if (step?.kind === 'model' && type) step.failureType = type;
      if (step?.kind === 'model' && type === FailureTypes.contextLength) {
        const details = await decode<{ windowTokens?: unknown }>(failed.failure?.applicationFailureInfo?.details?.payloads).catch(() => undefined);
        if (typeof details?.windowTokens === 'number' && details.windowTokens > 0) step.failureWindowTokens = details.windowTokens;
      }
      continue;
    }
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes;
    if (child) {
      const job = await decode<SpawnJob>(child.input?.payloads);
      const brief = job?.session?.messages.find((m) => m.role === 'user')?.content;
      if (job) steps.push({ kind: 'spawn', childSessionId: job.childSessionId, ...(job.session?.title ? { title: job.session.title } : {}), model: job.model, ...(brief !== undefined ? { brief } : {}) });
      continue;
    }
    const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (sent?.signalName === requestRaisedSignal.name) {
      const request = await decode<PendingRequest>(sent.input?.payloads).catch(() => undefined);
      if (request?.requestId) raised.set(request.requestId, { tool: request.tool, argumentsPreview: request.argumentsPreview, question: request.question });
      continue;
    }
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName === requestDecidedSignal.name) {
      const decided = await decode<RequestDecision>(signal.input?.payloads).catch(() => undefined);
      if (decided?.decision) {
        const asked = Object.fromEntries(Object.entries(raised.get(decided.requestId) ?? {}).filter(([, v]) => v !== undefined));
        steps.push({ kind: 'decision', ...asked, decision: decided.decision, by: decided.by, ...(decided.reason !== undefined ? { reason: decided.reason } : {}), ...(decided.text !== undefined ? { text: decided.text } : {}) });
      }
    } else if (signal?.signalName === userMessageSignal.name && kind === 'root') {
      const message = await decode<{ content?: unknown }>(signal.input?.payloads).catch(() => undefined);
      if (typeof message?.content === 'string') steps.push({ kind: 'message', content: message.content });
    }
  }
  return steps;
}
