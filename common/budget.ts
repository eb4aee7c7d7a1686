/**
 * Budgets for a whole session tree: tokens, cost and child runs. Pure arithmetic shared by
 * every session that spawns (root or child) — see docs/architecture.md#budgets.
 *
 * A session's budget bounds its whole subtree. What it has *committed* is what it spent (its
 * own model calls, its children's reports) plus what it reserved for children still queued
 * or running. A model call is made only while every limit has something left; a spawn
 * reserves a share of what is left and gives the child a budget of exactly that share, so
 * siblings running at once can never together pass their parent's limit.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { formatUsd, type Spend } from './spend';

export const MAX_BUDGET_TOKENS = 1_000_000_000_000;
export const MAX_BUDGET_USD = 1_000_000;
export const MAX_BUDGET_SESSIONS = 100_000;

export const BudgetSchema = sharedSchema('budget.BudgetSchema', () => z
  .object({
    /** Input plus output tokens of every model call in the tree. */
    maxTokens: z.number().int().positive().max(MAX_BUDGET_TOKENS, `must be at most ${MAX_BUDGET_TOKENS}`).optional(),
    /** Dollars of the tree's priced calls (calls to a model without a price cost nothing here). */
    maxCostUsd: z.number().positive().max(MAX_BUDGET_USD, `must be at most ${MAX_BUDGET_USD}`).optional(),
    /** Child runs the tree may start (spawns and follow-up runs, at every depth). */
    maxSessions: z.number().int().min(0).max(MAX_BUDGET_SESSIONS, `must be at most ${MAX_BUDGET_SESSIONS}`).optional(),
  })
  .strict());
export type Budget = z.infer<typeof BudgetSchema>;

/** Amounts in the ledger's own units: whole tokens, whole micro-dollars, child runs. */
export interface Amounts {
  tokens: number;
  costMicroUsd: number;
  sessions: number;
}
export type Resource = 'tokens' | 'cost' | 'sessions';

export const NOTHING: Readonly<Amounts> = Object.freeze({ tokens: 0, costMicroUsd: 0, sessions: 0 });

export function addAmounts(a: Amounts, b: Amounts): Amounts {
  return { tokens: a.tokens + b.tokens, costMicroUsd: a.costMicroUsd + b.costMicroUsd, sessions: a.sessions + b.sessions };
}

export function amountsOfSpend(spend: Spend): Amounts {
  return { tokens: spend.usage.inputTokens + spend.usage.outputTokens, costMicroUsd: spend.costMicroUsd, sessions: spend.sessions ?? 0 };
}

/** Dollars to whole micro-dollars (a budget of $0.10 is 100,000 µ$). */
export function usdToMicro(usd: number): number {
  return Math.round(usd * 1_000_000);
}

/** A budget's limits in ledger units; a resource without a limit is absent. */
export interface Limits {
  tokens?: number;
  costMicroUsd?: number;
  sessions?: number;
}

export function limitsOf(budget: Budget): Limits {
  return {
    ...(budget.maxTokens !== undefined ? { tokens: budget.maxTokens } : {}),
    ...(budget.maxCostUsd !== undefined ? { costMicroUsd: usdToMicro(budget.maxCostUsd) } : {}),
    ...(budget.maxSessions !== undefined ? { sessions: budget.maxSessions } : {}),
  };
}

const KEY: Record<Resource, keyof Amounts> = { tokens: 'tokens', cost: 'costMicroUsd', sessions: 'sessions' };

/** The contract's text: `Session budget exceeded: <tokens|cost|sessions> (<used>/<limit>)`. */
export function budgetExceededMessage(resource: Resource, used: number, limit: number): string {
  const show = resource === 'cost' ? formatUsd : String;
  return `Session budget exceeded: ${resource} (${show(used)}/${show(limit)})`;
}

/** The first of `resources` with nothing left, as the contract's text; undefined when all have some. */
export function firstExhausted(limits: Limits, committed: Amounts, resources: readonly Resource[]): string | undefined {
  for (const resource of resources) {
    const limit = limits[KEY[resource]];
    if (limit !== undefined && committed[KEY[resource]] >= limit) return budgetExceededMessage(resource, committed[KEY[resource]], limit);
  }
  return undefined;
}

