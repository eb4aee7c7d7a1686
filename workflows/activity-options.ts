/**
 * Activity options derived from the watchdog policy and the remaining budget.
 *
 * - heartbeatTimeout is the liveness window (a dead worker is noticed and the attempt
 *   retried elsewhere); it never exceeds max_idle. Idle (no real progress) is enforced by
 *   the activity itself and fails non-retryably (see worker/activities/progress.ts).
 * - scheduleToCloseTimeout is the remaining total budget plus a small grace, so the attempt
 *   normally stops itself at the run's deadline (its input's `runDeadline`) or the workflow's
 *   deadline timer cancels it cleanly first, and the server still stops an attempt whose
 *   worker is gone.
 * - cancellation waits for the activity to acknowledge, so a cancelled or timed-out run
 *   ends only after its model call has really stopped.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import type { WatchdogPolicy } from '../common/watchdog';
import { MAX_TOOL_TIMEOUT_SECS } from '../common/tool-outcomes';
import type { RunBudget } from './deadline';

const LIVENESS_TIMEOUT_SECS = 30;
const DEADLINE_GRACE_MS = 5_000;
/**
 * A tool call's 120 s limit is enforced inside the activity (it answers the model with an error
 * result); the server's start-to-close timeout, a little later, is only a backstop for an
 * attempt that keeps heartbeating but never answers.
 */
const TOOL_BACKSTOP_MS = (MAX_TOOL_TIMEOUT_SECS + 10) * 1000;

export function livenessTimeoutMs(policy: WatchdogPolicy): number {
  return Math.min(policy.maxIdleSecs, LIVENESS_TIMEOUT_SECS) * 1000;
}

export function modelCallOptions(policy: WatchdogPolicy, budget: RunBudget, summary: string): ActivityOptions {
  return {
    summary,
    scheduleToCloseTimeout: budget.remainingMs() + DEADLINE_GRACE_MS,
    heartbeatTimeout: livenessTimeoutMs(policy),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 },
  };
}

export function toolCallOptions(policy: WatchdogPolicy, budget: RunBudget, summary: string): ActivityOptions {
  return {
    summary,
    scheduleToCloseTimeout: budget.remainingMs() + DEADLINE_GRACE_MS,
    startToCloseTimeout: Math.min(TOOL_BACKSTOP_MS, budget.remainingMs() + DEADLINE_GRACE_MS),
    heartbeatTimeout: livenessTimeoutMs(policy),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // Only infrastructure failures (a worker that died or stopped responding) are retried, a
    // few times; a retried attempt runs the tool again only if the tool is idempotent
    // (worker/activities/tools.ts). What fails after that is an error result (workflows/agent-loop.ts).
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
  };
}

export function bookkeepingOptions(summary: string): ActivityOptions {
  return {
    summary,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
  };
}
