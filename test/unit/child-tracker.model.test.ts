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
 *  - a budget share is held only for a child with a job or a run of its own;
 *  - never more runs running than `maxRunningChildren`;
 *  - no run's report is applied twice, and until a run this parent started has been reported,
 *    its child is running that run;
 *
 * and, once every run has closed and every report has arrived (no lease expiry needed): the
 * report of every run it started, and of every run that reported, applied exactly once, no
 * follow-up vanished (each started a run, was answered, refused, or ended with its run), no child pending or running, nothing reserved, the wait
 * over — the parent can go idle.
 *
 * BAMBOO_MODEL_RUNS sets the number of sequences (default 3000; a soak: 200000). The world and
 * its commands: test/helpers/child-tree-model.ts, test/helpers/child-tree-commands.ts.
 */
import fc from 'fast-check';
import type { SessionOptionsInput } from '../../common';
import { firstSpawnsArb, modelRuns, runSequence, treeCommands, treeInvariant, treeSettled } from '../helpers/child-tree-commands';

const RUNS = modelRuns(3000);

const optionsArb: fc.Arbitrary<SessionOptionsInput> = fc.record({
  maxRunningChildren: fc.integer({ min: 1, max: 3 }),
  waitPolicy: fc.constantFrom('all', 'any', 'first_error'),
  budget: fc.option(fc.record({ maxSessions: fc.integer({ min: 1, max: 8 }) }), { nil: undefined }),
});

test(`a parent's children: invariants after every step, and every run reported once when all have closed (${RUNS} sequences)`, () => {
  const commands = fc.commands(treeCommands([treeInvariant]), { size: 'large', maxCommands: 60 });
  fc.assert(
    fc.property(optionsArb, firstSpawnsArb, commands, (options, firstSpawns, cmds) => runSequence(options, firstSpawns, cmds, [treeInvariant], treeSettled)),
    { numRuns: RUNS },
  );
});
