/**
 * A run's total-time watchdog, in one place: its budget (read with workflow time, so
 * deterministic), the deadline timer that cancels the work when the budget is spent, and how
 * a run that ended early maps to a terminal status with the reference's texts — a fired
 * watchdog wins over whatever the run was doing (docs/architecture.md#the-watchdog).
 */
import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, CancellationScope, condition, isCancellation, sleep, TimeoutFailure } from '@temporalio/workflow';
import { errorMessage, FailureTypes, totalTimeoutMessage } from '../common/errors';
import { RUN_CANCELLED } from '../common/run-close';
import type { TerminalRunStatus } from '../common/run-status';

/**
 * The run's total-time budget (max_total_secs), read with workflow time. Time spent waiting
 * for a person (an approval, an answer) does not count: the budget pauses meanwhile.
 */
export class RunBudget {
  deadlineMs: number;
  /**
   * Whether the deadline timer runs. With `timer: 'while-waiting'` it starts only when the run
   * first waits on something no activity bounds (its children): until then every step is an
   * activity that stops itself at the deadline (`runDeadline`), so a run that only calls
   * activities writes no timer to its history.
   */
  timerArmed: boolean;
  /** False with `timer: 'never'` (a run that never waits on anything unbounded: it has no children). */
  readonly mayArm: boolean;
  /** Milliseconds spent paused so far (they moved the deadline). */
  pausedMs = 0;
  private pauses = 0;
  private pausedAt = 0;

  /**
   * @param startedAtMs when the run began: earlier than now for a run that continued-as-new.
   * @param timer when the deadline timer runs: for the whole run (the first history shape), only
   *   while the run waits on something unbounded, or never.
   */
  constructor(
    readonly maxTotalSecs: number,
    readonly startedAtMs = Date.now(),
    { timer = 'whole-run' }: { timer?: 'whole-run' | 'while-waiting' | 'never' } = {},
  ) {
    this.deadlineMs = this.startedAtMs + maxTotalSecs * 1000;
    this.timerArmed = timer === 'whole-run';
    this.mayArm = timer !== 'never';
  }

  private onArmed?: () => void;

  /** Starts the deadline timer (once): the run is about to wait on something no activity bounds. */
  armTimer(): void {
    if (this.timerArmed) return;
    if (!this.mayArm) throw new Error('this run was started without a deadline timer: it may not wait on anything unbounded');
    this.timerArmed = true;
    this.onArmed?.();
  }

  /** What arming starts (runWithinBudget's deadline); undefined once the work has ended. */
  whenArmed(start: (() => void) | undefined): void {
    this.onArmed = start;
  }

  /** The deadline, for the activities that stop themselves there. */
  deadlineIso(): string {
    return new Date(this.deadlineMs).toISOString();
  }

  remainingMs(): number {
    return Math.max(0, this.deadlineMs - Date.now());
  }

  elapsedSecs(): number {
    return Math.floor((Date.now() - this.startedAtMs - this.pausedMs - this.pausingMs()) / 1000);
  }

  get paused(): boolean {
    return this.pauses > 0;
  }

  /** Stops the clock (nested pauses: the clock runs again after the last resume). */
  pause(): void {
    if (this.pauses++ === 0) this.pausedAt = Date.now();
  }

  resume(): void {
    if (this.pauses === 0 || --this.pauses > 0) return;
    const paused = Date.now() - this.pausedAt;
    this.pausedMs += paused;
    this.deadlineMs += paused;
  }

  /** When the clock stopped, while it stands still. */
  pausedSinceIso(): string | undefined {
    return this.pauses > 0 ? new Date(this.pausedAt).toISOString() : undefined;
  }

  private pausingMs(): number {
    return this.pauses > 0 ? Date.now() - this.pausedAt : 0;
  }
}

/** How a run ended: a terminal status and, unless it completed, the reference's error text. */
export interface RunOutcome {
  status: TerminalRunStatus;
  error?: string;
}

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
  if (cause instanceof ApplicationFailure && cause.type === FailureTypes.totalTimeout) {
    // The activity stopped at the deadline; its clock may run a moment ahead of workflow time.
    return { status: 'timeout', error: totalTimeoutMessage(Math.max(budget.elapsedSecs(), budget.maxTotalSecs), budget.maxTotalSecs) };
  }
  if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE) {
    return { status: 'timeout', error: totalTimeoutMessage(budget.elapsedSecs(), budget.maxTotalSecs) };
  }
  if (isCancellation(error)) return { status: 'cancelled', error: RUN_CANCELLED };
  const message = readableMessage(cause);
  // Reference rule: an error whose text contains "cancelled" is a cancellation — case-sensitive,
  // as its `e.to_string().contains("cancelled")`. (Changes no command of a recorded history: the
  // status travels only in payloads, and no fixture holds a capitalised "Cancelled" error.)
  if (message.includes('cancelled')) return { status: 'cancelled', error: message };
  return { status: 'error', error: message };
}

function readableMessage(error: unknown): string {
  if (error instanceof TimeoutFailure) return `activity timed out (${error.timeoutType ?? "unknown"})`;
  return errorMessage(error);
}

/**
 * Runs work under the total-time deadline: a workflow timer that, when it fires, cancels the
 * work and turns whatever it was doing into the reference's total-timeout outcome.
 */
export type BudgetedResult<T> = { ok: true; value: T } | { ok: false; outcome: RunOutcome };

export async function runWithinBudget<T>(budget: RunBudget, work: () => Promise<T>): Promise<BudgetedResult<T>> {
  // No timer can start: nothing will cancel the work, so it needs no scope of its own (a scope
  // costs the SDK's promise hook five stack-captured promises).
  if (!budget.mayArm) {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      return { ok: false, outcome: classifyFailure(error, budget) };
    }
  }
  const outer = CancellationScope.current();
  const workScope = new CancellationScope();
  let deadline: CancellationScope | undefined;
  let deadlineFiredAtSecs: number | undefined;
  const startDeadline = () => {
    deadline = new CancellationScope({ cancellable: true, parent: outer });
    void deadline
      .run(() => deadlineReached(budget))
      .then(
        () => {
          deadlineFiredAtSecs = budget.elapsedSecs();
          workScope.cancel();
        },
        () => undefined, // the deadline timer was cancelled: the work ended first
      );
  };
  // A budget whose timer waits to be armed makes no scope, timer or promise for it until then.
  if (budget.timerArmed) startDeadline();
  else budget.whenArmed(startDeadline);
  try {
    return { ok: true, value: await workScope.run(work) };
  } catch (error) {
    return { ok: false, outcome: classifyFailure(error, budget, deadlineFiredAtSecs) };
  } finally {
    budget.whenArmed(undefined);
    deadline?.cancel();
  }
}

/**
 * Sleeps until the budget is spent: a pause (waiting for a person) moves the deadline, so
 * the timer is set again for what is left. A run that never pauses sets one timer, as before.
 */
async function deadlineReached(budget: RunBudget): Promise<void> {
  for (;;) {
    await sleep(budget.remainingMs());
    if (budget.paused) await condition(() => !budget.paused);
    if (budget.remainingMs() === 0) return;
  }
}
