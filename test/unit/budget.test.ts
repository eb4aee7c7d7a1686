/**
 * Tree budgets as plain arithmetic (common/budget.ts) and as the parent's ledger
 * (workflows/child-tracker.ts): shares, refusals with the contract's text, reservations
 * released or charged, and what continue-as-new carries.
 */
import {
  allotment,
  BudgetSchema,
  budgetExceededMessage,
  firstExhausted,
  limitsOf,
  MODEL_CALL_RESOURCES,
  SessionOptionsSchema,
  type ChildCompletion,
  type SessionOptionsInput,
  type Spend,
} from '../../common';
import { ChildTracker, type CarriedChildren } from '../../workflows/child-tracker';

const spendOf = (input: number, output: number, costMicroUsd = 0, sessions?: number): Spend => ({
  usage: { inputTokens: input, outputTokens: output },
  costMicroUsd,
  unpricedCalls: 0,
  ...(sessions !== undefined ? { sessions } : {}),
});

describe('budget arithmetic', () => {
  it('writes the contract text, cost in dollars', () => {
    expect(budgetExceededMessage('tokens', 1200, 1000)).toBe('Session budget exceeded: tokens (1200/1000)');
    expect(budgetExceededMessage('cost', 10_500, 10_000)).toBe('Session budget exceeded: cost ($0.010500/$0.010000)');
    expect(budgetExceededMessage('sessions', 3, 3)).toBe('Session budget exceeded: sessions (3/3)');
  });

  it('converts dollars to whole micro-dollars exactly', () => {
    expect(limitsOf({ maxCostUsd: 0.1 })).toEqual({ costMicroUsd: 100_000 });
    expect(limitsOf({ maxCostUsd: 0.000001 })).toEqual({ costMicroUsd: 1 });
    expect(limitsOf({ maxCostUsd: 12.345678 })).toEqual({ costMicroUsd: 12_345_678 });
  });

  it('a model call needs something left of tokens and cost; sessions do not matter to it', () => {
    const limits = limitsOf({ maxTokens: 1000, maxCostUsd: 0.01, maxSessions: 0 });
    expect(firstExhausted(limits, { tokens: 999, costMicroUsd: 9_999, sessions: 5 }, MODEL_CALL_RESOURCES)).toBeUndefined();
    expect(firstExhausted(limits, { tokens: 1000, costMicroUsd: 0, sessions: 0 }, MODEL_CALL_RESOURCES)).toBe('Session budget exceeded: tokens (1000/1000)');
    expect(firstExhausted(limits, { tokens: 0, costMicroUsd: 10_001, sessions: 0 }, MODEL_CALL_RESOURCES)).toBe('Session budget exceeded: cost ($0.010001/$0.010000)');
  });

  it('the spawns of one round share what is left evenly with the parent', () => {
    const limits = limitsOf({ maxTokens: 900, maxCostUsd: 0.0009 });
    const first = allotment(limits, { tokens: 0, costMicroUsd: 0, sessions: 0 }, 2, false);
    expect(first).toEqual({ ok: true, reservation: { tokens: 300, costMicroUsd: 300, sessions: 0 }, childBudget: { maxTokens: 300, maxCostUsd: 0.0003 } });
    const second = allotment(limits, { tokens: 300, costMicroUsd: 300, sessions: 0 }, 1, false);
    expect(second).toEqual(first); // the parent keeps the last third
  });

  it('each spawn takes one child run; a child that may spawn gets a share of the rest', () => {
    const limits = limitsOf({ maxSessions: 10 });
    const canSpawn = allotment(limits, { tokens: 0, costMicroUsd: 0, sessions: 0 }, 1, true);
    expect(canSpawn).toEqual({ ok: true, reservation: { tokens: 0, costMicroUsd: 0, sessions: 5 }, childBudget: { maxSessions: 4 } });
    const leaf = allotment(limits, { tokens: 0, costMicroUsd: 0, sessions: 0 }, 1, false);
    expect(leaf).toEqual({ ok: true, reservation: { tokens: 0, costMicroUsd: 0, sessions: 1 }, childBudget: { maxSessions: 0 } });
  });

  it('refuses a spawn with nothing left, or with too little to give the child any', () => {
    expect(allotment(limitsOf({ maxSessions: 2 }), { tokens: 0, costMicroUsd: 0, sessions: 2 }, 1, false)).toEqual({
      ok: false,
      message: 'Session budget exceeded: sessions (2/2)',
    });
    expect(allotment(limitsOf({ maxTokens: 101 }), { tokens: 100, costMicroUsd: 0, sessions: 0 }, 1, false)).toEqual({
      ok: false,
      message: 'Session budget exceeded: tokens (100/101)',
    });
  });

  it('rejects budgets users could not mean, naming the field', () => {
    expect(SessionOptionsSchema.safeParse({ budget: { maxTokens: 0 } }).success).toBe(false);
    expect(SessionOptionsSchema.safeParse({ budget: { maxCostUsd: -1 } }).success).toBe(false);
    expect(SessionOptionsSchema.safeParse({ budget: { maxSessions: 1.5 } }).success).toBe(false);
    const unknown = BudgetSchema.safeParse({ maxToken: 5 });
    expect(unknown.success).toBe(false);
    expect(JSON.stringify(unknown.error?.issues)).toContain('maxToken');
  });
});

