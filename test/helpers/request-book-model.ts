/**
 * The root's request book in a small simulated world, for model-based tests: the real plain
 * state (RequestBook) driven as RequestDesk and the root's PersonRequests drive it
 * (workflows/person-requests.ts), and beside it a model of what each request id must be —
 * pending, answered, closed with its reason, or forgotten past the bound of closed ids
 * continue-as-new carries — and of the count the search attribute shows.
 *
 * Each method named after a RequestDesk method does what that method does with the payload
 * already parsed: keep them in step when person-requests.ts changes.
 */
import { ALREADY_ANSWERED, CarriedStateSchema, NO_LONGER_WAITS, REQUEST_EXPIRED, UNKNOWN_REQUEST, type PendingRequest } from '../../common';
import { RequestBook, type DecisionRoute } from '../../workflows/request-book';

export const ROOT = 'root-1';
/** The root and two sessions of its tree (a child and a grandchild: the book does not care how deep). */
export const SESSIONS = [ROOT, 'child-a', 'grandchild-b'];
export const STOPPED_WAITING = 'the session stopped waiting';
export const RUN_ENDED = 'the session that asked has ended its run';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** The rest of a root's carried state, empty: the book's part goes through the whole schema, so none of it is dropped. */
export const ROOT_CARRIED_ELSE = { children: [], queued: [], seenCompletions: [], pendingUserMessages: [], waiting: null, lastEventSeq: 0 };

type Fate = { state: 'pending' } | { state: 'answered' } | { state: 'closed'; reason: string } | { state: 'forgotten' };

interface ModelRequest {
  request: PendingRequest;
  fate: Fate;
  /** Decisions for it the book accepted or routed (a person's, or an expiry): at most one. */
  decisions: number;
}

/** How a person's `respond` is drawn: a decision of each kind, and inputs the schema refuses. */
export type RespondVariant = 'approve' | 'approve with reason' | 'deny' | 'deny with empty reason' | 'answer' | 'answer with empty text' | 'unknown decision' | 'empty id';

export class RequestWorld {
  book: RequestBook;
  /** BambooPendingRequests as the server holds it: continue-as-new keeps it. */
  attribute = 0;
  /** Upserts the desk made, and those the model says it must have made (one per change of the count). */
  publishes = 0;
  expectedPublishes = 0;
  /** Every id ever raised. */
  readonly requests = new Map<string, ModelRequest>();
  /** Pending ids, in the order the book lists them. */
  pending: string[] = [];
  /** Answered or closed ids, in the order they were, as far as the book remembers them. */
  remembered: string[] = [];
  generations = 0;
  steps = 0;
  private clock = T0;
  private nextId = 1;

  constructor(readonly bound: number) {
    this.book = this.newBook();
  }

  private newBook(carried?: ConstructorParameters<typeof RequestBook>[0]['carried']): RequestBook {
    return new RequestBook({
      rootSessionId: ROOT,
      now: () => this.clock,
      publish: (count) => {
        this.attribute = count;
        this.publishes += 1;
      },
      carried,
      closedCarried: this.bound,
    });
  }

  ids(): string[] {
    return [...this.requests.keys()];
  }

  /** A step begins, a second after the last. */
  tick(): void {
    this.clock += 1000;
    this.steps += 1;
  }

  // ── the tree raises and closes ────────────────────────────────────────────

  /** A session asks (signal `requestRaised`, or the root's own PersonRequests). */
  raise(sessionId: string, kind: PendingRequest['kind'], timeoutSecs = 0): void {
    const requestId = `req-${this.nextId++}`;
    const at = new Date(this.clock).toISOString();
    const expiresAt = new Date(this.clock + timeoutSecs * 1000).toISOString();
    const request: PendingRequest = { requestId, sessionId, kind, ...(kind === 'tool' ? { tool: 'write_file', argumentsPreview: '{}' } : { question: 'which one?' }), requestedAt: at, expiresAt };
    this.requests.set(requestId, { request, fate: { state: 'pending' }, decisions: 0 });
    expectThat(this.book.raise(request), 'a new request is taken', true);
    this.becomesPending(requestId);
  }

