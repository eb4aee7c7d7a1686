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
  BambooRootSessionId,
  DEFAULT_TASK_QUEUE,
  describeZodError,
  errorMessage,
  RespondInputSchema,
  SessionIdSchema,
  SessionOptionsSchema,
  SessionSchema,
  sessionWorkflowId,
  SteerInputSchema,
  SentMessageSchema,
  type ChildRunResult,
  type FullTranscriptEntry,
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
import { fullTranscript } from './full-transcript';
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

/** Names (a model, a provider, a task queue): surrounding blanks mean nothing and are dropped. */
const nonEmpty = z.string().trim().min(1, 'must be a non-empty string');
/**
 * Text a model reads (the prompt, the instructions): refused when blank, otherwise kept exactly
 * as given — leading indentation (a code block) and trailing newlines are part of it.
 */
const nonBlankText = z.string().refine((text) => text.trim().length > 0, 'must be a non-empty string');

export const StartRootSessionSchema = z.strictObject({
  /** The first user message, kept as given (refused when blank). */
  prompt: nonBlankText,
  /** The model's name, as its provider knows it. */
  model: nonEmpty.max(200, 'must be at most 200 characters'),
  /** The provider to call it through; default: the provider listing the model, else the worker's default. */
  provider: nonEmpty.optional(),
  /** Default: `s-` and 8 random hex digits. Starting an id that is running attaches to it. */
  sessionId: SessionIdSchema.optional(),
  title: z.string().max(200).optional(),
  /** Instructions, as the session's leading system message, kept as given (refused when blank). */
  system: nonBlankText.optional(),
  /** Checked as the session's metadata is (`child_watchdog.*` within their bounds…). */
  metadata: SessionSchema.shape.metadata.optional(),
  /** Children at once, wait policy, spawn depth, the tree's budget… (docs/configuration.md#session-options). */
  options: SessionOptionsSchema.optional(),
});
export type StartRootSession = z.input<typeof StartRootSessionSchema>;

/** How often `waitForIdle` and `events` look: at least 10 ms (no busy loop), at most a minute. */
const pollMsSchema = z
  .number()
  .min(10, 'must be at least 10 (milliseconds between two looks)')
  .max(60_000, 'must be at most 60000 (one minute)');

export const WaitOptionsSchema = z.strictObject({
  timeoutMs: z.number().min(0, 'must be at least 0').optional(),
  pollMs: pollMsSchema.optional(),
});

