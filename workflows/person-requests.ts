/**
 * Requests for a person, as workflow code (docs/architecture.md#approvals-questions-and-steering).
 *
 * Any session — root or child, at any depth — may `ask`: the request goes to the root of its
 * tree (a signal by workflow id, so it reaches the root's current run), and the session waits
 * durably for the decision, or denies it itself once `requestTimeoutSecs` have passed. The
 * root keeps the book (`RequestBook`, plain state in request-book.ts): what is pending, what was
 * answered; its `RequestDesk` takes the Update `respond`, which the book records once, and
 * routes the decision to the session that waits.
 *
 * Guarantees: a decision is applied once (the book rejects answered ids; the waiting session
 * takes the first decision for an id it waits for and ignores any other); the book and the
 * waits live in workflow state, so worker kills and server restarts replay them, and the
 * root's continue-as-new carries the book.
 *
 * The root decides, so a `respond` receipt says what the session applies (issue 25): a child
 * whose request's time is up does not deny it on its own — the root may have recorded a
 * person's answer it has not received yet — but asks the root to expire it and takes the
 * root's word: the expiry (a deny), or the answer the root recorded first. Only a root that
 * does not answer within ROOT_VERDICT_WAIT_SECS (no worker runs it) leaves the child to deny
 * alone, and a run cancelled while it waits ends without applying a late answer.
 */
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { errorMessage } from '../common/errors';
import { sessionWorkflowId } from '../common/ids';
import { ARGUMENTS_PREVIEW_CHARS, PendingRequestSchema, RequestClosedSchema, RequestDecisionSchema, REQUEST_EXPIRED, requestExpiredReason, type PendingRequest, type RequestDecision, type RespondReceipt } from '../common/requests';
import { BambooPendingRequests } from '../common/search-attributes';
import type { Session } from '../common/session';
import { requestClosedSignal, requestDecidedSignal, requestRaisedSignal, sessionRequestsClosedSignal } from '../common/workflow-interface';
import type { EventLog } from './event-log';
import { RequestBook, type CarriedRequests } from './request-book';
import { parseSignal } from './signal-input';

export type RequestAsk = Pick<PendingRequest, 'kind' | 'tool' | 'argumentsPreview' | 'question'>;

/**
 * Patch id: a child's expired request is decided by its root (the header). Histories from
 * before it replay the old way: the child denied at once, and the root only closed it.
 */
export const EXPIRY_DECIDED_BY_ROOT_PATCH = 'request-expiry-decided-by-root';

/** Why the requests of a run that ended are closed in the root's book. */
export const ASKER_RUN_ENDED = 'the session that asked has ended its run';

/**
 * Patch id: a parent whose child run closed without reporting (terminated, timed out) tells
 * the root, so that run's requests leave the book (issue 25). A root learns this of its own
 * children itself; before, requests of runs at depth 2 and more stayed pending for good.
 */
export const TELL_ROOT_RUN_ENDED_PATCH = 'bamboo-tell-root-run-ended';

/**
 * A run of `sessionId` (a child of this session; `runId`: its chain's first run) closed without
 * reporting: the root closes that run's requests. The caller awaits the notice before its own
 * run ends, since the server drops a signal whose sender has closed.
 */
export function tellRootRunEnded(rootSessionId: string, sessionId: string, runId: string): Promise<void> | undefined {
  if (!patched(TELL_ROOT_RUN_ENDED_PATCH)) return undefined;
  return CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(sessionWorkflowId(rootSessionId))
      .signal(sessionRequestsClosedSignal, { sessionId, runId, reason: ASKER_RUN_ENDED })
      .catch((error: unknown) => log.warn('could not tell the root a run ended', { sessionId, error: errorMessage(error) })),
  );
}

/**
 * Patch id: the root expires a child's request itself once it is STALE_REQUEST_GRACE_SECS past
 * its expiry (issue 25). Before, a request whose asking run outlived its parent's run and then
 * ended unreported stayed pending for good, and a `respond` to it was accepted into the void.
 */
export const ROOT_EXPIRES_STALE_PATCH = 'bamboo-root-expires-stale-requests';

/** How long past its expiry the root leaves a child's request to the child (which expires it on time while it runs). */
export const STALE_REQUEST_GRACE_SECS = 10;

/** How long a child whose request expired waits for its root's word before it denies alone. */
export const ROOT_VERDICT_WAIT_SECS = 60;

/** A tool call's arguments as a person reads them in the request. */
export function argumentsPreview(args: unknown): string {
  const text = JSON.stringify(args) ?? '';
  return text.length <= ARGUMENTS_PREVIEW_CHARS ? text : `${text.slice(0, ARGUMENTS_PREVIEW_CHARS - 1)}…`;
}

