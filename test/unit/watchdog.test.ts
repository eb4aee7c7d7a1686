import {
  DEFAULT_WATCHDOG_POLICY,
  positiveIntegerOrUndefined,
  WATCHDOG_MAXIMUMS,
  watchdogMetadataProblems,
  watchdogPolicyForSession,
  type WatchdogPolicy,
} from '../../common';

const DEFAULTS: WatchdogPolicy = { checkIntervalSecs: 15, maxTotalSecs: 3600, maxIdleSecs: 900 };

function policyFor(metadata: Record<string, string>): WatchdogPolicy {
  return watchdogPolicyForSession({ metadata });
}

describe('watchdogPolicyForSession', () => {
  it('uses the reference defaults (15 s check, 3600 s total, 900 s idle) without metadata', () => {
    expect(policyFor({})).toEqual(DEFAULTS);
    expect(DEFAULT_WATCHDOG_POLICY).toEqual(DEFAULTS);
  });

  it('takes each of the three child_watchdog.* keys as an override of its own field', () => {
    expect(policyFor({ 'child_watchdog.max_total_secs': '4' })).toEqual({ ...DEFAULTS, maxTotalSecs: 4 });
    expect(policyFor({ 'child_watchdog.max_idle_secs': '2' })).toEqual({ ...DEFAULTS, maxIdleSecs: 2 });
    expect(policyFor({ 'child_watchdog.check_interval_secs': '1' })).toEqual({ ...DEFAULTS, checkIntervalSecs: 1 });
  });

  it('applies all three overrides together', () => {
    expect(
      policyFor({
        'child_watchdog.max_total_secs': '120',
        'child_watchdog.max_idle_secs': '30',
        'child_watchdog.check_interval_secs': '5',
      }),
    ).toEqual({ checkIntervalSecs: 5, maxTotalSecs: 120, maxIdleSecs: 30 });
  });

  it.each(['0', '-5', 'abc', '1.5', '', '   ', '1e3', '0x10', '12abc'])(
    'keeps the defaults when every key is %j (not an integer > 0)',
    (raw) => {
      expect(
        policyFor({
          'child_watchdog.max_total_secs': raw,
          'child_watchdog.max_idle_secs': raw,
          'child_watchdog.check_interval_secs': raw,
        }),
      ).toEqual(DEFAULTS);
    },
  );

  it('accepts whitespace around a valid integer', () => {
    expect(policyFor({ 'child_watchdog.max_total_secs': '  42 ', 'child_watchdog.max_idle_secs': '\t7\n' })).toEqual({
      ...DEFAULTS,
      maxTotalSecs: 42,
      maxIdleSecs: 7,
    });
  });

  it('ignores unrelated and misspelled metadata keys', () => {
    expect(
      policyFor({ max_total_secs: '4', 'child_watchdog.max_total': '4', 'child_watchdog.MAX_IDLE_SECS': '4' }),
    ).toEqual(DEFAULTS);
  });

  it('does not mutate the shared default policy', () => {
    policyFor({ 'child_watchdog.max_total_secs': '4' });
    expect(DEFAULT_WATCHDOG_POLICY).toEqual(DEFAULTS);
  });
});

describe('positiveIntegerOrUndefined', () => {
  it.each([
    ['1', 1],
    ['900', 900],
    [' 15 ', 15],
    ['007', 7],
    ['+5', 5], // Rust's i64::from_str accepts a leading plus, as does the reference
  ])('parses %j as %d', (raw, expected) => {
    expect(positiveIntegerOrUndefined(raw)).toBe(expected);
  });

  it.each([undefined, '0', '-0', '-5', 'abc', '1.5', '', ' ', '1 2', 'Infinity', 'NaN', '99999999999999999999'])(
    'returns undefined for %j',
    (raw) => {
      expect(positiveIntegerOrUndefined(raw)).toBeUndefined();
    },
  );
});

describe('maximums', () => {
  it('are one year for the total budget and the check interval, 24 days for idle (Node.js timers hold at most 24.8 days)', () => {
    expect(WATCHDOG_MAXIMUMS).toEqual({ checkIntervalSecs: 31_536_000, maxTotalSecs: 31_536_000, maxIdleSecs: 2_073_600 });
    expect(WATCHDOG_MAXIMUMS.maxIdleSecs * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    // A deadline at the maximum is a valid date, and so is the activity's schedule-to-close.
    expect(Number.isNaN(new Date(Date.now() + WATCHDOG_MAXIMUMS.maxTotalSecs * 1000).getTime())).toBe(false);
  });

  it('a value at its maximum is used', () => {
    expect(policyFor({ 'child_watchdog.max_total_secs': '31536000', 'child_watchdog.max_idle_secs': '2073600', 'child_watchdog.check_interval_secs': '31536000' })).toEqual({
      checkIntervalSecs: 31_536_000,
      maxTotalSecs: 31_536_000,
      maxIdleSecs: 2_073_600,
    });
    expect(watchdogMetadataProblems({ 'child_watchdog.max_total_secs': '31536000', 'child_watchdog.max_idle_secs': '2073600' })).toEqual([]);
  });

  it('a value that counts but is above its maximum is a problem naming the key and the bound', () => {
    expect(
      watchdogMetadataProblems({
        'child_watchdog.max_total_secs': '1000000000000000',
        'child_watchdog.max_idle_secs': '2073601',
        'child_watchdog.check_interval_secs': '+9223372036854775807',
      }),
    ).toEqual([
      { key: 'child_watchdog.max_total_secs', message: 'must be at most 31536000 (1 year)' },
      { key: 'child_watchdog.max_idle_secs', message: 'must be at most 2073600 (24 days)' },
      { key: 'child_watchdog.check_interval_secs', message: 'must be at most 31536000 (1 year)' },
    ]);
  });

  it.each(['0', '-5', 'abc', '1.5', '1e15', '', '9223372036854775808', '99999999999999999999'])(
    'a value that does not count (%j: not a 64-bit integer > 0, as in the reference) is no problem: the default applies',
    (raw) => {
      expect(watchdogMetadataProblems({ 'child_watchdog.max_total_secs': raw })).toEqual([]);
      expect(policyFor({ 'child_watchdog.max_total_secs': raw })).toEqual(DEFAULTS);
    },
  );

  it('a session holding a value above its maximum anyway gets the default: it never reaches a timer', () => {
    expect(policyFor({ 'child_watchdog.max_total_secs': '1000000000000000', 'child_watchdog.max_idle_secs': '2073601' })).toEqual(DEFAULTS);
  });

  it('unrelated metadata is never a problem', () => {
    expect(watchdogMetadataProblems({ provider_name: '1000000000000000', 'child_watchdog.MAX_TOTAL_SECS': '1000000000000000' })).toEqual([]);
  });
});
