/**
 * The root's book of requests for a person, as plain state: what is pending, which ids were
 * answered or closed (and why), whether a `respond` may be accepted, where an accepted decision
 * goes, which expiry the session that asked must be told of, the count `BambooPendingRequests`
 * shows, and what continue-as-new carries.
 *
 * No Temporal here: `RequestDesk` (person-requests.ts) takes the signals and the Update, sends
 * the decisions and upserts the count the book hands it; the book decides. Time comes from the
 * injected clock (workflow code passes workflow time), so a unit test can drive it with plain
 * objects.
 */
import { ALREADY_ANSWERED, NO_LONGER_WAITS, REQUEST_EXPIRED, RespondInputSchema, UNKNOWN_REQUEST, type PendingRequest, type RequestClosed, type RequestDecision, type RespondInput } from '../common/requests';
import type { CarriedState } from '../common/root-session';
import { describeRejected } from '../common/validation';

/** Answered or closed ids a root carries across continue-as-new (duplicates come close to the original). */
export const CLOSED_REQUESTS_CARRIED = 1000;

/** A close reason carried is cut to this (a session may send any text; the carried state has a budget). */
export const CLOSE_REASON_CARRIED_CHARS = 200;
/** …and at most this much of it is kept at all (a refusal quotes it). */
export const CLOSE_REASON_KEPT_CHARS = 2000;

/** What a root carries of its book across continue-as-new. */
export type CarriedRequests = Pick<CarriedState, 'pendingRequests' | 'closedRequests' | 'closedReasons'>;

/** The closed entry of an id a person decided (any other entry is the reason it closed). */
const ANSWERED = 'answered';

export interface RequestBookDeps {
  rootSessionId: string;
  /** Milliseconds since the epoch: `Date.now` of the workflow (deterministic). */
  now: () => number;
  /** Told the pending count each time it changes (BambooPendingRequests). */
  publish: (count: number) => void;
  carried?: CarriedRequests;
  /** How many closed ids continue-as-new carries (CLOSED_REQUESTS_CARRIED; smaller in tests). */
  closedCarried?: number;
}

/** A decision the book accepted, and the session it goes to (`own`: the root's own request). */
export interface DecisionRoute {
  decision: RequestDecision;
  sessionId: string;
  own: boolean;
}

export class RequestBook {
  private readonly pending = new Map<string, PendingRequest>();
  /** Id → `answered`, or the reason it closed; in the order they were decided or closed. */
  private readonly closed = new Map<string, string>();
  private published = 0;
  private readonly rootSessionId: string;
  private readonly now: () => number;
  private readonly publishCount: (count: number) => void;
  private readonly closedCarried: number;

  constructor({ rootSessionId, now, publish, carried, closedCarried }: RequestBookDeps) {
    this.rootSessionId = rootSessionId;
    this.now = now;
    this.publishCount = publish;
    this.closedCarried = closedCarried ?? CLOSED_REQUESTS_CARRIED;
    for (const request of carried?.pendingRequests ?? []) this.pending.set(request.requestId, request);
    for (const id of carried?.closedRequests ?? []) this.closed.set(id, ANSWERED);
    for (const { requestId, reason } of carried?.closedReasons ?? []) if (this.closed.has(requestId)) this.closed.set(requestId, reason);
  }

  /** After continue-as-new: the carried count, published again. */
  start(): void {
    this.publish();
  }

