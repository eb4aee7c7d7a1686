/**
 * The typed client: start a root session from a prompt, and talk to any session of a tree —
 * send, steer, respond, cancel, read its state, usage, tree and transcript, wait until it is
 * idle, follow its events. It wraps a Temporal `Client` you made, so your connection, namespace,
 * TLS, API key and codecs apply (give the client `bambooPlugin` for Bamboo's data converter).
 *
 * Every input is checked with the contract's schemas before any RPC: a bad one throws
 * `BambooInputError` naming the field, and nothing reaches the server.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import {
  DEFAULT_TASK_QUEUE,
  describeZodError,
  RespondInputSchema,
  SessionIdSchema,
  SessionOptionsSchema,
  SessionSchema,
  sessionWorkflowId,
  SteerInputSchema,
  UserMessageSchema,
  type ChildRunResult,
  type Message,
  type PendingRequest,
  type RespondInput,
  type RespondReceipt,
  type RunStatus,
  type SequencedEvent,
  type Session,
  type SessionOptionsInput,
  type SessionUsage,
  type SessionWorkflowResult,
  type SteerReceipt,
  type Usage,
  eventsQuery,
  stateQuery,
  usageQuery,
  type SessionRunState,
} from '../common';
import { cancelSession } from './child-runs';
import { respond, pendingRequests } from './requests';
import { sendUserMessage, sessionTranscript, startSession } from './root-sessions';
import { sendToChild, steer, type ChildDelivery } from './steering';

/** An input the contract's schemas refused: the message names each bad field. Nothing was sent. */
export class BambooInputError extends Error {
  override readonly name = 'BambooInputError';
}

export interface BambooClientOptions {
  /** The task queue Bamboo's workers poll; default `bamboo`. */
  taskQueue?: string;
}

const nonEmpty = z.string().trim().min(1, 'must be a non-empty string');

export const StartRootSessionSchema = z.strictObject({
  /** The first user message. */
  prompt: nonEmpty,
  /** The model's name, as its provider knows it. */
  model: nonEmpty.max(200, 'must be at most 200 characters'),
  /** The provider to call it through; default: the provider listing the model, else the worker's default. */
  provider: nonEmpty.optional(),
  /** Default: `s-` and 8 random hex digits. Starting an id that is running attaches to it. */
  sessionId: SessionIdSchema.optional(),
  title: z.string().max(200).optional(),
  /** Instructions, as the session's leading system message. */
  system: nonEmpty.optional(),
  /** Checked as the session's metadata is (`child_watchdog.*` within their bounds…). */
  metadata: SessionSchema.shape.metadata.optional(),
  /** Children at once, wait policy, spawn depth, the tree's budget… (docs/configuration.md#session-options). */
  options: SessionOptionsSchema.optional(),
});
export type StartRootSession = z.input<typeof StartRootSessionSchema>;

export interface WaitOptions {
  /** Give up after this long (an Error says so); default: wait as long as it takes. */
  timeoutMs?: number;
  /** How often to look; default 250 ms. */
  pollMs?: number;
}

export interface EventsOptions {
  /** Events after this sequence number; default 0 (from the first the session still keeps). */
  afterSeq?: number;
  pollMs?: number;
  /** Stops the iteration. */
  signal?: AbortSignal;
}

/** One session of a tree, with its children: what `bamboo usage --tree` and the tree page show. */
export interface SessionTreeNode {
  sessionId: string;
  /** The status its parent has for it (the root: its own). */
  status: RunStatus;
  /** Its usage with its subtree's, and the priced part's cost in micro-dollars. */
  usage: Usage;
  costMicroUsd: number;
  children: SessionTreeNode[];
}

export class BambooClient {
  readonly taskQueue: string;

  constructor(
    readonly client: Client,
    options: BambooClientOptions = {},
  ) {
    this.taskQueue = checked(nonEmpty, options.taskQueue ?? DEFAULT_TASK_QUEUE, 'taskQueue');
  }

