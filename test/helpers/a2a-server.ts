/**
 * A real A2A agent on loopback for tests: the SDK's own server side (DefaultRequestHandler,
 * in-memory task store, JSON-RPC over express) with an executor driven by the message text.
 *
 *  - `stream:N`  streams N artifact chunks 300 ms apart, then completes; the answer is
 *                `chunk1 chunk2 … chunkN`;
 *  - `ask`       asks a question (input-required); the follow-up on that task completes
 *                with `thanks: <follow-up text>`;
 *  - `hang`      keeps working (a working status every 300 ms) until CancelTask reaches it;
 *  - `silent`    says it is working, then sends nothing until CancelTask reaches it;
 *  - `drop`      streams chunks, then the server destroys the SSE socket after the second
 *                one; the task goes on in the background and completes (`chunk1 … chunk6`);
 *  - `fail`      fails the task with a reason;
 *  - `usage`     reports usage in status-update metadata (`metadata.usage`, the task's running
 *                total: first `USAGE_SO_FAR` in snake_case, then `USAGE_TOTAL`), then completes
 *                with `counted`;
 *  - `ask-usage` asks a question reporting `ASK_USAGE`; the follow-up on that task completes
 *                with `thanks: <text>` reporting the task's grown total `ASK_USAGE_TOTAL`;
 *  - `bad-usage` completes with `echo: bad-usage` and an invalid `metadata.usage`;
 *  - otherwise   completes at once with `echo: <text>`.
 *
 * It records what a test needs to check: Authorization headers, the context/task ids each
 * message carried, and the tasks CancelTask reached.
 */
import express from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, Role, TaskState, type AgentCard, type Message } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const STEP_MS = 300;
export const ASK_QUESTION = 'Which city do you mean?';
export const FAIL_REASON = 'the agent could not do it';
/** Usage the `usage` and `ask-usage` scripts report, as running totals of their task. */
export const USAGE_SO_FAR = { input_tokens: 100, output_tokens: 5 };
export const USAGE_TOTAL = { inputTokens: 1500, outputTokens: 40, cachedInputTokens: 1024 };
export const ASK_USAGE = { inputTokens: 300, outputTokens: 20 };
export const ASK_USAGE_TOTAL = { inputTokens: 700, outputTokens: 45, cachedInputTokens: 256 };

/** One message the agent received, as the client sent it. */
export interface ReceivedMessage {
  text: string;
  /** The context id the client sent ('' when it sent none). */
  sentContextId: string;
  /** The task id the client sent ('' for a new task). */
  sentTaskId: string;
  referenceTaskIds: string[];
  /** The ids the server used. */
  contextId: string;
  taskId: string;
}

export interface A2ATestServer {
  agentCardUrl: string;
  /** The Authorization header of every HTTP request (undefined when absent). */
  authorizationHeaders: (string | undefined)[];
  /** The JSON-RPC method of every call, in order (`SendStreamingMessage`, `GetTask`, …). */
  methods: string[];
  received: ReceivedMessage[];
  /** Every context id a message carried ('' when none). */
  contextIds(): string[];
  /** Tasks whose CancelTask reached the executor. */
  cancelledTaskIds: string[];
  /** Tasks whose SSE connection the server broke on purpose (`drop`). */
  droppedTaskIds: string[];
  stop(): Promise<void>;
}

/** The HTTP request an executor runs for (the SDK runs executors in the request's async context). */
const requestScope = new AsyncLocalStorage<{ res: express.Response; body: unknown }>();

interface WireMessage {
  contextId?: string;
  taskId?: string;
  referenceTaskIds?: string[];
}

function sentMessage(): WireMessage {
  const body = requestScope.getStore()?.body as { params?: { message?: WireMessage } } | undefined;
  return body?.params?.message ?? {};
}

/**
 * Starts the agent on 127.0.0.1 (a free port). `requiredBearer`: every request must carry
 * `Authorization: Bearer <it>` (else 401). `streaming: false`: the card says the agent
 * cannot stream, so clients must send and poll.
 */
export async function startA2ATestServer(options: { requiredBearer?: string; streaming?: boolean } = {}): Promise<A2ATestServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const executor = new ScriptedAgentExecutor();
  const handler = new DefaultRequestHandler(agentCard(`${baseUrl}/a2a/jsonrpc`, options.streaming ?? true), new InMemoryTaskStore(), executor);
  const authorizationHeaders: (string | undefined)[] = [];
  const methods: string[] = [];

  const app = express();
  app.use((req, res, next) => {
    authorizationHeaders.push(req.headers.authorization);
    if (options.requiredBearer && req.headers.authorization !== `Bearer ${options.requiredBearer}`) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  });
  // Parse the JSON-RPC body here (the SDK's own parser then skips it) so the executor can
  // see the ids exactly as the client sent them, and reach this request's response.
  app.use('/a2a/jsonrpc', express.json(), (req, res, next) => {
    methods.push(String((req.body as { method?: unknown } | undefined)?.method));
    requestScope.run({ res, body: req.body as unknown }, next);
  });
  app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  server.on('request', app);

  return {
    agentCardUrl: `${baseUrl}/${AGENT_CARD_PATH}`,
    authorizationHeaders,
    methods,
    received: executor.received,
    contextIds: () => executor.received.map((m) => m.sentContextId),
    cancelledTaskIds: executor.cancelledTaskIds,
    droppedTaskIds: executor.droppedTaskIds,
    async stop() {
      executor.stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function agentCard(url: string, streaming: boolean): AgentCard {
  return {
    name: 'Bamboo test agent',
    description: 'Scripted A2A agent for the A2A runner tests',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION }],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  };
}

