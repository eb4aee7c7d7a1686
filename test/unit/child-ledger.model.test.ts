/**
 * Model-based tests of a parent's budget ledger over its children (workflows/child-ledger.ts,
 * common/budget.ts and ChildTracker's use of them), in the simulated world of
 * child-tracker.model.test.ts with budgets of tokens and child runs, children that spend up
 * to their share or one call past it, and the parent's own model calls. After every step:
 *
 *  - the ledger is exact: spent = the parent's calls + every report's spend (each run once) +
 *    the share of every run that closed without saying what it spent (terminated);
 *  - what the tree committed (spent + reserved) never passes a limit — the tokens by at most
 *    one call per session that ran: the parent call that crossed it, and each child run's call
 *    that crossed its share (a call's size is known when it returns; the session stops before
 *    its next);
 *  - the usage query's budget says the same: remaining = max(0, limit − spent − reserved);
 *  - continue-as-new carries the ledger exactly (spent, reserved, budget status);
 *
 * and once every run has closed: nothing reserved. Runs started elsewhere that report to the
 * parent spend outside any share: the limits are not checked once one has.
 *
 * BAMBOO_MODEL_RUNS sets the number of sequences (default 2000; a soak: 200000).
 */
import fc from 'fast-check';
import { NOTHING, type SessionOptionsInput } from '../../common';
import type { ChildTreeWorld } from '../helpers/child-tree-model';
import { firstSpawnsArb, modelRuns, runSequence, treeCommands, treeInvariant, treeSettled, type Invariant } from '../helpers/child-tree-commands';

const RUNS = modelRuns(2000);

/** What the ledger must say it spent, from the world's own record of runs and reports. */
function expectedSpent(w: ChildTreeWorld): { tokens: number; sessions: number } | undefined {
  let tokens = w.selfSpend.usage.inputTokens + w.selfSpend.usage.outputTokens;
  let sessions = 0;
  for (const run of w.runs.values()) {
    if (!w.fresh.has(`${run.childId}/${run.id}`)) continue;
    const spend = run.end?.subtreeSpend;
    if (spend) {
      tokens += spend.usage.inputTokens + spend.usage.outputTokens;
      sessions += 1;
    } else if (run.own) {
      // Closed without a report of its spend: its whole share is charged; it is one child run
      // (the share's sessions include it).
      tokens += run.share?.tokens ?? 0;
      sessions += Math.max(1, run.share?.sessions ?? 0);
    } else return undefined; // someone else's run, terminated: charged a waiting job's share or nothing
  }
  return { tokens, sessions };
}

const ledgerInvariant: Invariant = (w) => {
  const { tracker } = w;
  const spent = tracker.spent();
  const reserved = tracker.reserved();
  const expected = expectedSpent(w);
  if (expected && (spent.tokens !== expected.tokens || spent.sessions !== expected.sessions)) {
    throw new Error(`the ledger says spent ${JSON.stringify(spent)}, the runs ${JSON.stringify(expected)}`);
  }
  const budget = w.options.budget!;
  const status = tracker.budgetStatus()!;
  if (budget.maxTokens !== undefined && status.remaining.tokens !== Math.max(0, budget.maxTokens - spent.tokens - reserved.tokens)) {
    throw new Error(`budget status ${JSON.stringify(status)} disagrees with the ledger`);
  }
  if (w.foreignSpend) return;
  // Within one call per session that ran: the parent's largest, and each child run's that crossed its share.
  if (budget.maxTokens !== undefined && spent.tokens + reserved.tokens > budget.maxTokens + w.largestCall + w.childCallsOver) {
    throw new Error(`tokens committed ${spent.tokens + reserved.tokens} > maxTokens ${budget.maxTokens} + the largest parent call ${w.largestCall} + the child calls past their shares ${w.childCallsOver}`);
  }
  if (budget.maxSessions !== undefined && spent.sessions + reserved.sessions > budget.maxSessions) {
    throw new Error(`child runs committed ${spent.sessions + reserved.sessions} > maxSessions ${budget.maxSessions}`);
  }
};

const invariants = [treeInvariant, ledgerInvariant];

const optionsArb: fc.Arbitrary<SessionOptionsInput> = fc.record({
  maxRunningChildren: fc.integer({ min: 1, max: 3 }),
  waitPolicy: fc.constantFrom('all', 'any', 'first_error'),
  // Children of this parent cannot spawn: each child run is one session of the budget.
  maxSpawnDepth: fc.constant(1),
  budget: fc.record({ maxTokens: fc.integer({ min: 10, max: 300 }), maxSessions: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }) }),
});

const ledgerCommands = treeCommands(invariants, (step) => [
  ...[1, 2].map(() => fc.integer({ min: 1, max: 40 }).map((tokens) => step(`parentCall(${tokens} tokens)`, () => true, (w) => w.parentCall(tokens)))),
  fc.constant(null).map(() =>
    step('continueAsNew, the ledger compared', (w) => w.mayContinueAsNew(), (w) => {
      const before = { spent: w.tracker.spent(), reserved: w.tracker.reserved(), status: w.tracker.budgetStatus() };
      w.continueAsNew();
      expect({ spent: w.tracker.spent(), reserved: w.tracker.reserved(), status: w.tracker.budgetStatus() }).toEqual(before);
    }),
  ),
]);

test(`a parent's budget ledger: exact, within its limits and carried exactly after every step; nothing reserved once all runs close (${RUNS} sequences)`, () => {
  fc.assert(
    fc.property(optionsArb, firstSpawnsArb, fc.commands(ledgerCommands, { size: 'large', maxCommands: 60 }), (options, firstSpawns, cmds) =>
      runSequence(options, firstSpawns, cmds, invariants, (w) => {
        treeSettled(w);
        expect(w.tracker.reserved()).toEqual(NOTHING);
      }),
    ),
    { numRuns: RUNS },
  );
});
