/** Adding up usage and cost: per call, per run, per subtree. Pure; workflows and activities share it. */
import type { Spend, Usage } from './run';

export const NO_SPEND: Readonly<Spend> = Object.freeze({ usage: { inputTokens: 0, outputTokens: 0 }, costMicroUsd: 0, unpricedCalls: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
  if (a.cachedInputTokens !== undefined || b.cachedInputTokens !== undefined) sum.cachedInputTokens = (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0);
  return sum;
}

export function addSpend(a: Spend, b: Spend): Spend {
  return { usage: addUsage(a.usage, b.usage), costMicroUsd: a.costMicroUsd + b.costMicroUsd, unpricedCalls: a.unpricedCalls + b.unpricedCalls };
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
