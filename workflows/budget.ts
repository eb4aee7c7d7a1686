/** The run's total-time budget, read with workflow time (deterministic). */
export class RunBudget {
  readonly startedAtMs = Date.now();
  readonly deadlineMs: number;

  constructor(readonly maxTotalSecs: number) {
    this.deadlineMs = this.startedAtMs + maxTotalSecs * 1000;
  }

  remainingMs(): number {
    return Math.max(0, this.deadlineMs - Date.now());
  }

  elapsedSecs(): number {
    return Math.floor((Date.now() - this.startedAtMs) / 1000);
  }
}
