/**
 * The child watchdog policy and its per-session overrides (reference semantics:
 * only metadata values that parse as integers > 0 count). A value that counts but is above
 * its maximum (WATCHDOG_MAXIMUMS) is an error at the boundary: SessionSchema rejects it, so a
 * SpawnJob or a root session carrying it fails at once with the key and the bound.
 */
/** What these functions read of a Session; structural, so session.ts can import this file. */
type WithMetadata = { metadata: Record<string, string> };

export interface WatchdogPolicy {
  /**
   * Accepted and validated for compatibility. Temporal enforces the timeouts on the
   * server, so there is no polling loop for it to pace (docs/architecture.md#the-check-interval).
   */
  checkIntervalSecs: number;
  maxTotalSecs: number;
  maxIdleSecs: number;
}

export const DEFAULT_WATCHDOG_POLICY: Readonly<WatchdogPolicy> = {
  checkIntervalSecs: 15,
  maxTotalSecs: 60 * 60,
  maxIdleSecs: 15 * 60,
};

export const WATCHDOG_METADATA_KEYS = {
  maxTotalSecs: 'child_watchdog.max_total_secs',
  maxIdleSecs: 'child_watchdog.max_idle_secs',
  checkIntervalSecs: 'child_watchdog.check_interval_secs',
} as const;

const ONE_YEAR_SECS = 365 * 24 * 60 * 60;

/**
 * The largest value each override may have: it keeps timers and dates valid. The idle clock is
 * a Node.js timer inside each activity, and those hold at most 2^31 − 1 ms (24.8 days).
 */
export const WATCHDOG_MAXIMUMS: Readonly<WatchdogPolicy> = {
  checkIntervalSecs: ONE_YEAR_SECS,
  maxTotalSecs: ONE_YEAR_SECS,
  maxIdleSecs: 24 * 24 * 60 * 60,
};

const MAXIMUM_LABELS: Readonly<Record<keyof WatchdogPolicy, string>> = { checkIntervalSecs: '1 year', maxTotalSecs: '1 year', maxIdleSecs: '24 days' };

const I64_MAX = '9223372036854775807';

/**
 * The value of a metadata string if it counts — it parses as an integer > 0, as the reference
 * parses it (a 64-bit integer, optional `+`, whitespace around) — else undefined. Above 2^53 the
 * number is approximate, which is enough to compare it with a maximum.
 */
function countedInteger(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!/^[+]?\d+$/.test(text)) return undefined;
  const digits = text.replace(/^\+?0*/, '');
  if (digits === '' || digits.length > I64_MAX.length || (digits.length === I64_MAX.length && digits > I64_MAX)) return undefined;
  return Number(digits);
}

/** A positive integer from a metadata string, else undefined (the default applies). */
export function positiveIntegerOrUndefined(raw: string | undefined): number | undefined {
  const value = countedInteger(raw);
  return value !== undefined && Number.isSafeInteger(value) ? value : undefined;
}

/** The child_watchdog.* values that count but are above their maximum, each with its error. */
export function watchdogMetadataProblems(metadata: Readonly<Record<string, string>>): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  for (const [field, key] of Object.entries(WATCHDOG_METADATA_KEYS) as [keyof WatchdogPolicy, string][]) {
    const value = countedInteger(metadata[key]);
    if (value !== undefined && value > WATCHDOG_MAXIMUMS[field]) {
      problems.push({ key, message: `must be at most ${WATCHDOG_MAXIMUMS[field]} (${MAXIMUM_LABELS[field]})` });
    }
  }
  return problems;
}

/**
 * The policy for a session: each override that counts, else the default. Validated sessions
 * never hold a value above its maximum (see SessionSchema); one that did anyway would be treated
 * like any unusable value (default), so it never reaches a timer.
 */
export function watchdogPolicyForSession(session: WithMetadata): WatchdogPolicy {
  const policy = { ...DEFAULT_WATCHDOG_POLICY };
  for (const [field, key] of Object.entries(WATCHDOG_METADATA_KEYS) as [keyof WatchdogPolicy, string][]) {
    const value = positiveIntegerOrUndefined(session.metadata[key]);
    if (value !== undefined && value <= WATCHDOG_MAXIMUMS[field]) policy[field] = value;
  }
  return policy;
}