/** The requests one session waits for, and the decisions that arrived for them. */
export class PersonRequests {
  private readonly decisions = new Map<string, RequestDecision>();
  private readonly waiting = new Set<string>();

  /**
   * @param desk the root's RequestDesk when this session is the root; a child sends its
   *   requests to `session.rootSessionId`.
   */
  constructor(
    private readonly session: Session,
    private readonly timeoutSecs: number,
    private readonly events: EventLog,
    private readonly desk?: RequestDesk,
  ) {}

  /** How many requests this session waits for now. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Raises a request and waits for a person's decision (or the timeout's deny). */
  async ask(what: RequestAsk): Promise<RequestDecision> {
    const now = Date.now();
    const request: PendingRequest = {
      requestId: uuid4(),
      sessionId: this.session.id,
      runId: workflowInfo().firstExecutionRunId,
      ...what,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.timeoutSecs * 1000).toISOString(),
    };
    const raised = await this.raise(request);
    if (!raised.ok) return { requestId: request.requestId, decision: 'deny', reason: raised.reason, decidedAt: new Date().toISOString(), by: 'timeout' };
    this.waiting.add(request.requestId);
    this.events.add({ type: 'request_raised', requestId: request.requestId, kind: request.kind, ...(request.tool ? { tool: request.tool } : {}) });
    try {
      const answered = await condition(() => this.decisions.has(request.requestId), this.timeoutSecs * 1000);
      const received = answered ? this.decisions.get(request.requestId)! : undefined;
      // The root's expiry can arrive before this run's own timer (its worker lagged): the model
      // reads the same reason either way.
      const decision = received && received.by !== 'timeout' ? received : received ? this.expired(request.requestId) : await this.expire(request.requestId);
      this.events.add({ type: 'request_decided', requestId: request.requestId, decision: decision.decision, by: decision.by });
      return decision;
    } catch (error) {
      // The run was cancelled while waiting: the request no longer waits.
      await this.close(request.requestId, 'the session stopped waiting');
      throw error;
    } finally {
      this.waiting.delete(request.requestId);
      this.decisions.delete(request.requestId);
    }
  }

  /**
   * The request's time is up. The root's own request closes in its book at once (nothing can
   * answer it in between: the book is here). A child's asks its root to expire it and waits for
   * the root's word (the header): the root's expiry is this session's deny, with its reason; a
   * person's answer the root recorded first is applied instead.
   */
  private async expire(requestId: string): Promise<RequestDecision> {
    const expired = this.expired(requestId);
    if (this.desk || !patched(EXPIRY_DECIDED_BY_ROOT_PATCH)) {
      await this.close(requestId, REQUEST_EXPIRED);
      return expired;
    }
    // A root that cannot be told (its run closed) can no longer answer either.
    if (await this.close(requestId, REQUEST_EXPIRED)) await condition(() => this.decisions.has(requestId), ROOT_VERDICT_WAIT_SECS * 1000);
    const verdict = this.decisions.get(requestId);
    return verdict?.by === 'person' ? verdict : expired;
  }

  /** The deny of a request whose time is up, with the reason the model reads. */
  private expired(requestId: string): RequestDecision {
    return { requestId, decision: 'deny', reason: requestExpiredReason(this.timeoutSecs), decidedAt: new Date().toISOString(), by: 'timeout' };
  }

  /** A decision for this session (signal `requestDecided`, or the root's own book): the first one for an awaited id counts. */
  decided(payload: unknown): void {
    const decision = parseSignal(RequestDecisionSchema, payload, 'requestDecided');
    if (!decision) return;
    if (!this.waiting.has(decision.requestId) || this.decisions.has(decision.requestId)) {
      log.info('ignored a decision for a request this run does not wait for', { requestId: decision.requestId });
      return;
    }
    this.decisions.set(decision.requestId, decision);
  }

  private async raise(request: PendingRequest): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.desk) {
      this.desk.add(request);
      return { ok: true };
    }
    try {
      await getExternalWorkflowHandle(sessionWorkflowId(this.session.rootSessionId)).signal(requestRaisedSignal, request);
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: `no person can be asked: the root session ${this.session.rootSessionId} is not running (${errorMessage(error)})` };
    }
  }

  /** Tells the root's book the request no longer waits; false when the root could not be told. */
  private async close(requestId: string, reason: string): Promise<boolean> {
    if (this.desk) {
      this.desk.close({ requestId, reason });
      return true;
    }
    return CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(sessionWorkflowId(this.session.rootSessionId))
        .signal(requestClosedSignal, { requestId, reason })
        .then(() => true)
        .catch((error: unknown) => {
          log.warn('could not tell the root a request closed', { requestId, error: errorMessage(error) });
          return false;
        }),
    );
  }
}