export const EventsOptionsSchema = z.strictObject({
  afterSeq: z.number().int('must be an integer').min(0, 'must be at least 0').optional(),
  pollMs: pollMsSchema.optional(),
  signal: z.custom<AbortSignal>((value) => typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function', 'must be an AbortSignal').optional(),
});

export interface WaitOptions {
  /** Give up after this long (an Error says so), at least 0; default: wait as long as it takes. */
  timeoutMs?: number;
  /** How often to look, 10 ms to 60 000 ms; default 250 ms. */
  pollMs?: number;
}

export interface EventsOptions {
  /** Events after this sequence number, a non-negative integer; default 0 (from the first the session still keeps). */
  afterSeq?: number;
  /** How often to look while nothing is new, 10 ms to 60 000 ms; default 250 ms. */
  pollMs?: number;
  /** Stops the iteration. */
  signal?: AbortSignal;
}

/** At most this many `state`/`usage` queries of one `tree()` call are in flight at once. */
export const TREE_READS_IN_FLIGHT = 8;

/** One session of a tree, with its children: what `bamboo usage --tree` and the tree page show. */
export interface SessionTreeNode {
  sessionId: string;
  /** The status its parent has for it (the root: its own). */
  status: RunStatus;
  /** Its usage with its subtree's, and the priced part's cost in micro-dollars. */
  usage: Usage;
  costMicroUsd: number;
  /** Its children; empty, not known to be childless, when its state could not be read (`unread`). */
  children: SessionTreeNode[];
  /**
   * Set when the session's own `state` or `usage` query failed (no worker has its code, its run
   * never started, the query timed out…): its `usage` and `costMicroUsd` are then what its
   * parent recorded for it (zero when nothing was), and, when `state` failed, its children are
   * unknown. `unreadReason` says which query failed and why.
   */
  unread?: true;
  unreadReason?: string;
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
      title: start.title ?? start.prompt.trim().slice(0, 60),
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
    const { content } = checked(SentMessageSchema, { content: message }, 'message');
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

  /**
   * A person's decision on a request pending in this root's tree (the Update `respond`).
   * Requests are kept and decided at the root: on a child's handle this throws
   * `BambooInputError` (naming the root) before any Update is sent.
   */
  async respond(input: RespondInput): Promise<RespondReceipt> {
    const valid = checked(RespondInputSchema, input, 'respond');
    await this.requireRoot('respond');
    return respond(this.client, this.sessionId, valid);
  }

  /**
   * The requests from anywhere in this root's tree that wait for a person. On a child's handle
   * this throws `BambooInputError` (naming the root): ask the root's handle.
   */
  async pendingRequests(): Promise<PendingRequest[]> {
    await this.requireRoot('pendingRequests');
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

  /** The conversation as the model reads it now (summaries in place of older turns), read in pages. */
  transcript(): Promise<Message[]> {
    return sessionTranscript(this.client, this.sessionId);
  }

  /**
   * Every message the session ever held, in order, across summaries, runs and continue-as-new:
   * each summary follows the messages it replaced, as a `summary` entry (read from histories).
   */
  fullTranscript(): Promise<FullTranscriptEntry[]> {
    return fullTranscript(this.client, this.sessionId);
  }

  /**
   * The session and every descendant, each with its status, usage and cost (one query pair per
   * session, at most `TREE_READS_IN_FLIGHT` queries at once). A descendant whose state or usage
   * could not be read is kept, marked `unread` with the reason; this session's own read failing
   * throws.
   */
  async tree(): Promise<SessionTreeNode> {
    const read = limiter(TREE_READS_IN_FLIGHT);
    const [state, usage] = await Promise.all([read(() => this.state()), read(() => this.usage())]);
    return { sessionId: this.sessionId, status: state.status, usage: usage.subtree, costMicroUsd: usage.costMicroUsd, children: await this.childNodes(state, usage, read) };
  }

  private async childNodes(state: SessionRunState, usage: SessionUsage, read: Limiter): Promise<SessionTreeNode[]> {
    return Promise.all(
      state.children.map(async ({ childSessionId, status }): Promise<SessionTreeNode> => {
        const own = usage.children.find((c) => c.childSessionId === childSessionId);
        const handle = this.bamboo.getSession(childSessionId);
        const [childState, childUsage] = await Promise.allSettled([read(() => handle.state()), read(() => handle.usage())]);
        const below = childUsage.status === 'fulfilled' ? childUsage.value : undefined;
        // A child run that cannot answer (no worker has its code, it never started) is kept and marked.
        const failed = [
          ...(childState.status === 'rejected' ? [`state: ${errorMessage(childState.reason)}`] : []),
          ...(childUsage.status === 'rejected' ? [`usage: ${errorMessage(childUsage.reason)}`] : []),
        ];
        return {
          sessionId: childSessionId,
          status,
          usage: own?.usage ?? below?.subtree ?? ZERO_USAGE,
          costMicroUsd: own?.costMicroUsd ?? below?.costMicroUsd ?? 0,
          children: childState.status === 'fulfilled' ? await handle.childNodes(childState.value, below ?? NO_USAGE, read) : [],
          ...(failed.length > 0 ? { unread: true as const, unreadReason: failed.join('; ') } : {}),
        };
      }),
    );
  }

  /**
   * A root: waits until it is idle — its turn over, nothing queued, no child pending or
   * running — and returns its state. A child: waits until its run ends.
   */
  async waitForIdle(options: WaitOptions = {}): Promise<SessionRunState> {
    const { timeoutMs, pollMs = 250 } = checked(WaitOptionsSchema, options, 'waitForIdle');
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const state = await this.state();
      if (isSessionIdle(state)) return state;
      if (Date.now() >= deadline) throw new Error(`session ${this.sessionId} was not idle within ${timeoutMs} ms (phase ${state.phase ?? state.status})`);
      await pause(pollMs);
    }
  }

  /** The result of the session's latest run, once it has closed: a child's report, or a root's final result. */
  result(): Promise<ChildRunResult | SessionWorkflowResult> {
    return this.client.workflow.getHandle(this.workflowId).result() as Promise<ChildRunResult | SessionWorkflowResult>;
  }

  /**
   * The session's durable events as they happen, across continue-as-new, until it closes or
   * `signal` aborts. Options are checked at the call, before any query.
   *
   * It polls the `events` query, so it sees what a run still holds when it looks, and may miss
   * events: a run keeps its latest 500, and at a continue-as-new the events its last workflow
   * task recorded (that same task continues-as-new) were never observable by a query; the next
   * run's numbering goes on after them, so such a loss shows as a jump in `seq`. Use it to show
   * progress, not to decide: whether a session is done is `waitForIdle()`, what it is doing is
   * `state()`, what it said is `transcript()`.
   */
  events(options: EventsOptions = {}): AsyncGenerator<SequencedEvent> {
    return this.followEvents(checked(EventsOptionsSchema, options, 'events'));
  }

  private async *followEvents(options: EventsOptions): AsyncGenerator<SequencedEvent> {
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

  /** Requests live at the root: `what` on a child's handle would reach a workflow without them. */
  private async requireRoot(what: string): Promise<void> {
    const description = await this.client.workflow.getHandle(this.workflowId).describe();
    if (description.type === 'sessionWorkflow') return;
    const root = description.typedSearchAttributes.get(BambooRootSessionId);
    const use = root ? `use the root's handle (getSession('${root}'))` : "use its root's handle";
    throw new BambooInputError(`${what} goes to a root session: ${this.sessionId} is a child session; ${use}`);
  }

  private async isRoot(): Promise<boolean> {
    const description = await this.client.workflow.getHandle(this.workflowId).describe();
    return description.type === 'sessionWorkflow';
  }
}

const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0 };
/** A child whose usage could not be read: its own children's usage comes from their reads. */
const NO_USAGE: SessionUsage = { self: ZERO_USAGE, children: [], subtree: ZERO_USAGE, costMicroUsd: 0, unpricedCalls: 0, childRuns: 0 };

type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** Runs at most `max` tasks at once; the others wait their turn, in order. */
function limiter(max: number): Limiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finished task hands its slot to the next in line directly, so none can jump the queue.
    if (running < max) running += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/** Nothing more will happen without a message: a root's turn over, nothing queued, no child pending or running; a child's run ended. */
export function isSessionIdle(state: SessionRunState): boolean {
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
