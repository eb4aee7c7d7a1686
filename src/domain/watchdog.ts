/**
 * The child watchdog policy and its per-session overrides (reference semantics:
 * only metadata values that parse as integers > 0 count).
 */
import type { Session } from './session';

export interface WatchdogPolicy {
  /**
   * Accepted and validated for compatibility. Temporal enforces the timeouts on the
   * server, so there is no polling loop for it to pace (see README, "Watchdog").
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

/** A positive integer from a metadata string, else undefined (the default applies). */
export function positiveIntegerOrUndefined(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!/^[+]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function watchdogPolicyForSession(session: Pick<Session, 'metadata'>): WatchdogPolicy {
  const policy = { ...DEFAULT_WATCHDOG_POLICY };
  for (const [field, key] of Object.entries(WATCHDOG_METADATA_KEYS) as [keyof WatchdogPolicy, string][]) {
    const value = positiveIntegerOrUndefined(session.metadata[key]);
    if (value !== undefined) policy[field] = value;
  }
  return policy;
}