describe('the parent ledger (ChildTracker)', () => {
  const PARENT = 'parent-1';
  function setup(options: SessionOptionsInput, self: { spend: Spend }, carried?: CarriedChildren, parentDepth = 0) {
    return new ChildTracker({
      parentSessionId: PARENT,
      options: SessionOptionsSchema.parse(options),
      events: { add: () => undefined },
      now: () => Date.parse('2030-01-01T00:00:00Z'),
      carried,
      parentDepth,
      selfSpend: () => self.spend,
    });
  }
  const completion = (childSessionId: string, runId: string, extra: Partial<ChildCompletion> = {}): ChildCompletion => ({
    parentSessionId: PARENT,
    childSessionId,
    runId,
    status: 'completed',
    completedAt: '2030-01-01T00:00:00Z',
    ...extra,
  });
  function spawn(tracker: ChildTracker, id: string, spawnsLeft = 1) {
    const share = tracker.reserve(spawnsLeft);
    if (!share.ok) return share;
    tracker.enqueue({ parentSessionId: PARENT, childSessionId: id, model: 'm', spawnOptions: tracker.optionsFor(share.childBudget) }, id, share.reservation);
    const next = tracker.nextStart()!;
    tracker.started(tracker.child(next.childSessionId)!, `${id}-run1`);
    tracker.startSettled(next);
    return { ...share, job: next };
  }

  it('without a budget nothing is reserved and nothing is refused', () => {
    const tracker = setup({}, { spend: spendOf(10_000, 10_000) });
    expect(tracker.reserve(1)).toEqual({ ok: true });
    expect(tracker.exhausted()).toBeUndefined();
    expect(tracker.budgetStatus()).toBeUndefined();
  });

  it('reserves a share at spawn, releases it at the report, and counts what was spent and the run', () => {
    const self = { spend: spendOf(60, 40) };
    const tracker = setup({ budget: { maxTokens: 1000, maxSessions: 5 } }, self);
    const a = spawn(tracker, 'a');
    expect(a).toMatchObject({ ok: true, childBudget: { maxTokens: 450, maxSessions: 0 } });
    expect(tracker.budgetStatus()).toMatchObject({ used: { tokens: 100, sessions: 0 }, reserved: { tokens: 450, sessions: 1 }, remaining: { tokens: 450, sessions: 4 } });
    expect(tracker.onCompletion(completion('a', 'a-run1', { subtreeSpend: spendOf(300, 200, 0, 2) }))).toBe(true);
    expect(tracker.budgetStatus()).toMatchObject({ used: { tokens: 600, sessions: 3 }, reserved: { tokens: 0, sessions: 0 }, remaining: { tokens: 400, sessions: 2 } });
    // A duplicate of the same report changes nothing.
    expect(tracker.onCompletion(completion('a', 'a-run1', { subtreeSpend: spendOf(300, 200, 0, 2) }))).toBe(false);
    expect(tracker.budgetStatus()?.used).toMatchObject({ tokens: 600, sessions: 3 });
  });

  it('a run that closes without a report of its spend is charged its whole share', () => {
    const tracker = setup({ budget: { maxTokens: 1000 } }, { spend: spendOf(0, 0) });
    spawn(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', { status: 'error', error: 'Child session run was terminated: by an operator' }));
    expect(tracker.budgetStatus()).toMatchObject({ used: { tokens: 500 }, reserved: { tokens: 0 }, remaining: { tokens: 500 } });
    // …and continue-as-new carries the charge.
    const next = setup({ budget: { maxTokens: 1000 } }, { spend: spendOf(0, 0) }, tracker.carried(true));
    expect(next.budgetStatus()).toMatchObject({ used: { tokens: 500 }, remaining: { tokens: 500 } });
  });

  it('a queued child cancelled before it started gives its share back', () => {
    const tracker = setup({ budget: { maxTokens: 1000 }, maxRunningChildren: 1 }, { spend: spendOf(0, 0) });
    spawn(tracker, 'a');
    const share = tracker.reserve(1);
    if (!share.ok) throw new Error(share.message);
    tracker.enqueue({ parentSessionId: PARENT, childSessionId: 'b', model: 'm' }, 'b', share.reservation);
    expect(tracker.budgetStatus()?.reserved.tokens).toBe(750);
    expect(tracker.routeCancel('b')).toMatchObject({ kind: 'answered' });
    expect(tracker.budgetStatus()?.reserved.tokens).toBe(500);
  });

  it('continue-as-new carries the reservations of running children', () => {
    const tracker = setup({ budget: { maxTokens: 1000 } }, { spend: spendOf(0, 0) });
    spawn(tracker, 'a');
    const next = setup({ budget: { maxTokens: 1000 } }, { spend: spendOf(0, 0) }, tracker.carried(true));
    expect(next.budgetStatus()).toMatchObject({ reserved: { tokens: 500 }, remaining: { tokens: 500 } });
    next.onCompletion(completion('a', 'a-run1', { subtreeSpend: spendOf(100, 100) }));
    expect(next.budgetStatus()).toMatchObject({ used: { tokens: 200 }, reserved: { tokens: 0 }, remaining: { tokens: 800 } });
  });

  it('a model call is refused once spent and reserved reach the limit, with the contract text', () => {
    const self = { spend: spendOf(300, 300) };
    const tracker = setup({ budget: { maxTokens: 1000 } }, self);
    spawn(tracker, 'a'); // reserves 200 of the 400 left
    expect(tracker.exhausted()).toBeUndefined();
    self.spend = spendOf(500, 300);
    expect(tracker.exhausted()).toBe('Session budget exceeded: tokens (1000/1000)');
  });

  it('a follow-up run reserves a new share; one the budget cannot afford is refused', () => {
    const tracker = setup({ budget: { maxTokens: 1000, maxSessions: 1 } }, { spend: spendOf(0, 0) });
    spawn(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', { subtreeSpend: spendOf(10, 10) }));
    const route = tracker.routeMessage('a', 'one more thing');
    expect(route.kind).toBe('restart');
    if (route.kind !== 'restart') return;
    expect(tracker.restartWithMessage(route.child, 'one more thing', true)).toEqual({ ok: false, content: 'Error: Session budget exceeded: sessions (1/1)' });
    expect(tracker.child('a')?.status).toBe('completed');
  });

  it('a child passes its own children a share of its share', () => {
    const tracker = setup({ budget: { maxTokens: 1000, maxSessions: 6 }, maxSpawnDepth: 2 }, { spend: spendOf(0, 0) });
    const a = spawn(tracker, 'a');
    if (!a.ok || !('job' in a)) throw new Error('refused');
    expect(a.job.spawnOptions?.budget).toEqual({ maxTokens: 500, maxSessions: 2 });
    // The child's own tracker, at depth 1 under the same maxSpawnDepth, works within it.
    const child = setup({ ...a.job.spawnOptions }, { spend: spendOf(100, 100) }, undefined, 1);
    expect(child.reserve(1)).toEqual({ ok: true, reservation: { tokens: 150, costMicroUsd: 0, sessions: 1 }, childBudget: { maxTokens: 150, maxSessions: 0 } });
  });
});
