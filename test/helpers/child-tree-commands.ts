/**
 * The commands and checks of the model-based tests of a parent's children (a ChildTreeWorld,
 * test/helpers/child-tree-model.ts), shared by the tests of its structure
 * (child-tracker.model.test.ts) and of its budget ledger (child-ledger.model.test.ts).
 */
import fc from 'fast-check';
import { NOTHING, type SessionOptionsInput, type TerminalRunStatus } from '../../common';
import { ChildTreeWorld } from './child-tree-model';

import { ModelStep, weighted } from './model-runs';

export { modelRuns } from './model-runs';

const STATUSES: TerminalRunStatus[] = ['completed', 'error', 'timeout', 'completed'];
const MAX_CHILDREN = 4;

type World = ChildTreeWorld;
export type TreeCommand = fc.Command<World, World>;
export type Invariant = (w: World) => void;

/** A step of the world, then the end of its workflow task, then the invariants. */
class Step extends ModelStep<World> {
  constructor(name: string, applies: (w: Readonly<World>) => boolean, act: (w: World) => void, invariants: readonly Invariant[]) {
    super(name, applies, (w) => {
      act(w);
      w.settle();
      for (const invariant of invariants) invariant(w);
    });
  }
}

const childAt = (w: Readonly<World>, i: number) => [...w.tracker.tracked.keys()][i % w.tracker.tracked.size];
const openAt = (w: Readonly<World>, i: number) => w.openRuns()[i % w.openRuns().length];

/** Everything that may happen to a parent's children, each followed by `invariants`. */
export function treeCommands(invariants: readonly Invariant[], extra: (step: StepMaker) => fc.Arbitrary<TreeCommand>[] = () => []): fc.Arbitrary<TreeCommand>[] {
  const step: StepMaker = (name, applies, act) => new Step(name, applies, act, invariants);
  return [
    ...weighted(1, fc.constant(null).map(() => step('spawn', (w) => !w.cancelling && w.tracker.tracked.size < MAX_CHILDREN, (w) => w.spawn()))),
    ...weighted(3, fc.tuple(fc.nat(), fc.nat(19)).map(([i, roll]) => step(`settleStart(${i}${roll === 0 ? ', fails' : ''})`, (w) => w.inFlight.length > 0, (w) => w.settleStart(i, roll === 0)))),
    ...weighted(
      3,
      // spent 4: its whole share and one call past it (a call's size is known when it returns).
      fc.tuple(fc.nat(), fc.nat(3), fc.nat(2), fc.nat(4), fc.integer({ min: 1, max: 40 })).map(([i, s, extra, spent, over]) =>
        step(`report(${i}, ${STATUSES[s]}, unanswered+${extra === 2 ? 1 : 0}, spent ${spent === 4 ? `its share + a call of ${over}` : `${spent}/3 of its share`})`, (w) => w.openRuns().some((r) => !r.reported), (w) => {
          const unreported = w.openRuns().filter((r) => !r.reported);
          w.report(unreported[i % unreported.length], STATUSES[s], extra === 2 ? 1 : 0, Math.min(spent, 3) / 3, spent === 4 ? over : 0);
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
    ...extra(step),
  ];
}

export type StepMaker = (name: string, applies: (w: Readonly<World>) => boolean, act: (w: World) => void) => TreeCommand;

/** The root's first turn: it spawned this many children. */
export const firstSpawnsArb = fc.integer({ min: 1, max: 3 });

/** Runs one generated sequence: the first spawns, the commands, then everything settles (no lease expiry) and `settled` checks the end. */
export function runSequence(options: SessionOptionsInput, firstSpawns: number, cmds: Iterable<TreeCommand>, invariants: readonly Invariant[], settled: Invariant): void {
  const world = new ChildTreeWorld(options);
  for (let i = 0; i < firstSpawns; i++) world.spawn();
  world.settle();
  fc.modelRun(() => ({ model: world, real: world }), cmds);
  drain(world, invariants);
  settled(world);
}

/** Lets everything finish, in order, with no lease expiry: starts settle, reports and closes arrive, runs close. */
function drain(w: World, invariants: readonly Invariant[]): void {
  for (let i = 0; i < 500; i++) {
    const open = w.openRuns();
    if (w.inFlight.length > 0) w.settleStart(0, false);
    else if (w.deliveries.length > 0) w.deliver(0);
    else if (open.length > 0) w.close(open[0], false);
    else return;
    w.settle();
    for (const invariant of invariants) invariant(w);
  }
  throw new Error('the world did not settle in 500 steps');
}

/** The structure's invariants, after every step. */
export const treeInvariant: Invariant = (w) => {
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
  if (tracker.runningCount() > w.options.maxRunningChildren) throw new Error(`${tracker.runningCount()} running > maxRunningChildren ${w.options.maxRunningChildren}`);
};

/** Once every run has closed and every report has arrived. */
export const treeSettled: Invariant = (w) => {
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
};
