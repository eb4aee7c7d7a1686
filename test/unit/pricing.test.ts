import { addSpend, NO_SPEND, spendOfCall, type Usage } from '../../common';
import { costMicroUsd, costOf, findPrice, parseUsdPerMTok, PriceTableSchema, type ModelPrice } from '../../worker/pricing';

const price = (input: string, output: string, cachedInput?: string): ModelPrice => ({
  inputPerMTok: parseUsdPerMTok(input),
  outputPerMTok: parseUsdPerMTok(output),
  ...(cachedInput !== undefined ? { cachedInputPerMTok: parseUsdPerMTok(cachedInput) } : {}),
});

describe('parseUsdPerMTok: USD per million tokens as an integer of 10⁻¹² USD/MTok', () => {
  it('reads decimal strings and numbers alike, through their decimal form', () => {
    expect(parseUsdPerMTok('0.15')).toBe(150_000_000_000n);
    expect(parseUsdPerMTok(0.15)).toBe(150_000_000_000n);
    expect(parseUsdPerMTok(3)).toBe(3_000_000_000_000n);
    expect(parseUsdPerMTok(' 15 ')).toBe(15_000_000_000_000n);
    expect(parseUsdPerMTok('1.25e-1')).toBe(125_000_000_000n);
    expect(parseUsdPerMTok(1e-7)).toBe(100_000n);
    expect(parseUsdPerMTok('0.000000000001')).toBe(1n);
    expect(parseUsdPerMTok('0.1500000000000000')).toBe(150_000_000_000n); // trailing zeros past 12 places
    expect(parseUsdPerMTok('2E+3')).toBe(2_000_000_000_000_000n);
    expect(parseUsdPerMTok(0)).toBe(0n);
  });

  it('rejects what is not a non-negative decimal with at most 12 places', () => {
    expect(() => parseUsdPerMTok('-1')).toThrow('must be a non-negative decimal number of USD per million tokens, got "-1"');
    expect(() => parseUsdPerMTok(-0.5)).toThrow(/non-negative decimal/);
    expect(() => parseUsdPerMTok('$3')).toThrow(/non-negative decimal/);
    expect(() => parseUsdPerMTok('')).toThrow(/non-negative decimal/);
    expect(() => parseUsdPerMTok(Number.NaN)).toThrow('must be a finite number');
    expect(() => parseUsdPerMTok(Number.POSITIVE_INFINITY)).toThrow('must be a finite number');
    expect(() => parseUsdPerMTok('0.0000000000001')).toThrow('must have at most 12 decimal places, got "0.0000000000001"');
    expect(() => parseUsdPerMTok(0.1 + 0.2)).toThrow(/at most 12 decimal places/); // 0.30000000000000004
  });
});

