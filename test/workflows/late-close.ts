/**
 * A workflow bundle whose child runs can close late: the product's workflows, with
 * `childSessionWorkflow` wrapped so that a run of a session titled `LATE_CLOSE_TITLE…` keeps
 * its workflow open for LATE_CLOSE_SECS after it has reported to its parent (a durable timer).
 *
 * A real run is in that state for one workflow task after it signals its parent; holding it
 * there makes deterministic what is otherwise a race: a parent that wants the session's next
 * run while the run that just reported is still closing gets "already started".
 */
import { sleep } from '@temporalio/workflow';
import type { ChildRunResult, SpawnJob } from '../../common';
import { childSessionWorkflow as runChildSession } from '../../workflows';

export * from '../../workflows';

export const LATE_CLOSE_TITLE = 'Late closer';
export const LATE_CLOSE_SECS = 12;

export async function childSessionWorkflow(job: SpawnJob): Promise<ChildRunResult> {
  const result = await runChildSession(job);
  if (job.session?.title?.startsWith(LATE_CLOSE_TITLE)) await sleep(LATE_CLOSE_SECS * 1000);
  return result;
}