/**
 * The root's end of requests, as Temporal sees it: it takes the tree's `requestRaised` and
 * `requestClosed` signals and the Update `respond`, hands them to the RequestBook
 * (request-book.ts), which decides, and performs what the book decides — the decisions sent
 * to the sessions that wait, the pending count upserted as `BambooPendingRequests`.
 */
export class RequestDesk {
  private readonly book: RequestBook;
  /** Set by the root: decisions for its own requests go straight to its PersonRequests. */
  local?: PersonRequests;

  constructor(rootSessionId: string, carried?: CarriedRequests) {
    this.book = new RequestBook({
      rootSessionId,
      now: () => Date.now(),
      publish: (count) => upsertSearchAttributes([{ key: BambooPendingRequests, value: count }]),
      carried,
    });
  }

  /** After continue-as-new: the carried count, published again. */
  start(): void {
    this.book.start();
  }

  list(): PendingRequest[] {
    return this.book.list();
  }

  /** A request raised in the tree (signal `requestRaised`, or the root's own). */
  add(payload: unknown): void {
    const request = parseSignal(PendingRequestSchema, payload, 'requestRaised');
    if (request) this.book.raise(request);
  }

  /** A request no longer waits (expired, or its session stopped waiting). */
  close(payload: unknown): void {
    const parsed = RequestClosedSchema.safeParse(payload);
    if (parsed.success) this.book.close(parsed.data);
  }

  /**
   * Signal `requestClosed` from the session that asked. A request it says expired, still
   * pending here, is expired, and the session is told so (`requestDecided`, a deny `by:
   * 'timeout'`): it waits for the root's word (the header).
   */
  closedBySession(payload: unknown): void {
    const parsed = RequestClosedSchema.safeParse(payload);
    if (!parsed.success) return;
    const expiry = this.book.closedBySession(parsed.data);
    if (!expiry || !patched(EXPIRY_DECIDED_BY_ROOT_PATCH)) return;
    void getExternalWorkflowHandle(sessionWorkflowId(expiry.sessionId))
      .signal(requestDecidedSignal, expiry.decision)
      .catch((error: unknown) => log.warn('could not tell a session its request expired', { requestId: expiry.decision.requestId, error: errorMessage(error) }));
  }

  /**
   * Runs for the root's run: expires a child's request the child left past its expiry (the
   * patch above). One timer at a time, for the earliest such request; none while no child's
   * request waits, so a root without requests writes no timer.
   */
  async expireStaleRequests(): Promise<void> {
    const grace = STALE_REQUEST_GRACE_SECS * 1000;
    for (;;) {
      await condition(() => this.book.nextStaleAt(grace) !== undefined);
      if (!patched(ROOT_EXPIRES_STALE_PATCH)) return;
      const due = this.book.nextStaleAt(grace)!;
      if (due > Date.now() && (await condition(() => this.book.nextStaleAt(grace) !== due, due - Date.now()))) continue;
      for (const { decision, sessionId } of this.book.expireStale(grace)) {
        void getExternalWorkflowHandle(sessionWorkflowId(sessionId))
          .signal(requestDecidedSignal, decision)
          .catch((error: unknown) => log.info('a stale request expired; its session is not running', { requestId: decision.requestId, error: errorMessage(error) }));
      }
    }
  }

  /** The Update's validator (RequestBook.validate). */
  validate(payload: unknown): void {
    this.book.validate(payload);
  }

  /** The Update's handler: the book records the decision once; this routes it to the session that waits. */
  async respond(payload: unknown): Promise<RespondReceipt> {
    const { decision, sessionId, own } = this.book.respond(payload);
    let delivered = true;
    if (own && this.local) {
      this.local.decided(decision);
    } else {
      try {
        await getExternalWorkflowHandle(sessionWorkflowId(sessionId)).signal(requestDecidedSignal, decision);
      } catch (error) {
        delivered = false;
        log.warn('the session that asked is not running; the decision was recorded but not delivered', { requestId: decision.requestId, error: errorMessage(error) });
      }
    }
    return { requestId: decision.requestId, decision: decision.decision, recordedAt: decision.decidedAt, delivered };
  }

  /** A child run that ended leaves nothing waiting: its requests are closed. */
  closeAllOf(sessionId: string, reason: string, runId?: string): void {
    this.book.closeAllOf(sessionId, reason, runId);
  }

  carried(): CarriedRequests {
    // No patch: what continue-as-new carries is its input, which replay does not compare (the
    // patch-guard test showed a guard here changed no command).
    return this.book.carried();
  }
}
