/**
 * Model-based tests of a parent's children (issue 25: every interleaving, not only every
 * fault). fast-check generates sequences of what the parent, its child runs and Temporal may
 * do — spawns, starts that settle or find a run open, reports, closes in any order (late,
 * terminated, duplicated), follow-ups, cancellations, lease expiries, continue-as-new through
 * the carried state's schema, runs started by someone else — and checks after every step:
 *
 *  - every running child has a watch that can still resolve (a start waiting for an open run:
 *    a watch of the session's current run; else a watch of its own run, not yet reported);
 *  - a child has at most one job (queued, starting, or waiting for an open run);
 *  - a budget share is held only for a child with a job or a run of its own, and the tree's
 *    child runs never pass `maxSessions` (runs started elsewhere aside);
 *  - never more runs running than `maxRunningChildren`;
 *  - no run's report is applied twice, and until a run this parent started has been reported,
 *    its child is running that run;
 *
 * and, once every run has closed and every report has arrived (no lease expiry needed): the
 * report of every run it started, and of every run that reported, applied exactly once, no
 * follow-up vanished (each started a run, was answered, refused, or ended with its run), no child pending or running, nothing reserved, the wait
 * over — the parent can go idle.
 *
 * BAMBOO_MODEL_RUNS sets the number of sequences (default 3000; a soak: 200000).
 */
import fc from 'fast-check';
import { NOTHING, type SessionOptionsInput, type TerminalRunStatus } from '../../common';
import { ChildTreeWorld } from '../helpers/child-tree-model';

const RUNS = Number(process.env.BAMBOO_MODEL_RUNS ?? 3000);
const STATUSES: TerminalRunStatus[] = ['completed', 'error', 'timeout', 'completed'];
const MAX_CHILDREN = 4;

type World = ChildTreeWorld;
type Cmd = fc.Command<World, World>;

/** A step of the world, then the end of its workflow task, then the invariants. */
class Step implements Cmd {
  constructor(
    private readonly name: string,
    private readonly applies: (w: Readonly<World>) => boolean,
    private readonly act: (w: World) => void,
  ) {}
  check(w: Readonly<World>): boolean {
    return this.applies(w);
  }
  run(_model: World, w: World): void {
    this.act(w);
    w.settle();
    checkInvariants(w);
  }
  toString(): string {
    return this.name;
  }
}

const step = (name: string, applies: (w: Readonly<World>) => boolean, act: (w: World) => void): Cmd => new Step(name, applies, act);

const childAt = (w: Readonly<World>, i: number) => [...w.tracker.tracked.keys()][i % w.tracker.tracked.size];
const openAt = (w: Readonly<World>, i: number) => w.openRuns()[i % w.openRuns().length];

/** `n` copies of a command's arbitrary: how often it is drawn against the others. */
const weighted = (n: number, arb: fc.Arbitrary<Cmd>) => Array.from({ length: n }, () => arb);

const commands = [
  ...weighted(1, fc.constant(null).map(() => step('spawn', (w) => !w.cancelling && w.tracker.tracked.size < MAX_CHILDREN, (w) => w.spawn()))),
  ...weighted(3, fc.tuple(fc.nat(), fc.nat(19)).map(([i, roll]) => step(`settleStart(${i}${roll === 0 ? ', fails' : ''})`, (w) => w.inFlight.length > 0, (w) => w.settleStart(i, roll === 0)))),
  ...weighted(
    3,
    fc.tuple(fc.nat(), fc.nat(3), fc.nat(2)).map(([i, s, extra]) =>
      step(`report(${i}, ${STATUSES[s]}, unanswered+${extra === 2 ? 1 : 0})`, (w) => w.openRuns().some((r) => !r.reported), (w) => {
        const unreported = w.openRuns().filter((r) => !r.reported);
        w.report(unreported[i % unreported.length], STATUSES[s], extra === 2 ? 1 : 0);
      }),
    ),
  ),
  ...weighted(3, fc.tuple(fc.nat(), fc.nat(3)).map(([i, t]) => step(`close(${i}${t === 0 ? ', terminated' : ''})`, (w) => w.openRuns().length > 0, (w) => w.close(openAt(w, i), t === 0)))),
  ...weighted(5, fc.nat().map((i) => step(`deliver(${i})`, (w) => w.deliveries.length > 0, (w) => w.deliver(i)))),
  ...weighted(1, fc.nat().map((i) => step(`duplicateSignal(${i})`, (w) => w.signalsSent.length > 0, (w) => w.duplicateSignal(i)))),
  ...weighted(
    3,
    fc.tuple(fc.nat(), fc.boolean()).map(([i, answered]) =>
      step(`sendMessage(${i}, ${answered ? 'answered' : 'left unanswered'})`, (w) => !w.cancelling && w.tracker.tracked.size > 0, (w) => w.sendMessage(childAt(w, i), answered)),
    ),
  ),
  ...weighted(1, fc.nat().map((i) => step(`cancelOne(${i})`, (w) => w.tracker.tracked.size > 0, (w) => w.cancelOne(childAt(w, i))))),
  ...weighted(1, fc.constant(null).map(() => step('leaseExpires', (w) => w.tracker.waiting !== null, (w) => w.leaseExpires()))),
  ...weighted(1, fc.constant(null).map(() => step('continueAsNew', (w) => w.mayContinueAsNew(), (w) => w.continueAsNew()))),
  ...weighted(1, fc.nat().map((i) => step(`startForeignRun(${i})`, (w) => w.tracker.tracked.size > 0, (w) => w.startForeignRun(childAt(w, i))))),
  // Rare: the parent is cancelled, and after that spawns and follow-ups stop.
  fc.constant(null).map(() => step('cancelAll', (w) => !w.cancelling, (w) => w.cancelAll())),
];

