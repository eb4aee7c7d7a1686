/**
 * Mapping how a run ended to a terminal status and the reference's error text.
 * A fired watchdog wins over whatever the run was doing.
 */
import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, isCancellation, TimeoutFailure } from '@temporalio/workflow';
import { FailureTypes, totalTimeoutMessage, type TerminalRunStatus } from '../common';
import type { RunBudget } from './budget';

export interface RunOutcome {
  status: TerminalRunStatus;
  error?: string;
}

export const CANCELLED_MESSAGE = 'Child session cancelled';

/**
 * @param deadlineFiredAtSecs set when the workflow's total deadline fired: the elapsed time
 *   at that moment is what the message reports, not the time cancellation took to finish.
 */
export function classifyFailure(error: unknown, budget: RunBudget, deadlineFiredAtSecs?: number): RunOutcome {
  if (deadlineFiredAtSecs !== undefined) {
    return { status: 'timeout', error: totalTimeoutMessage(deadlineFiredAtSecs, budget.maxTotalSecs) };
  }
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type === FailureTypes.idleTimeout) {
    return { status: 'timeout', error: cause.message };
  }
  if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE) {
    return { status: 'timeout', error: totalTimeoutMessage(budget.elapsedSecs(), budget.maxTotalSecs) };
  }
  if (isCancellation(error)) return { status: 'cancelled', error: CANCELLED_MESSAGE };
  const message = readableMessage(cause);
  // Reference rule: an error that says it was cancelled is a cancellation.
  if (/cancelled/i.test(message)) return { status: 'cancelled', error: message };
  return { status: 'error', error: message };
}

function readableMessage(error: unknown): string {
  if (error instanceof TimeoutFailure) return `activity timed out (${error.timeoutType ?? "unknown"})`;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
