/** Usage and cost, and adding them up: per call, per run, per subtree. Pure; workflows and activities share it. */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import type { BudgetStatus } from './budget';
import type { TrackedChild } from './children';

/** Tokens as the provider (or external agent) reported them. Contract: docs/architecture.md#domain-model. */
export const UsageSchema = sharedSchema('spend.UsageSchema', () => z.object({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  /** Input tokens served from the provider's prompt cache (part of inputTokens), when it says. */
  cachedInputTokens: z.number().int().min(0).optional(),
}));
export type Usage = z.infer<typeof UsageSchema>;

/**
 * What some work cost: its usage and, for the calls whose model has a configured price, their
 * cost in whole micro-dollars (each call's cost is computed exactly in the worker and rounded
 * to the micro-dollar, so sums never drift). `unpricedCalls` counts calls with no price.
 */
export const SpendSchema = sharedSchema('spend.SpendSchema', () => z.object({
  usage: UsageSchema,
  costMicroUsd: z.number().int().min(0),
  unpricedCalls: z.number().int().min(0),
  /** Child runs started beneath (counted by each parent as its children report; absent: none). */
  sessions: z.number().int().min(0).optional(),
}));
export type Spend = z.infer<typeof SpendSchema>;

export const NO_SPEND: Readonly<Spend> = Object.freeze({ usage: { inputTokens: 0, outputTokens: 0 }, costMicroUsd: 0, unpricedCalls: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
  if (a.cachedInputTokens !== undefined || b.cachedInputTokens !== undefined) sum.cachedInputTokens = (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0);
  return sum;
}

export function addSpend(a: Spend, b: Spend): Spend {
  const sum: Spend = { usage: addUsage(a.usage, b.usage), costMicroUsd: a.costMicroUsd + b.costMicroUsd, unpricedCalls: a.unpricedCalls + b.unpricedCalls };
  if (a.sessions !== undefined || b.sessions !== undefined) sum.sessions = (a.sessions ?? 0) + (b.sessions ?? 0);
  return sum;
}

/** One model call's spend: its usage, and its cost when the model has a price. */
export function spendOfCall(usage: Usage, costMicroUsd: number | undefined): Spend {
  return { usage, costMicroUsd: costMicroUsd ?? 0, unpricedCalls: costMicroUsd === undefined ? 1 : 0 };
}

export function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens;
}

/** Micro-dollars as a dollar amount for people: `$0.001234`. */
export function formatUsd(costMicroUsd: number): string {
  const dollars = Math.floor(costMicroUsd / 1_000_000);
  return `$${dollars}.${String(costMicroUsd % 1_000_000).padStart(6, '0')}`;
}

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
