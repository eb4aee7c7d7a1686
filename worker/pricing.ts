/**
 * Prices and the cost of a model call, exact to the micro-dollar.
 *
 * A price is USD per million tokens, written in the configuration file as a decimal string
 * or a JSON number (`"0.15"`, `3`, `1.25e-1`), with at most 12 decimal places. It is held as
 * an integer count of 10⁻¹² USD per million tokens, so no arithmetic on it is ever a float.
 * Since a million tokens at P USD/MTok cost P × 10⁶ micro-dollars, one token at P USD/MTok
 * costs exactly P micro-dollars: a call's cost in micro-dollars is
 *
 *     (input − cached) × inputPerMTok + cached × (cachedInputPerMTok ?? inputPerMTok) + output × outputPerMTok
 *
 * computed exactly (BigInt), then rounded half-up to a whole micro-dollar, once per call. Sums
 * of calls are sums of those integers: they never drift, and differ from the exact total of
 * the unrounded costs by at most half a micro-dollar per call.
 *
 * Prices are looked up by `<provider>/<model>` first, then by `<model>` alone; a model with
 * neither has no price (its cost is undefined: tokens and "no price").
 */
import { z } from 'zod';
import type { Usage } from '../common';

/** Decimal places a price may have: its unit is 10⁻¹² USD per million tokens. */
export const PRICE_DECIMALS = 12;
const SCALE = 10n ** BigInt(PRICE_DECIMALS);
const HALF = SCALE / 2n;

/** One model's price, each in 10⁻¹² USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: bigint;
  outputPerMTok: bigint;
  /** Cached input tokens' price; absent: they cost `inputPerMTok`. */
  cachedInputPerMTok?: bigint;
}

/** Prices by `<model>` or `<provider>/<model>`. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

const DECIMAL = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * A price in USD per million tokens (a decimal string or a number) as an integer count of
 * 10⁻¹² USD/MTok; throws a readable error for anything else. A number is read through its
 * shortest decimal form (`0.15` is 0.15 exactly, not the binary float nearest to it).
 */
export function parseUsdPerMTok(value: string | number): bigint {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('must be a finite number');
  const text = typeof value === 'number' ? String(value) : value.trim();
  const match = DECIMAL.exec(text);
  if (!match) throw new Error(`must be a non-negative decimal number of USD per million tokens, got ${JSON.stringify(value)}`);
  const [, whole, fraction = '', exponent = '0'] = match;
  // The digits as one integer, and where the decimal point is from its right end.
  const digits = `${whole}${fraction}`;
  const places = fraction.length - Number(exponent);
  if (places > PRICE_DECIMALS && !/^0*$/.test(digits.slice(digits.length - (places - PRICE_DECIMALS)))) {
    throw new Error(`must have at most ${PRICE_DECIMALS} decimal places, got ${JSON.stringify(value)}`);
  }
  const shift = PRICE_DECIMALS - places;
  return shift >= 0 ? BigInt(digits) * 10n ** BigInt(shift) : BigInt(digits) / 10n ** BigInt(-shift);
}

/** A price as the configuration file writes it: parsed to 10⁻¹² USD/MTok, or a zod issue. */
export const UsdPerMTokSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseUsdPerMTok(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

export const ModelPriceSchema = z.strictObject({
  inputPerMTok: UsdPerMTokSchema,
  outputPerMTok: UsdPerMTokSchema,
  cachedInputPerMTok: UsdPerMTokSchema.optional(),
});

/** The configuration's `prices`: `<model>` or `<provider>/<model>` → price. */
export const PriceTableSchema = z.record(z.string().trim().min(1), ModelPriceSchema);

/** The price of `model` as served by `provider`: `<provider>/<model>`, else `<model>`, else none. */
export function findPrice(prices: PriceTable, model: string, provider?: string): ModelPrice | undefined {
  const own = (key: string) => (Object.hasOwn(prices, key) ? prices[key] : undefined);
  return (provider !== undefined ? own(`${provider}/${model}`) : undefined) ?? own(model);
}

/**
 * One call's cost in whole micro-dollars, rounded half-up. Cached input tokens count at most
 * up to the input tokens (they are part of them); the rest of the input is not cached.
 */
export function costMicroUsd(price: ModelPrice, usage: Usage): number {
  const input = BigInt(usage.inputTokens);
  const cached = BigInt(Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens));
  const exact =
    (input - cached) * price.inputPerMTok +
    cached * (price.cachedInputPerMTok ?? price.inputPerMTok) +
    BigInt(usage.outputTokens) * price.outputPerMTok;
  return Number((exact + HALF) / SCALE);
}

/** The cost of `usage` on `model` (served by `provider`), or undefined when it has no price. */
export function costOf(prices: PriceTable, usage: Usage, model: string, provider?: string): number | undefined {
  const price = findPrice(prices, model, provider);
  return price ? costMicroUsd(price, usage) : undefined;
}
