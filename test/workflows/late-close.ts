/**
 * A workflow bundle whose child runs can close late: the product's workflows, with
 * `childSessionWorkflow` wrapped so that a run of a session titled `LATE_CLOSE_TITLE…` keeps
 * its workflow open for LATE_CLOSE_SECS (or `Late closer <n>s`: n seconds) after it has
 * reported to its parent (a durable timer).
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
/** How long a late closer stays open after reporting, unless its title says (`Late closer 40s`). */
export const LATE_CLOSE_SECS = 12;

export async function childSessionWorkflow(job: SpawnJob): Promise<ChildRunResult> {
  const result = await runChildSession(job);
  const late = job.session?.title?.match(/^Late closer(?: (\d+)s)?/);
  if (late) await sleep(Number(late[1] ?? LATE_CLOSE_SECS) * 1000);
  return result;
}
