/**
 * Model-based tests of the root's request book (issue 25: every interleaving). fast-check
 * generates sequences of what a tree and a person may do — raises from the root or any
 * session of its tree (and the same raise again), closes from the session that asked
 * (expired, stopped waiting; duplicated, late, for ids never raised), the root closing its
 * own, the root expiring a child's request its session left past its expiry, `respond` with every decision (valid and invalid for the request's kind, inputs the
 * schema refuses, duplicates, unknown ids, after expiry; through the Update's validator or the
 * handler alone), a child run that ends (closeAllOf), continue-as-new through the carried
 * state's JSON and schema — and checks after every step, against a model of each id:
 *
 *  - a decision is accepted or routed at most once per request id;
 *  - a request answered or closed never becomes pending again, even raised again, and a
 *    `respond` to it is refused with its own reason (already answered / no longer waits:
 *    <reason>) — unless continue-as-new has dropped it past the bound of closed ids carried
 *    (modelled small here; CLOSED_REQUESTS_CARRIED in workflows): then it is unknown;
 *  - the pending list is the model's, in order, and the count published (BambooPendingRequests,
 *    which continue-as-new keeps) equals it, upserted once per change;
 *  - nothing is stuck: every pending request can be answered (a deny, or its kind's decision);
 *  - continue-as-new carries the pending requests exactly;
 *  - the root's sweep of stale requests (a child's, past its expiry by the grace: its session
 *    never closed it) expires exactly those, routes each one deny, and leaves the root's own;
 *
 * and at the end every pending request is answered or expires, leaving nothing pending.
 *
 * BAMBOO_MODEL_RUNS sets the number of sequences (default 3000; a soak: 200000).
 */
import fc from 'fast-check';
import { REQUEST_EXPIRED } from '../../common';
import { modelRuns, ModelStep, weighted } from '../helpers/model-runs';
import { requestInvariant, RequestWorld, ROOT, SESSIONS, STOPPED_WAITING, type RespondVariant } from '../helpers/request-book-model';

const RUNS = modelRuns(3000);

// Most steps make the book refuse something (an Error each) deep in fast-check's recursion:
// Jest's 100-frame stacks would double the run's time; ten frames still show where.
Error.stackTraceLimit = 10;

type World = RequestWorld;
type RequestCommand = fc.Command<World, World>;

/** A step of the world (a second later), then the invariants. */
const step = (name: string, applies: (w: Readonly<World>) => boolean, act: (w: World) => void): RequestCommand =>
  new ModelStep<World>(name, applies, (w) => {
    w.tick();
    const generation = w.generations;
    act(w);
    requestInvariant(w, w.generations !== generation);
  });
const any = (w: Readonly<World>) => w.requests.size > 0;
/** An id raised so far, or (index past them) one never raised. */
const idAt = (w: Readonly<World>, i: number) => w.ids()[i % (w.requests.size + 1)] ?? 'req-never-raised';

const VARIANTS: RespondVariant[] = ['approve', 'approve with reason', 'deny', 'deny with empty reason', 'answer', 'answer with empty text', 'unknown decision', 'empty id'];
const CLOSE_REASONS = [REQUEST_EXPIRED, REQUEST_EXPIRED, STOPPED_WAITING];

const commands: fc.Arbitrary<RequestCommand>[] = [
  ...weighted(
    3,
    fc.tuple(fc.nat(SESSIONS.length - 1), fc.constantFrom('tool' as const, 'question' as const), fc.nat(6)).map(([s, kind, timeout]) =>
      step(`raise(${SESSIONS[s]}, ${kind}, ${timeout} s)`, () => true, (w) => w.raise(SESSIONS[s], kind, timeout)),
    ),
  ),
  ...weighted(2, fc.nat().map((i) => step(`raiseAgain(${i})`, any, (w) => w.raiseAgain(w.ids()[i % w.requests.size])))),
  ...weighted(
    3,
    fc.tuple(fc.nat(), fc.nat(CLOSE_REASONS.length - 1)).map(([i, r]) =>
      step(`close(${i}, ${CLOSE_REASONS[r]})`, () => true, (w) => {
        const id = idAt(w, i);
        // The root's own requests close in its book directly (PersonRequests.close); the tree's by signal.
        if (w.requests.get(id)?.request.sessionId === ROOT) w.rootCloses(id, CLOSE_REASONS[r]);
        else w.closedBySession(id, CLOSE_REASONS[r]);
      }),
    ),
  ),
  ...weighted(
    5,
    fc.tuple(fc.nat(), fc.constantFrom(...VARIANTS), fc.nat(3)).map(([i, variant, v]) =>
      step(`respond(${i}, ${variant}${v === 0 ? ', handler alone' : ''})`, () => true, (w) => w.respond(idAt(w, i), variant, v !== 0)),
    ),
  ),
  ...weighted(1, fc.nat(SESSIONS.length - 2).map((s) => step(`closeAllOf(${SESSIONS[s + 1]})`, () => true, (w) => w.closeAllOf(SESSIONS[s + 1])))),
  ...weighted(1, fc.constant(null).map(() => step('continueAsNew', () => true, (w) => w.continueAsNew()))),
  ...weighted(2, fc.nat(3).map((grace) => step(`expireStale(grace ${grace} s)`, () => true, (w) => w.expireStale(grace * 1000)))),
];

/** Every request still pending is answered or expires: nothing is left waiting. */
function drain(w: World): void {
  for (const [n, id] of [...w.pending].entries()) {
    w.tick();
    const { sessionId } = w.requests.get(id)!.request;
    if (n % 2 === 0) w.respond(id, 'deny', true);
    else if (sessionId === ROOT) w.rootCloses(id, REQUEST_EXPIRED);
    else w.closedBySession(id, REQUEST_EXPIRED);
    requestInvariant(w);
  }
  requestInvariant(w, true);
  expect(w.book.list()).toEqual([]);
  expect(w.attribute).toBe(0);
}

test(`the root's request book: one decision per request, nothing pending again, the count published, carried across continue-as-new (${RUNS} sequences)`, () => {
  const bound = fc.integer({ min: 1, max: 4 });
  fc.assert(
    fc.property(bound, fc.commands(commands, { size: 'large', maxCommands: 60 }), (closedCarried, cmds) => {
      const world = new RequestWorld(closedCarried);
      fc.modelRun(() => ({ model: world, real: world }), cmds);
      drain(world);
    }),
    { numRuns: RUNS },
  );
});