describe('costMicroUsd: exact, rounded half-up once per call', () => {
  it('1,234 input tokens at $0.15/MTok cost 185.1 µUSD → 185', () => {
    expect(costMicroUsd(price('0.15', '0.6'), { inputTokens: 1234, outputTokens: 0 })).toBe(185);
  });

  it('adds input and output exactly before rounding: 185.1 + 340.2 = 525.3 → 525', () => {
    expect(costMicroUsd(price('0.15', '0.6'), { inputTokens: 1234, outputTokens: 567 })).toBe(525);
  });

  it('rounds an exact half up, where floats would not: 45 tokens at $0.7/MTok = 31.5 µUSD → 32', () => {
    expect(Math.round(45 * 0.7)).toBe(31); // the float product is 31.499999999999996
    expect(costMicroUsd(price('0.7', '0'), { inputTokens: 45, outputTokens: 0 })).toBe(32);
    expect(costMicroUsd(price('0.1', '0'), { inputTokens: 4, outputTokens: 0 })).toBe(0); // 0.4
    expect(costMicroUsd(price('0.1', '0'), { inputTokens: 5, outputTokens: 0 })).toBe(1); // 0.5
  });

  it('bills cached input at cachedInputPerMTok, the rest of the input at inputPerMTok', () => {
    const usage: Usage = { inputTokens: 10_000, outputTokens: 1000, cachedInputTokens: 8000 };
    // 2,000 × 3 + 8,000 × 0.3 + 1,000 × 15 = 6,000 + 2,400 + 15,000
    expect(costMicroUsd(price('3', '15', '0.3'), usage)).toBe(23_400);
    // Without a cached price, cached tokens cost the input price: 10,000 × 3 + 1,000 × 15.
    expect(costMicroUsd(price('3', '15'), usage)).toBe(45_000);
    // A provider that claims more cached tokens than input tokens is capped at the input.
    expect(costMicroUsd(price('3', '15', '0.3'), { inputTokens: 100, outputTokens: 0, cachedInputTokens: 500 })).toBe(30);
  });

  it('handles large calls exactly: 10 million tokens at $75/MTok cost $750', () => {
    expect(costMicroUsd(price('75', '75'), { inputTokens: 0, outputTokens: 10_000_000 })).toBe(750_000_000);
    expect(costMicroUsd(price('0.000000000001', '0'), { inputTokens: 10_000_000, outputTokens: 0 })).toBe(0); // 0.00001 µUSD
  });

  it('sums of many calls are the exact total within half a micro-dollar per call, and never drift', () => {
    const p = price('0.15', '0.6', '0.075');
    const calls: Usage[] = Array.from({ length: 1000 }, (_, i) => ({ inputTokens: 1000 + i * 7, outputTokens: 50 + (i % 13), cachedInputTokens: i % 3 === 0 ? 500 : 0 }));
    let spend = NO_SPEND;
    for (const usage of calls) spend = addSpend(spend, spendOfCall(usage, costMicroUsd(p, usage)));
    // The exact total, in 10⁻¹² µUSD, without rounding.
    const exact = calls.reduce(
      (sum, u) => sum + BigInt(u.inputTokens - (u.cachedInputTokens ?? 0)) * p.inputPerMTok + BigInt(u.cachedInputTokens ?? 0) * p.cachedInputPerMTok! + BigInt(u.outputTokens) * p.outputPerMTok,
      0n,
    );
    const diff = BigInt(spend.costMicroUsd) * 10n ** 12n - exact;
    expect(diff < 0n ? -diff : diff).toBeLessThanOrEqual(BigInt(calls.length) * 5n * 10n ** 11n);
    expect(Number.isInteger(spend.costMicroUsd)).toBe(true);
    expect(spend.unpricedCalls).toBe(0);
    // The same calls in another order give the same integer total.
    let reversed = NO_SPEND;
    for (const usage of [...calls].reverse()) reversed = addSpend(reversed, spendOfCall(usage, costMicroUsd(p, usage)));
    expect(reversed.costMicroUsd).toBe(spend.costMicroUsd);
  });

  it('ten calls of one token at $0.1/MTok: each 0.1 µUSD rounds to 0, where float sums give 0.9999999999999999', () => {
    let float = 0;
    for (let i = 0; i < 10; i++) float += 0.1;
    expect(float).not.toBe(1);
    const each = costMicroUsd(price('0.1', '0'), { inputTokens: 1, outputTokens: 0 });
    expect(each).toBe(0);
    expect(costMicroUsd(price('0.1', '0'), { inputTokens: 10, outputTokens: 0 })).toBe(1);
  });
});

describe('finding a price', () => {
  const prices = PriceTableSchema.parse({
    'gpt-4o-mini': { inputPerMTok: '0.15', outputPerMTok: '0.6', cachedInputPerMTok: '0.075' },
    'openrouter/gpt-4o-mini': { inputPerMTok: 0.2, outputPerMTok: 0.8 },
    'openai/gpt-4o': { inputPerMTok: '2.5', outputPerMTok: '10' },
  });

  it('prefers <provider>/<model>, then <model>', () => {
    expect(findPrice(prices, 'gpt-4o-mini', 'openrouter')?.inputPerMTok).toBe(200_000_000_000n);
    expect(findPrice(prices, 'gpt-4o-mini', 'openai')?.inputPerMTok).toBe(150_000_000_000n);
    expect(findPrice(prices, 'gpt-4o-mini')?.cachedInputPerMTok).toBe(75_000_000_000n);
    // A model name with a slash (OpenRouter style) is found as written.
    expect(findPrice(prices, 'openai/gpt-4o', 'openrouter')?.outputPerMTok).toBe(10_000_000_000_000n);
    expect(findPrice(prices, 'gpt-4o', 'openai')?.outputPerMTok).toBe(10_000_000_000_000n);
  });

  it('a model without a price has no cost (undefined), and counts as an unpriced call', () => {
    expect(findPrice(prices, 'llama3.1', 'ollama')).toBeUndefined();
    expect(findPrice(prices, 'toString')).toBeUndefined();
    expect(findPrice(prices, 'gpt-4o', 'azure')).toBeUndefined();
    const usage = { inputTokens: 100, outputTokens: 10 };
    expect(costOf(prices, usage, 'llama3.1', 'ollama')).toBeUndefined();
    expect(spendOfCall(usage, costOf(prices, usage, 'llama3.1', 'ollama'))).toEqual({ usage, costMicroUsd: 0, unpricedCalls: 1 });
    expect(costOf(prices, usage, 'gpt-4o-mini', 'openai')).toBe(21); // 15 + 6
  });
});