  /** A signal `requestRaised` comes again (duplicated, or late). */
  raiseAgain(requestId: string): void {
    const known = this.requests.get(requestId)!;
    const taken = this.book.raise(known.request);
    // Past the carried bound the book has forgotten the id: it is new to it again (a known limit).
    expectThat(taken, `a duplicate raise of ${requestId} (${known.fate.state}) is taken`, known.fate.state === 'forgotten');
    if (!taken) return;
    known.fate = { state: 'pending' };
    known.decisions = 0;
    this.becomesPending(requestId);
  }

  /** RequestDesk.closedBySession: the session that asked says the request no longer waits. */
  closedBySession(requestId: string, reason: string): void {
    const known = this.requests.get(requestId);
    const wasPending = known?.fate.state === 'pending';
    const expiry = this.book.closedBySession({ requestId, reason });
    if (!wasPending) return expectThat(expiry, `closing ${requestId} (${known?.fate.state ?? 'never raised'}) routes`, undefined);
    this.closes(requestId, reason);
    if (reason !== REQUEST_EXPIRED) return expectThat(expiry, `closing ${requestId} (${reason}) routes`, undefined);
    if (!expiry) throw new Error(`an expired pending request ${requestId} was not routed to its session`);
    this.routed(known!, expiry, { decision: 'deny', reason: REQUEST_EXPIRED, by: 'timeout' });
  }

  /** The root's own request closes in its book (PersonRequests.close): its time is up, or its run was cancelled. */
  rootCloses(requestId: string, reason: string): void {
    const known = this.requests.get(requestId)!;
    const closed = this.book.close({ requestId, reason });
    expectThat(closed?.requestId, `the root closing its own ${requestId} (${known.fate.state}) closes`, known.fate.state === 'pending' ? requestId : undefined);
    if (!closed) return;
    this.closes(requestId, reason);
    // The root's PersonRequests applies its own expiry: a decision, not routed by the book.
    if (reason === REQUEST_EXPIRED) known.decisions += 1;
  }

  /** RequestDesk.closeAllOf: a child run ended; its requests close, one count each. */
  closeAllOf(sessionId: string): void {
    const closing = this.pending.filter((id) => this.requests.get(id)!.request.sessionId === sessionId);
    this.book.closeAllOf(sessionId, RUN_ENDED);
    for (const id of closing) this.closes(id, RUN_ENDED);
  }

  /**
   * RequestDesk.expireStaleRequests when its timer fires: a child's request past its expiry by
   * the grace (its session did not expire it: its run ended unreported, or it has no worker) is
   * expired by the root, and its session told the deny.
   */
  expireStale(graceMs: number): void {
    const due = (id: string) => {
      const { request } = this.requests.get(id)!;
      return request.sessionId !== ROOT && Date.parse(request.expiresAt) + graceMs <= this.clock;
    };
    const foreign = this.pending.filter((id) => this.requests.get(id)!.request.sessionId !== ROOT).map((id) => Date.parse(this.requests.get(id)!.request.expiresAt) + graceMs);
    expectThat(this.book.nextStaleAt(graceMs), 'when the next child request is stale', foreign.length ? Math.min(...foreign) : undefined);
    const expiring = this.pending.filter(due);
    const routes = this.book.expireStale(graceMs);
    expectThat(routes.map((r) => r.decision.requestId).join(','), 'the stale requests expired', expiring.join(','));
    for (const [n, id] of expiring.entries()) {
      this.closes(id, REQUEST_EXPIRED);
      this.routed(this.requests.get(id)!, routes[n], { decision: 'deny', reason: REQUEST_EXPIRED, by: 'timeout' });
    }
  }

  // ── a person responds ─────────────────────────────────────────────────────

