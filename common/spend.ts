/** Usage and cost, and adding them up: per call, per run, per subtree. Pure; workflows and activities share it. */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';

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
