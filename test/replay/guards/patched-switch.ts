/**
 * `@temporalio/workflow` as the patch-guard test builds it (test/replay/patch-guards.test.ts):
 * everything the SDK exports, with `patched()` switched by the replayed workflow id — `…#all`:
 * every guard taken (as if the old branch had been deleted), `…#without:<id>`: that guard never
 * taken (as if the new branch had never been written, its marker still read); any other id:
 * the SDK's own answer.
 */
import { deprecatePatch, patched as sdkPatched, workflowInfo } from '@temporalio/workflow/lib/workflow';

export * from '@temporalio/workflow/lib/index';

export function patched(patchId: string): boolean {
  const { workflowId } = workflowInfo();
  if (workflowId.endsWith('#all')) return true;
  if (workflowId.endsWith(`#without:${patchId}`)) {
    // The recorded marker is consumed (unconsumed, it alone would fail the replay): what fails
    // is the old branch's commands against the new branch's history.
    deprecatePatch(patchId);
    return false;
  }
  return sdkPatched(patchId);
}