/** Resources a model call needs something left of. */
export const MODEL_CALL_RESOURCES: readonly Resource[] = ['tokens', 'cost'];
/** Resources a spawn needs something left of (a child run, and room for its calls). */
export const SPAWN_RESOURCES: readonly Resource[] = ['sessions', 'tokens', 'cost'];

export type Allotment =
  | { ok: true; reservation: Amounts; childBudget: Budget }
  | { ok: false; message: string };

/**
 * A child's share of what is left: an even split between the spawns still to be handled in
 * this round (`spawnsLeft`, this one included) and the parent itself, which needs some to
 * read their answers. Each spawn takes one child run from the session limit; a child that
 * cannot spawn gets no sessions of its own.
 */
export function allotment(limits: Limits, committed: Amounts, spawnsLeft: number, childMaySpawn: boolean): Allotment {
  const refused = firstExhausted(limits, committed, SPAWN_RESOURCES);
  if (refused) return { ok: false, message: refused };
  const shares = Math.max(1, spawnsLeft) + 1;
  const share = (limit: number | undefined, used: number) => (limit === undefined ? undefined : Math.floor((limit - used) / shares));
  const tokens = share(limits.tokens, committed.tokens);
  const cost = share(limits.costMicroUsd, committed.costMicroUsd);
  if (tokens === 0) return { ok: false, message: budgetExceededMessage('tokens', committed.tokens, limits.tokens!) };
  if (cost === 0) return { ok: false, message: budgetExceededMessage('cost', committed.costMicroUsd, limits.costMicroUsd!) };
  // Sessions: this spawn's own run, and a share of what the rest of this round leaves.
  const subSessions =
    limits.sessions === undefined || !childMaySpawn ? 0 : Math.max(0, Math.floor((limits.sessions - committed.sessions - Math.max(1, spawnsLeft)) / shares));
  const childBudget: Budget = {
    ...(tokens !== undefined ? { maxTokens: tokens } : {}),
    ...(cost !== undefined ? { maxCostUsd: cost / 1_000_000 } : {}),
    ...(limits.sessions !== undefined ? { maxSessions: subSessions } : {}),
  };
  return { ok: true, reservation: { tokens: tokens ?? 0, costMicroUsd: cost ?? 0, sessions: limits.sessions === undefined ? 0 : 1 + subSessions }, childBudget };
}

/** The `usage` query's budget: the limits, what was spent, what is reserved for running children, what is left. */
export interface BudgetStatus {
  limits: Budget;
  used: { tokens: number; costUsd: number; costMicroUsd: number; sessions: number };
  reserved: { tokens: number; costMicroUsd: number; sessions: number };
  /** Per limited resource: the limit less what is used and reserved (never below 0). */
  remaining: { tokens?: number; costUsd?: number; costMicroUsd?: number; sessions?: number };
}

export function budgetStatus(budget: Budget, spent: Amounts, reserved: Amounts): BudgetStatus {
  const limits = limitsOf(budget);
  const left = (limit: number | undefined, key: keyof Amounts) => (limit === undefined ? undefined : Math.max(0, limit - spent[key] - reserved[key]));
  const tokens = left(limits.tokens, 'tokens');
  const cost = left(limits.costMicroUsd, 'costMicroUsd');
  const sessions = left(limits.sessions, 'sessions');
  return {
    limits: budget,
    used: { tokens: spent.tokens, costUsd: spent.costMicroUsd / 1_000_000, costMicroUsd: spent.costMicroUsd, sessions: spent.sessions },
    reserved: { ...reserved },
    remaining: {
      ...(tokens !== undefined ? { tokens } : {}),
      ...(cost !== undefined ? { costUsd: cost / 1_000_000, costMicroUsd: cost } : {}),
      ...(sessions !== undefined ? { sessions } : {}),
    },
  };
}