class ScriptedAgentExecutor implements AgentExecutor {
  readonly received: ReceivedMessage[] = [];
  readonly cancelledTaskIds: string[] = [];
  readonly droppedTaskIds: string[] = [];
  private readonly cancelRequested = new Set<string>();
  stopped = false;

  cancelTask = async (taskId: string, bus: ExecutionEventBus): Promise<void> => {
    this.cancelledTaskIds.push(taskId);
    this.cancelRequested.add(taskId);
    const contextId = this.received.find((m) => m.taskId === taskId)?.contextId ?? '';
    new TaskEvents(bus, taskId, contextId).status(TaskState.TASK_STATE_CANCELED, 'cancelled on request');
  };

  async execute(context: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const sent = sentMessage();
    const text = textOf(context.userMessage);
    const task = new TaskEvents(bus, context.taskId, context.contextId);
    this.received.push({
      text,
      sentContextId: sent.contextId ?? '',
      sentTaskId: sent.taskId ?? '',
      referenceTaskIds: sent.referenceTaskIds ?? [],
      contextId: context.contextId,
      taskId: context.taskId,
    });
    bus.publish(AgentEvent.task({
      id: context.taskId,
      contextId: context.contextId,
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
      artifacts: context.task?.artifacts ?? [],
      history: [...(context.task?.history ?? []), context.userMessage],
      metadata: {},
    }));
    task.status(TaskState.TASK_STATE_WORKING, 'working on it');

    if (context.task?.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED) {
      task.chunk(`thanks: ${text}`, false);
      task.status(TaskState.TASK_STATE_COMPLETED, undefined, context.task.metadata?.usage ? { usage: ASK_USAGE_TOTAL } : undefined);
      return;
    }
    if (text === 'usage') {
      task.status(TaskState.TASK_STATE_WORKING, 'counting', { usage: USAGE_SO_FAR });
      await sleep(STEP_MS);
      task.chunk('counted', false);
      task.status(TaskState.TASK_STATE_COMPLETED, undefined, { usage: USAGE_TOTAL });
      return;
    }
    if (text === 'ask-usage') return task.status(TaskState.TASK_STATE_INPUT_REQUIRED, ASK_QUESTION, { usage: ASK_USAGE });
    if (text === 'bad-usage') {
      task.chunk(`echo: ${text}`, false);
      task.status(TaskState.TASK_STATE_COMPLETED, undefined, { usage: { inputTokens: 'many', outputTokens: 1 } });
      return;
    }
    const streamed = /^stream:(\d+)$/.exec(text);
    if (streamed) return this.streamChunks(task, Number(streamed[1]));
    if (text === 'drop') return this.streamChunks(task, 6, 2);
    if (text === 'ask') return task.status(TaskState.TASK_STATE_INPUT_REQUIRED, ASK_QUESTION);
    if (text === 'fail') return task.status(TaskState.TASK_STATE_FAILED, FAIL_REASON);
    if (text === 'hang' || text === 'silent') {
      while (!this.cancelRequested.has(task.taskId) && !this.stopped) {
        await sleep(STEP_MS);
        if (text === 'hang' && !this.cancelRequested.has(task.taskId)) task.status(TaskState.TASK_STATE_WORKING, 'still working');
      }
      return;
    }
    task.chunk(`echo: ${text}`, false);
    task.status(TaskState.TASK_STATE_COMPLETED);
  }

  /** Streams `count` chunks; after `dropAfter` of them, breaks the client's SSE connection. */
  private async streamChunks(task: TaskEvents, count: number, dropAfter?: number): Promise<void> {
    const connection = requestScope.getStore()?.res;
    for (let i = 1; i <= count && !this.stopped; i++) {
      await sleep(STEP_MS);
      task.chunk(i === 1 ? 'chunk1' : ` chunk${i}`, i > 1, i === count);
      if (i === dropAfter && connection?.socket) {
        connection.socket.destroy();
        this.droppedTaskIds.push(task.taskId);
      }
    }
    task.status(TaskState.TASK_STATE_COMPLETED);
  }
}

/** Publishes status and artifact events of one task. */
class TaskEvents {
  constructor(
    private readonly bus: ExecutionEventBus,
    readonly taskId: string,
    readonly contextId: string,
  ) {}

  /** `metadata`: the update's (the SDK's task store merges it into the task's metadata). */
  status(state: TaskState, text?: string, metadata: Record<string, unknown> = {}): void {
    const message = text === undefined ? undefined : agentMessage(text, this.taskId, this.contextId);
    this.bus.publish(AgentEvent.statusUpdate({
      taskId: this.taskId,
      contextId: this.contextId,
      status: { state, message, timestamp: new Date().toISOString() },
      metadata,
    }));
  }

  chunk(text: string, append: boolean, lastChunk = true): void {
    this.bus.publish(AgentEvent.artifactUpdate({
      taskId: this.taskId,
      contextId: this.contextId,
      artifact: { artifactId: 'answer', name: 'answer', description: '', parts: [textPart(text)], metadata: {}, extensions: [] },
      append,
      lastChunk,
      metadata: {},
    }));
  }
}

function agentMessage(text: string, taskId: string, contextId: string): Message {
  return {
    messageId: randomUUID(),
    role: Role.ROLE_AGENT,
    parts: [textPart(text)],
    taskId,
    contextId,
    metadata: {},
    extensions: [],
    referenceTaskIds: [],
  };
}

function textPart(value: string) {
  return { content: { $case: 'text' as const, value }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

function textOf(message: Message): string {
  return message.parts
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('\n')
    .trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
