/**
 * Runs work under the total-time deadline: a workflow timer that, when it fires, cancels
 * the work and turns whatever it was doing into the reference's total-timeout outcome.
 */
import { CancellationScope, sleep } from '@temporalio/workflow';
import type { RunBudget } from './budget';
import { classifyFailure, type RunOutcome } from './outcome';

export type BudgetedResult<T> = { ok: true; value: T } | { ok: false; outcome: RunOutcome };

export async function runWithinBudget<T>(budget: RunBudget, work: () => Promise<T>): Promise<BudgetedResult<T>> {
  const workScope = new CancellationScope();
  const deadline = new CancellationScope();
  let deadlineFiredAtSecs: number | undefined;
  void deadline
    .run(() => sleep(budget.remainingMs()))
    .then(
      () => {
        deadlineFiredAtSecs = budget.elapsedSecs();
        workScope.cancel();
      },
      () => undefined, // the deadline timer was cancelled: the work ended first
    );
  try {
    return { ok: true, value: await workScope.run(work) };
  } catch (error) {
    return { ok: false, outcome: classifyFailure(error, budget, deadlineFiredAtSecs) };
  } finally {
    deadline.cancel();
  }
}
