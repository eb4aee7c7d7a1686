/**
 * Agent-level replay (docs/replay.md): runs a recorded tree again — the cassette's root input,
 * today's workflow code and configuration — on a worker of its own task queue whose model and
 * tool activities answer from the cassette (worker/replay). The driver plays the person: it
 * sends the root the user's recorded messages, one per idle turn, and answers each request with
 * the decision recorded for it. It reports the first divergence, or that the run was identical.
 */
import { randomBytes } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import {
  CassetteSchema,
  respondUpdate,
  stateQuery,
  transcriptQuery,
  readTranscriptPages,
  userMessageSignal,
  type Cassette,
  type PendingRequest,
  type RespondInput,
  type SessionWorkflowInput,
  sessionWorkflowId,
  treeRunsQuery,
} from '../common';
import { startSession } from '../client/root-sessions';
import { isSessionIdle } from '../client/bamboo-client';
import type { ActivityDeps } from '../worker/activities';
import { createBambooWorker } from '../worker/create-worker';
import { defaultProviderRegistry } from '../worker/providers/defaults';
import { BUILTIN_TOOLS } from '../worker/tools/builtin';
import { createToolRegistry, type ToolDefinition } from '../worker/tools/types';
import { CassettePlayer, type Divergence } from '../worker/replay/cassette-player';
import { createReplayActivities, describeDivergence, type OnDivergence, type ReplayActivityCounts } from '../worker/replay/activities';

export { describeDivergence, type Divergence, type OnDivergence };

export interface ReplayCassetteOptions {
  client: Client;
  connection: NativeConnection;
  namespace?: string;
  /** A cassette, or what `bamboo cassette export` wrote (checked here). */
  cassette: Cassette | unknown;
  /** Today's configuration: the tool policy, the tools (their schemas are checked), providers for `live` and prices. */
  deps?: Partial<Pick<ActivityDeps, 'providers' | 'tools' | 'toolPolicy' | 'runners'>>;
  mcpTools?: readonly ToolDefinition[];
  /** A call that does not match the recording: `stop` its session (default), or let it go `live`. */
  onDivergence?: OnDivergence;
  /** Changes to the root's recorded input before it starts (its prompt, its options). */
  edit?: (start: SessionWorkflowInput) => SessionWorkflowInput;
  /** Default: bamboo-replay-<random>. */
  taskQueue?: string;
  workflowsPath?: string;
  /** Payload codecs (encryption): the recording's, so the worker reads and writes what the client does. */
  dataConverter?: DataConverter;
  /** A prebuilt workflow bundle (else the workflows are bundled at start). */
  workflowBundlePath?: string;
  /** Default 120 s: the whole replay, drained. */
  timeoutMs?: number;
}

export interface ReplayReport {
  recordedRootSessionId: string;
  rootSessionId: string;
  /** No divergence, and every recorded call made again. */
  identical: boolean;
  /** The first divergence, and all of them in the order they happened. */
  divergence?: Divergence;
  divergences: Divergence[];
  /** Calls answered from the cassette, and calls that went live after diverging. */
  served: { model: number; tool: number };
  live: { model: number; tool: number };
  /** Recorded calls the new run never made (a session it never reached counts whole). */
  unplayed: { path: string[]; modelCalls: number; toolCalls: number }[];
  /** Per recorded session: its recorded tool calls and the new run's. */
  toolCalls: { path: string[]; reached: boolean; recorded: string[]; asked: string[] }[];
  /** The root's last answer in the new run. */
  finalAnswer: string;
}