const optionsArb: fc.Arbitrary<SessionOptionsInput> = fc.record({
  maxRunningChildren: fc.integer({ min: 1, max: 3 }),
  waitPolicy: fc.constantFrom('all', 'any', 'first_error'),
  budget: fc.option(fc.record({ maxSessions: fc.integer({ min: 1, max: 8 }) }), { nil: undefined }),
});
/** The root's first turn: it spawned this many children. */
const firstSpawnsArb = fc.integer({ min: 1, max: 3 });

function checkInvariants(w: World): void {
  const { tracker } = w;
  const jobs = new Map<string, number>();
  for (const queued of [...tracker.carried(false).queued, ...w.inFlight]) jobs.set(queued.childSessionId, (jobs.get(queued.childSessionId) ?? 0) + 1);
  for (const child of tracker.tracked.values()) {
    const id = child.childSessionId;
    if ((jobs.get(id) ?? 0) > 1) throw new Error(`child ${id} has ${jobs.get(id)} jobs`);
    if (child.status === 'running') {
      const watched = tracker.isDeferred(id) ? w.watches.has(id, undefined) : child.runId !== undefined && !w.fresh.has(`${id}/${child.runId}`) && w.watches.has(id, child.runId);
      if (!watched) throw new Error(`child ${id} is running with no run that can still close (${JSON.stringify(child)})`);
    }
    if (child.reservation && child.status !== 'running' && !jobs.has(id)) throw new Error(`child ${id} holds a share with no job or run (${child.status})`);
  }
  for (const [key, n] of w.fresh) if (n > 1) throw new Error(`the report of ${key} was applied ${n} times`);
  // A run this parent started is the child's state until its report is applied (another run's report never finishes it).
  for (const run of w.runs.values()) {
    if (!run.own || w.fresh.has(`${run.childId}/${run.id}`)) continue;
    const child = tracker.child(run.childId);
    if (child?.status !== 'running' || child.runId !== run.id) throw new Error(`run ${run.id} is not reported yet but its child is ${JSON.stringify(child)}`);
  }
  const limit = w.options.budget?.maxSessions;
  if (limit !== undefined && !w.foreignSpend) {
    const committed = tracker.spent().sessions + tracker.reserved().sessions;
    if (committed > limit) throw new Error(`child runs committed ${committed} > maxSessions ${limit}`);
  }
  if (tracker.runningCount() > w.options.maxRunningChildren) throw new Error(`${tracker.runningCount()} running > maxRunningChildren ${w.options.maxRunningChildren}`);
}

/** Lets everything finish, in order, with no lease expiry: starts settle, runs close, reports arrive. */
function drain(w: World): void {
  for (let i = 0; i < 500; i++) {
    const open = w.openRuns();
    if (w.inFlight.length > 0) w.settleStart(0, false);
    else if (w.deliveries.length > 0) w.deliver(0);
    else if (open.length > 0) w.close(open[0], false);
    else return;
    w.settle();
    checkInvariants(w);
  }
  throw new Error('the world did not settle in 500 steps');
}

function checkSettled(w: World): void {
  drain(w);
  const { tracker } = w;
  const unsettled = [...tracker.tracked.values()].filter((c) => c.status === 'pending' || c.status === 'running');
  expect(unsettled).toEqual([]);
  expect(tracker.runningCount()).toBe(0);
  expect(tracker.reserved()).toEqual(NOTHING);
  expect(tracker.waiting === null || tracker.waitSatisfied()).toBe(true);
  expect(tracker.hasAwaitedChildren()).toBe(false);
  // Every run the parent started, and every run that reported, applied exactly once (a run
  // started elsewhere and terminated before it could report is one the parent never knew of).
  const applied = (id: string) => w.fresh.get(`${w.runs.get(id)!.childId}/${id}`) ?? 0;
  const mustApply = [...w.runs.values()].filter((r) => r.own || r.reported).map((r) => r.id);
  expect(mustApply.filter((id) => applied(id) !== 1)).toEqual([]);
  // No follow-up vanished: each started a run, was answered, was refused to the model, or ended
  // with its run, its failed start or its cancelled job — or waits, on its finished child or
  // unanswered in its last run's snapshot, for a next run the budget refused.
  const lost = [...w.messages].filter(([message, { childId, fate }]) => {
    const child = tracker.child(childId);
    const waiting = child?.pendingMessages?.includes(message) || [...w.runs.values()].some((r) => r.end?.status === 'completed' && r.followUpsUnanswered.includes(message));
    return !fate && !(w.options.budget && waiting);
  });
  expect(lost.map(([message, { childId }]) => `${message} to ${childId}: ${JSON.stringify(tracker.child(childId))}`)).toEqual([]);
}

test(`a parent's children: invariants after every step, and every run reported once when all have closed (${RUNS} sequences)`, () => {
  fc.assert(
    fc.property(optionsArb, firstSpawnsArb, fc.commands(commands, { size: 'large', maxCommands: 60 }), (options, firstSpawns, cmds) => {
      const world = new ChildTreeWorld(options);
      for (let i = 0; i < firstSpawns; i++) world.spawn();
      world.settle();
      fc.modelRun(() => ({ model: world, real: world }), cmds);
      checkSettled(world);
    }),
    { numRuns: RUNS },
  );
});
