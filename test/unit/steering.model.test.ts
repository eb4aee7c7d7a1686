/**
 * Model-based tests of steering (issue 25: every interleaving): the receipts of the Update
 * `steer` (workflows/steer-receipts.ts) together with the queue of injected messages they
 * guard, in a root and in a child run. fast-check generates sequences of steers and injected
 * messages, turns that begin (taking the queue once or twice), continue-as-new (when the
 * sessions allow it), a run that ends (in two steps, messages arriving in between) or a root
 * that goes idle, and checks after every step:
 *
 *  - the messages keep their order: the session's, then the queue's, are the order they arrived;
 *  - a steer has a receipt exactly once its message has left the queue, and returns one receipt,
 *    once; `hasQueued()` is true exactly while an accepted steer has no receipt;
 *  - a receipt's `mergedAtTurn` is the turn that began with its message, or null only when the
 *    run ended with it unmerged — its message then in the final session;
 *
 * and once the run has ended: every accepted steer returned exactly one receipt, nothing queued.
 *
 * BAMBOO_MODEL_RUNS sets the number of sequences (default 10000; a soak: 200000).
 */
import fc from 'fast-check';
import { modelRuns, ModelStep, weighted } from '../helpers/model-runs';
import { steeringEnded, steeringInvariant, SteeringWorld, type Flavour } from '../helpers/steering-model';

const RUNS = modelRuns(10000);

type World = SteeringWorld;
type SteeringCommand = fc.Command<World, World>;

/** A step of the world, the end of its workflow task, then the invariants. */
const step = (name: string, applies: (w: Readonly<World>) => boolean, act: (w: World) => void) =>
  fc.constant(null).map(
    (): SteeringCommand =>
      new ModelStep<World>(name, applies, (w) => {
        w.tick();
        act(w);
        w.settle();
        steeringInvariant(w);
      }),
  );
const running = (w: Readonly<World>) => w.status === 'running';
/** A command that applies one draw in four (fast-check skips the others). */
const rarely = (arb: fc.Arbitrary<SteeringCommand>) =>
  fc.tuple(arb, fc.nat(3)).map(([cmd, roll]): SteeringCommand => (roll === 0 ? cmd : new ModelStep<World>(`${cmd.toString()} (not drawn)`, () => false, () => undefined)));

const commands: fc.Arbitrary<SteeringCommand>[] = [
  ...weighted(4, step('steer', running, (w) => w.steer())),
  ...weighted(2, step('inject', (w) => w.status !== 'ended', (w) => w.inject())),
  ...weighted(2, step('beginTurn', running, (w) => w.beginTurn(false))),
  ...weighted(1, step('beginTurn(taken twice)', running, (w) => w.beginTurn(true))),
  ...weighted(1, step('continueAsNew', (w) => w.mayContinueAsNew(), (w) => w.continueAsNew())),
  // Rare: a run that ends takes no more steers, and the rest of its sequence is short.
  ...weighted(1, rarely(step('beginEnd', running, (w) => w.beginEnd()))),
  ...weighted(1, step('finishEnd', (w) => w.status === 'closing', (w) => w.finishEnd())),
  ...weighted(1, rarely(step('idleEnd', (w) => w.flavour === 'root' && running(w) && w.queue.length === 0, (w) => w.idleEnd()))),
];

test(`steering: one receipt per steer, at the turn that merged it (or null in the final session), messages in order (${RUNS} sequences)`, () => {
  const flavour = fc.constantFrom<Flavour>('root', 'child');
  fc.assert(
    fc.property(flavour, fc.commands(commands, { size: 'large', maxCommands: 60 }), (kind, cmds) => {
      const world = new SteeringWorld(kind);
      fc.modelRun(() => ({ model: world, real: world }), cmds);
      // A run still open ends (cancelled, or finished).
      if (world.status === 'running') world.beginEnd();
      if (world.status === 'closing') world.finishEnd();
      world.settle();
      steeringInvariant(world);
      steeringEnded(world);
    }),
    { numRuns: RUNS },
  );
});