  list(): PendingRequest[] {
    return [...this.pending.values()];
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** A request raised in the tree. @returns false for a duplicate (pending, answered or closed). */
  raise(request: PendingRequest): boolean {
    if (this.pending.has(request.requestId) || this.closed.has(request.requestId)) return false;
    this.pending.set(request.requestId, request);
    this.publish();
    return true;
  }

  /** A request no longer waits (expired, or its session stopped waiting). @returns it, if it was pending. */
  close({ requestId, reason }: RequestClosed): PendingRequest | undefined {
    const request = this.pending.get(requestId);
    if (!request) return undefined;
    this.pending.delete(requestId);
    this.closed.set(requestId, reason.slice(0, CLOSE_REASON_KEPT_CHARS)); // a session may send any text: keep what a refusal needs
    this.publish();
    return request;
  }

  /**
   * The session that asked says a request no longer waits. One it says expired, still pending
   * here, is expired — no `respond` can answer it any more — and the returned deny `by:
   * 'timeout'` is what that session must be told. One already answered is left as it is: the
   * person's decision is on its way to the session.
   */
  closedBySession(closed: RequestClosed): DecisionRoute | undefined {
    const request = this.close(closed);
    if (!request || closed.reason !== REQUEST_EXPIRED) return undefined;
    const decision: RequestDecision = { requestId: request.requestId, decision: 'deny', reason: REQUEST_EXPIRED, decidedAt: this.isoNow(), by: 'timeout' };
    return this.routeOf(request, decision);
  }

  /**
   * When the earliest request of another session (a child's, at any depth) is past its expiry
   * by `graceMs` — the time that session had to expire it itself. Undefined when none waits.
   */
  nextStaleAt(graceMs: number): number | undefined {
    let earliest: number | undefined;
    for (const request of this.pending.values()) {
      if (request.sessionId === this.rootSessionId) continue; // the root expires its own on time
      const at = Date.parse(request.expiresAt) + graceMs;
      if (earliest === undefined || at < earliest) earliest = at;
    }
    return earliest;
  }

  /**
   * Expires the requests of other sessions past their expiry by `graceMs`: the session that
   * asked did not (its run ended unreported with no parent left to say so, or it has no worker).
   * A `respond` is refused from now on; the returned denies are what those sessions are told,
   * should one still wait.
   */
  expireStale(graceMs: number): DecisionRoute[] {
    const due = this.now() - graceMs;
    return this.list()
      .filter((request) => request.sessionId !== this.rootSessionId && Date.parse(request.expiresAt) <= due)
      .map((request) => {
        this.close({ requestId: request.requestId, reason: REQUEST_EXPIRED });
        return this.routeOf(request, { requestId: request.requestId, decision: 'deny', reason: REQUEST_EXPIRED, decidedAt: this.isoNow(), by: 'timeout' });
      });
  }

  /** The Update's validator: only a pending request can be answered, and only the way its kind allows. */
  validate(payload: unknown): RespondInput {
    const parsed = RespondInputSchema.safeParse(payload);
    if (!parsed.success) throw new Error(`invalid respond input: ${describeRejected(payload, parsed.error)}`);
    const { requestId, decision } = parsed.data;
    const request = this.pending.get(requestId);
    if (!request) {
      const reason = this.closed.get(requestId);
      if (reason === undefined) throw new Error(UNKNOWN_REQUEST(requestId));
      throw new Error(reason === ANSWERED ? ALREADY_ANSWERED(requestId) : NO_LONGER_WAITS(requestId, reason));
    }
    if (request.kind === 'tool' && decision === 'answer') throw new Error(`request ${JSON.stringify(requestId)} is a tool call: approve or deny it`);
    if (request.kind === 'question' && decision !== 'answer' && decision !== 'deny') throw new Error(`request ${JSON.stringify(requestId)} is a question: answer it (or deny it)`);
    return parsed.data;
  }

  /**
   * The Update's handler: records the decision once (validated again: the book, not its
   * caller, keeps a decision to one per id) and says where it goes.
   */
  respond(payload: unknown): DecisionRoute {
    const input = this.validate(payload);
    const request = this.pending.get(input.requestId)!;
    const decidedAt = this.isoNow();
    this.pending.delete(input.requestId);
    this.closed.set(input.requestId, ANSWERED);
    this.publish();
    const decision: RequestDecision = {
      requestId: input.requestId,
      decision: input.decision,
      ...('reason' in input && input.reason ? { reason: input.reason } : {}),
      ...('text' in input ? { text: input.text } : {}),
      decidedAt,
      by: 'person',
    };
    return this.routeOf(request, decision);
  }

  /**
   * A run that ended leaves nothing waiting: the requests of its session are closed (one count
   * each) — only that run's when both name their run, so a later run's requests stay.
   */
  closeAllOf(sessionId: string, reason: string, runId?: string): void {
    for (const request of this.list()) {
      if (request.sessionId !== sessionId || (runId && request.runId && request.runId !== runId)) continue;
      this.close({ requestId: request.requestId, reason });
    }
  }

  /**
   * The pending requests, and the latest closed ids with the reasons of those that closed
   * unanswered — so a `respond` after continue-as-new is refused as before it, not as answered.
   * @param withReasons asked only when there are reasons to carry (runs from before the reasons
   *   were carried say no: their continue-as-new input stays as it was).
   */
  carried(): CarriedRequests {
    const closed = [...this.closed.keys()].slice(-this.closedCarried);
    const reasons = closed.flatMap((requestId) => {
      const reason = this.closed.get(requestId)!;
      return reason === ANSWERED ? [] : [{ requestId, reason: reason.slice(0, CLOSE_REASON_CARRIED_CHARS) }];
    });
    return {
      ...(this.pending.size ? { pendingRequests: this.list() } : {}),
      ...(closed.length ? { closedRequests: closed } : {}),
      ...(reasons.length ? { closedReasons: reasons } : {}),
    };
  }

  /** Keeps the published count equal to the pending count (told only when it changes). */
  private publish(): void {
    if (this.pending.size === this.published) return;
    this.published = this.pending.size;
    this.publishCount(this.published);
  }

  private routeOf(request: PendingRequest, decision: RequestDecision): DecisionRoute {
    return { decision, sessionId: request.sessionId, own: request.sessionId === this.rootSessionId };
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }
}
