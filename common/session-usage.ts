/** Its own file, not spend.ts: it names budget and child types, and budget.ts and children.ts import spend.ts. */
import type { BudgetStatus } from './budget';
import type { TrackedChild } from './children';
import { addSpend, totalTokens, type Spend, type Usage } from './spend';

/** The `usage` query's answer: a session's own usage, each child's (with its subtree), the total. */
export interface SessionUsage {
  self: Usage;
  children: { childSessionId: string; usage: Usage; costMicroUsd: number; unpricedCalls: number }[];
  subtree: Usage;
  /** The subtree's priced calls in dollars (from whole micro-dollars); absent when none had a price. */
  costUsd?: number;
  costMicroUsd: number;
  /** Calls whose model has no price: their tokens count, their cost does not ("no price"). */
  unpricedCalls: number;
  /** Child runs started in the subtree (as the children reported them). */
  childRuns: number;
  /** With a budget: its limits, what was used, what running children hold, what is left. */
  budget?: BudgetStatus;
}

/**
 * A session's ledger as the `usage` query shows it. `childrenSpend` is the sum of every
 * child's reports, kept whole even when old children are no longer carried one by one.
 */
export function sessionUsage(
  self: Spend,
  children: Iterable<Pick<TrackedChild, 'childSessionId' | 'spend'>>,
  childrenSpend: Spend,
  budget?: BudgetStatus,
): SessionUsage {
  const subtree = addSpend(self, childrenSpend);
  const perChild = [...children]
    .filter((c) => c.spend)
    .map((c) => ({ childSessionId: c.childSessionId, usage: c.spend!.usage, costMicroUsd: c.spend!.costMicroUsd, unpricedCalls: c.spend!.unpricedCalls }));
  const priced = subtree.costMicroUsd > 0 || (subtree.unpricedCalls === 0 && totalTokens(subtree.usage) > 0);
  return {
    self: self.usage,
    children: perChild,
    subtree: subtree.usage,
    ...(priced ? { costUsd: subtree.costMicroUsd / 1_000_000 } : {}),
    costMicroUsd: subtree.costMicroUsd,
    unpricedCalls: subtree.unpricedCalls,
    childRuns: subtree.sessions ?? 0,
    ...(budget ? { budget } : {}),
  };
}

/** The subtree totals the `state` query carries. */
export function subtreeTotals(usage: SessionUsage): { subtreeUsage: Usage; subtreeCostMicroUsd: number } {
  return { subtreeUsage: usage.subtree, subtreeCostMicroUsd: usage.costMicroUsd };
}