  /**
   * The Update `respond`: its validator, and the handler only when the validator accepts (as
   * Temporal runs them) — or the handler alone, which must refuse the same way by itself.
   */
  respond(requestId: string, variant: RespondVariant, throughValidator: boolean): void {
    const input = respondInput(requestId, variant);
    const expected = this.expectedRefusal(requestId, variant);
    let route: DecisionRoute | undefined;
    let refusal: string | undefined;
    try {
      if (throughValidator) this.book.validate(input);
      route = this.book.respond(input);
    } catch (error) {
      refusal = (error as Error).message;
    }
    if (expected !== undefined) {
      if (refusal === undefined) throw new Error(`respond ${variant} to ${requestId} (${this.fateOf(requestId)}) was accepted; expected "${expected}"`);
      const matches = expected.endsWith(': ') ? refusal.startsWith(expected) : refusal === expected;
      if (!matches) throw new Error(`respond ${variant} to ${requestId} refused with "${refusal}"; expected "${expected}"`);
      return;
    }
    if (refusal !== undefined) throw new Error(`respond ${variant} to pending ${requestId} refused: ${refusal}`);
    const known = this.requests.get(requestId)!;
    this.pending = this.pending.filter((id) => id !== requestId);
    known.fate = { state: 'answered' };
    this.remembered.push(requestId);
    this.expectedPublishes += 1;
    const decision = input.decision as 'approve' | 'deny' | 'answer';
    this.routed(known, route!, {
      decision,
      by: 'person',
      ...(variant === 'approve with reason' ? { reason: 'looks fine' } : {}),
      ...(decision === 'answer' ? { text: 'the blue one' } : {}),
    });
  }

  /** The refusal `respond` must give (a prefix ending in ': ' for schema errors), or undefined to accept. */
  expectedRefusal(requestId: string, variant: RespondVariant): string | undefined {
    if (variant === 'answer with empty text' || variant === 'unknown decision' || variant === 'empty id') return 'invalid respond input: ';
    const known = this.requests.get(requestId);
    if (!known || known.fate.state === 'forgotten') return UNKNOWN_REQUEST(requestId);
    if (known.fate.state === 'answered') return ALREADY_ANSWERED(requestId);
    if (known.fate.state === 'closed') return NO_LONGER_WAITS(requestId, known.fate.reason);
    const decision = variant.split(' ')[0];
    if (known.request.kind === 'tool' && decision === 'answer') return `request ${JSON.stringify(requestId)} is a tool call: approve or deny it`;
    if (known.request.kind === 'question' && decision === 'approve') return `request ${JSON.stringify(requestId)} is a question: answer it (or deny it)`;
    return undefined;
  }

  // ── the root's own life ───────────────────────────────────────────────────

  /** Continue-as-new: the carried book through JSON and the carried state's schema; the search attribute stays. */
  continueAsNew(): void {
    const before = this.book.list();
    const carried = CarriedStateSchema.parse(JSON.parse(JSON.stringify({ ...ROOT_CARRIED_ELSE, ...this.book.carried() })));
    this.book = this.newBook(carried);
    this.book.start();
    this.generations += 1;
    if (this.pending.length > 0) this.expectedPublishes += 1; // the new run publishes its carried count once
    const kept = this.remembered.slice(-this.bound);
    for (const id of this.remembered.slice(0, this.remembered.length - kept.length)) this.requests.get(id)!.fate = { state: 'forgotten' };
    this.remembered = kept;
    expectThat(JSON.stringify(this.book.list()), 'the pending requests carried', JSON.stringify(before));
  }

  // ── the model ─────────────────────────────────────────────────────────────

  fateOf(requestId: string): string {
    return this.requests.get(requestId)?.fate.state ?? 'never raised';
  }

  decisionsOf(requestId: string): number {
    return this.requests.get(requestId)?.decisions ?? 0;
  }

  private becomesPending(requestId: string): void {
    this.pending.push(requestId);
    this.expectedPublishes += 1;
  }