  /** Starts a root session (or attaches to the running one with that id) and returns its handle. */
  async startRootSession(input: StartRootSession): Promise<BambooSessionHandle> {
    const start = checked(StartRootSessionSchema, input, 'startRootSession');
    const id = start.sessionId ?? `s-${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    const now = new Date().toISOString();
    const session: Session = {
      id,
      kind: 'root',
      rootSessionId: id,
      spawnDepth: 0,
      title: start.title ?? start.prompt.slice(0, 60),
      model: start.model,
      ...(start.provider ? { modelRef: { provider: start.provider, model: start.model } } : {}),
      metadata: start.metadata ?? {},
      messages: [
        ...(start.system ? [{ id: randomUUID(), role: 'system' as const, content: start.system, createdAt: now }] : []),
        { id: randomUUID(), role: 'user', content: start.prompt, createdAt: now },
      ],
    };
    const started = await startSession(this.client, { session, ...(start.options ? { options: start.options as SessionOptionsInput } : {}) }, { taskQueue: this.taskQueue });
    return new BambooSessionHandle(this, id, started.firstExecutionRunId);
  }

  /** A handle on any session of any tree, root or child; no RPC until it is used. */
  getSession(sessionId: string): BambooSessionHandle {
    return new BambooSessionHandle(this, checked(SessionIdSchema, sessionId, 'sessionId'));
  }
}

export class BambooSessionHandle {
  readonly workflowId: string;

  constructor(
    private readonly bamboo: BambooClient,
    readonly sessionId: string,
    /** The run `startRootSession` started or attached to; undefined on a handle from `getSession`. */
    readonly runId?: string,
  ) {
    this.workflowId = sessionWorkflowId(sessionId);
  }

  private get client(): Client {
    return this.bamboo.client;
  }

  /**
   * A message to the session: to a root, a user message (a turn starts, or it is merged at the
   * next turn boundary); to a child, injected into its running run, or its next run starts with it.
   */
  async send(message: string): Promise<{ delivery: 'user-message' } | ChildDelivery> {
    const { content } = checked(UserMessageSchema, { content: message }, 'message');
    if (await this.isRoot()) {
      await sendUserMessage(this.client, this.sessionId, content);
      return { delivery: 'user-message' };
    }
    return sendToChild(this.client, this.sessionId, content, { taskQueue: this.bamboo.taskQueue });
  }

  /** Steers the running session (the Update `steer`): returns once the message is merged, with the turn. */
  async steer(message: string): Promise<SteerReceipt> {
    return steer(this.client, this.sessionId, checked(SteerInputSchema, { content: message }, 'message').content);
  }

  /** A person's decision on a request pending in this root's tree (the Update `respond`). */
  async respond(input: RespondInput): Promise<RespondReceipt> {
    return respond(this.client, this.sessionId, checked(RespondInputSchema, input, 'respond'));
  }

  /** The requests from anywhere in this root's tree that wait for a person. */
  pendingRequests(): Promise<PendingRequest[]> {
    return pendingRequests(this.client, this.sessionId);
  }

  /** Cancels the session's running run; a root's cancel reaches its whole tree. */
  cancel(): Promise<void> {
    return cancelSession(this.client, this.sessionId);
  }

  state(): Promise<SessionRunState> {
    return this.client.workflow.getHandle(this.workflowId).query(stateQuery);
  }

  usage(): Promise<SessionUsage> {
    return this.client.workflow.getHandle(this.workflowId).query(usageQuery);
  }

  /** The whole conversation, read in pages. */
  transcript(): Promise<Message[]> {
    return sessionTranscript(this.client, this.sessionId);
  }

  /** The session and every descendant, each with its status, usage and cost (one query pair per session). */
  async tree(): Promise<SessionTreeNode> {
    const [state, usage] = await Promise.all([this.state(), this.usage()]);
    return { sessionId: this.sessionId, status: state.status, usage: usage.subtree, costMicroUsd: usage.costMicroUsd, children: await this.childNodes(state, usage) };
  }

  private async childNodes(state: SessionRunState, usage: SessionUsage): Promise<SessionTreeNode[]> {
    return Promise.all(
      state.children.map(async ({ childSessionId, status }) => {
        const own = usage.children.find((c) => c.childSessionId === childSessionId);
        const handle = this.bamboo.getSession(childSessionId);
        // A child run that cannot answer (no worker has its code, it never started) is a leaf.
        const below = await Promise.all([handle.state(), handle.usage()]).catch(() => undefined);
        return {
          sessionId: childSessionId,
          status,
          usage: own?.usage ?? below?.[1].subtree ?? ZERO_USAGE,
          costMicroUsd: own?.costMicroUsd ?? below?.[1].costMicroUsd ?? 0,
          children: below ? await handle.childNodes(below[0], below[1]) : [],
        };
      }),
    );
  }

  /**
   * A root: waits until it is idle — its turn over, nothing queued, no child pending or
   * running — and returns its state. A child: waits until its run ends.
   */
  async waitForIdle(options: WaitOptions = {}): Promise<SessionRunState> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const state = await this.state();
      if (isIdle(state)) return state;
      if (Date.now() >= deadline) throw new Error(`session ${this.sessionId} was not idle within ${options.timeoutMs} ms (phase ${state.phase ?? state.status})`);
      await pause(options.pollMs ?? 250);
    }
  }

  /** The result of the session's latest run, once it has closed: a child's report, or a root's final result. */
  result(): Promise<ChildRunResult | SessionWorkflowResult> {
    return this.client.workflow.getHandle(this.workflowId).result() as Promise<ChildRunResult | SessionWorkflowResult>;
  }

  /** The session's durable events as they happen, across continue-as-new, until it closes or `signal` aborts. */
  async *events(options: EventsOptions = {}): AsyncGenerator<SequencedEvent> {
    let afterSeq = options.afterSeq ?? 0;
    const handle = this.client.workflow.getHandle(this.workflowId);
    while (!options.signal?.aborted) {
      const events = await handle.query(eventsQuery, { afterSeq });
      for (const event of events) {
        afterSeq = Math.max(afterSeq, event.seq);
        yield event;
      }
      if (events.length > 0) continue;
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return;
      await pause(options.pollMs ?? 250);
    }
  }

  private async isRoot(): Promise<boolean> {
    const description = await this.client.workflow.getHandle(this.workflowId).describe();
    return description.type === 'sessionWorkflow';
  }
}

const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0 };

function isIdle(state: SessionRunState): boolean {
  if (state.kind === 'child') return state.status !== 'running' && state.status !== 'pending';
  const childrenSettled = state.children.every((c) => c.status !== 'pending' && c.status !== 'running');
  return state.phase === 'idle' && !state.waiting && childrenSettled && state.pendingInjectedMessages === 0 && state.lastRunStatus !== undefined;
}

function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new BambooInputError(`invalid ${what}: ${describeZodError(result.error)}`);
  return result.data;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