export async function replayCassette(options: ReplayCassetteOptions): Promise<ReplayReport> {
  const cassette = CassetteSchema.parse(options.cassette);
  if (!cassette.start) throw new Error('this cassette has no root input (format version 1): export the tree again with `bamboo cassette export`');
  const suffix = randomBytes(4).toString('hex');
  const rootSessionId = `${cassette.rootSessionId.slice(0, 160)}-replay-${suffix}`;
  const player = new CassettePlayer(cassette, rootSessionId);
  const counts: ReplayActivityCounts = { live: { model: 0, tool: 0 } };
  const providers = options.deps?.providers ?? defaultProviderRegistry();
  const tools = options.deps?.tools ?? createToolRegistry([...BUILTIN_TOOLS, ...(options.mcpTools ?? [])]);
  const deps: ActivityDeps = { client: options.client, providers, tools, runners: options.deps?.runners ?? [], toolPolicy: options.deps?.toolPolicy };
  const taskQueue = options.taskQueue ?? `bamboo-replay-${suffix}`;
  const worker = await createBambooWorker({
    connection: options.connection,
    client: options.client,
    namespace: options.namespace ?? 'default',
    taskQueue,
    ...(options.workflowBundlePath ? { workflowBundlePath: options.workflowBundlePath } : options.workflowsPath ? { workflowsPath: options.workflowsPath } : {}),
    deps: { providers, tools, toolPolicy: deps.toolPolicy, runners: deps.runners },
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    tuning: { activities: createReplayActivities(player, deps, options.onDivergence ?? 'stop', counts) },
  });
  const recorded = cassette.start;
  const start: SessionWorkflowInput = { ...recorded, session: { ...recorded.session, id: rootSessionId, rootSessionId } };
  const input = options.edit ? options.edit(start) : start;
  const finalAnswer = await worker.runUntil(() => drive(options.client, input, taskQueue, player, options.timeoutMs ?? 120_000));
  const divergences = [...player.divergences];
  const unplayed = player.unplayed().map(({ path, modelCalls, toolCalls }) => ({ path, modelCalls, toolCalls }));
  return {
    recordedRootSessionId: cassette.rootSessionId,
    rootSessionId,
    identical: divergences.length === 0 && unplayed.length === 0,
    ...(divergences[0] ? { divergence: divergences[0] } : {}),
    divergences,
    served: player.servedCalls,
    live: counts.live,
    unplayed,
    toolCalls: player.toolCalls(),
    finalAnswer,
  };
}

/** Starts the root, plays the person until the tree is idle with nothing left to send, and returns the root's last answer. */
async function drive(client: Client, input: SessionWorkflowInput, taskQueue: string, player: CassettePlayer, timeoutMs: number): Promise<string> {
  const handle = await startSession(client, input, { taskQueue });
  const messages = player.userMessages();
  const answered = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  // A message sent: the root has not taken it in while its last message is still this one (not
  // a count: a summary can shrink the transcript by as much as a turn adds).
  let waitingPast: string | undefined = '';
  try {
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the replay did not settle within ${Math.round(timeoutMs / 1000)} s`);
      const state = await handle.query(stateQuery);
      for (const request of state.pendingRequests ?? []) {
        if (answered.has(request.requestId)) continue;
        answered.add(request.requestId);
        await handle.executeUpdate(respondUpdate, { args: [decisionFor(player, request)] }).catch(() => undefined); // expired meanwhile: its session goes on
      }
      const idle = isSessionIdle(state) && (state.pendingRequests ?? []).length === 0;
      const settled = idle && (await lastMessageId(handle, state.messageCount)) !== waitingPast;
      if (settled && messages.length === 0) {
        const transcript = await readTranscriptPages(state.messageCount, (page) => handle.query(transcriptQuery, page));
        return transcript.filter((m) => m.role === 'assistant').at(-1)?.content ?? '';
      }
      if (settled) {
        waitingPast = await lastMessageId(handle, state.messageCount);
        await handle.signal(userMessageSignal, { content: messages.shift()! });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await endTree(client, input.session.id);
  }
}

async function lastMessageId(handle: WorkflowHandle, messageCount: number): Promise<string | undefined> {
  if (messageCount === 0) return undefined;
  const [last] = await handle.query(transcriptQuery, { from: messageCount - 1, count: messageCount });
  return last?.id;
}

/** The replayed tree ends with the replay: its root, and any run of it still open (children outlive their parent's run). */
async function endTree(client: Client, rootSessionId: string): Promise<void> {
  await client.workflow.getHandle(sessionWorkflowId(rootSessionId)).terminate('the replay is over').catch(() => undefined);
  const open: string[] = [];
  for await (const run of client.workflow.list({ query: `(${treeRunsQuery(rootSessionId)}) AND ExecutionStatus = 'Running'` })) open.push(run.workflowId);
  await Promise.all(open.map((id) => client.workflow.getHandle(id).terminate('the replay is over').catch(() => undefined)));
}

function decisionFor(player: CassettePlayer, request: PendingRequest): RespondInput {
  const played = player.decision(request.sessionId, request.kind === 'tool' ? { tool: request.tool, argumentsPreview: request.argumentsPreview } : { question: request.question });
  if (!played.ok) return { requestId: request.requestId, decision: 'deny', reason: 'the replay has no recorded decision for this request' };
  const d = played.value;
  if (d.decision === 'answer') return { requestId: request.requestId, decision: 'answer', text: d.text ?? '' };
  return { requestId: request.requestId, decision: d.decision, ...(d.reason !== undefined ? { reason: d.reason } : {}) };
}