  private closes(requestId: string, reason: string): void {
    this.pending = this.pending.filter((id) => id !== requestId);
    this.requests.get(requestId)!.fate = { state: 'closed', reason };
    this.remembered.push(requestId);
    this.expectedPublishes += 1;
  }

  /** A decision the book routed: to the session that asked, as it was given, once. */
  private routed(known: ModelRequest, route: DecisionRoute, expected: { decision: string; by: string; reason?: string; text?: string }): void {
    known.decisions += 1;
    const { sessionId, requestId } = known.request;
    expectThat(route.sessionId, `${requestId}'s decision goes to`, sessionId);
    expectThat(route.own, `${requestId}'s decision is the root's own`, sessionId === ROOT);
    expectThat(canonical(route.decision), `${requestId}'s decision`, canonical({ requestId, ...expected, decidedAt: new Date(this.clock).toISOString() }));
  }
}

function respondInput(requestId: string, variant: RespondVariant): { requestId: string; decision: string; reason?: string; text?: string } {
  switch (variant) {
    case 'approve':
      return { requestId, decision: 'approve' };
    case 'approve with reason':
      return { requestId, decision: 'approve', reason: 'looks fine' };
    case 'deny':
      return { requestId, decision: 'deny' };
    case 'deny with empty reason':
      return { requestId, decision: 'deny', reason: '' };
    case 'answer':
      return { requestId, decision: 'answer', text: 'the blue one' };
    case 'answer with empty text':
      return { requestId, decision: 'answer', text: '' };
    case 'unknown decision':
      return { requestId, decision: 'maybe' };
    case 'empty id':
      return { requestId: ' ', decision: 'deny' };
  }
}

/** JSON with sorted keys: two objects compare equal whatever their keys' order. */
const canonical = (value: object) => JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))));

function expectThat<T>(actual: T, what: string, expected: T): void {
  if (actual !== expected) throw new Error(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

/**
 * After every step. The refusal of every answered or closed id is checked after a
 * continue-as-new (what can change it) and at the end; after other steps, one id in turn (a
 * `respond` step checks its own id too) — all of them every step would cost most of the run.
 */
export function requestInvariant(w: RequestWorld, all = false): void {
  const listed = w.book.list().map((r) => r.requestId);
  expectThat(JSON.stringify(listed), 'the pending requests, in order', JSON.stringify(w.pending));
  expectThat(w.book.pendingCount, 'the pending count', w.pending.length);
  // The search attribute shows the pending count, upserted once per change (the commands the root emits).
  expectThat(w.attribute, 'BambooPendingRequests', w.pending.length);
  expectThat(w.publishes, 'upserts of BambooPendingRequests', w.expectedPublishes);
  for (const id of w.ids()) if (w.decisionsOf(id) > 1) throw new Error(`request ${id} was decided ${w.decisionsOf(id)} times`);
  // Nothing stuck: a pending request can be answered (a deny, or its kind's decision).
  for (const id of w.pending) {
    w.book.validate({ requestId: id, decision: 'deny' });
    w.book.validate({ requestId: id, ...(w.requests.get(id)!.request.kind === 'tool' ? { decision: 'approve' } : { decision: 'answer', text: 'yes' }) });
  }
  const ids = w.ids();
  const checked = all ? ids : ids.length ? [ids[w.steps % ids.length]] : [];
  for (const id of checked) if (w.fateOf(id) !== 'pending') expectRefused(w, id);
}

/** Answered, closed or forgotten: refused with its own reason (and not pending: the list above). */
function expectRefused(w: RequestWorld, id: string): void {
  let refusal: string | undefined;
  try {
    w.book.validate({ requestId: id, decision: 'deny' });
  } catch (error) {
    refusal = (error as Error).message;
  }
  expectThat(refusal, `respond to ${w.fateOf(id)} ${id}`, w.expectedRefusal(id, 'deny'));
}
