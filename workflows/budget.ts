/** The run's total-time budget, read with workflow time (deterministic). */
export class RunBudget {
  readonly deadlineMs: number;

  /** @param startedAtMs when the run began: earlier than now for a run that continued-as-new. */
  constructor(
    readonly maxTotalSecs: number,
    readonly startedAtMs = Date.now(),
  ) {
    this.deadlineMs = this.startedAtMs + maxTotalSecs * 1000;
  }

  remainingMs(): number {
    return Math.max(0, this.deadlineMs - Date.now());
  }

  elapsedSecs(): number {
    return Math.floor((Date.now() - this.startedAtMs) / 1000);
  }
}
