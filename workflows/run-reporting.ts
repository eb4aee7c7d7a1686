/** What a run tells the outside world: search attributes for the UI, the parent's completion signal. */
import { CancellationScope, getExternalWorkflowHandle, log, patched, upsertSearchAttributes } from '@temporalio/workflow';
import {
  BambooCostUsd,
  BambooTokens,
  totalTokens,
  type SessionUsage,
  BambooModel,
  BambooParentSessionId,
  BambooRootSessionId,
  BambooRunStatus,
  BambooSessionKind,
  errorMessage,
  sessionWorkflowId,
  type ChildCompletion,
} from '../common';
import { subSessionCompletedSignal } from '../common/workflow-interface';

/** Runs recorded before the usage attributes existed replay without them. */
const USAGE_ATTRIBUTES_PATCH = 'bamboo-usage-search-attributes';

/**
 * What the session and its subtree spent, for the Web UI to sort and filter by
 * (`BambooTokens`, `BambooCostUsd`). Called once per turn and when a child run ends.
 */
export function upsertUsageAttributes(usage: SessionUsage): void {
  if (!patched(USAGE_ATTRIBUTES_PATCH)) return;
  upsertSearchAttributes([
    { key: BambooTokens, value: totalTokens(usage.subtree) },
    { key: BambooCostUsd, value: usage.costMicroUsd / 1_000_000 },
  ]);
}

export function upsertRunAttributes(values: {
  kind?: string;
  parentSessionId?: string;
  rootSessionId?: string;
  model?: string;
  status?: string;
}): void {
  const pairs = [
    { key: BambooSessionKind, value: values.kind },
    { key: BambooParentSessionId, value: values.parentSessionId },
    { key: BambooRootSessionId, value: values.rootSessionId },
    { key: BambooModel, value: values.model },
    { key: BambooRunStatus, value: values.status },
  ].filter((pair): pair is { key: typeof BambooRunStatus; value: string } => typeof pair.value === 'string' && pair.value !== '');
  if (pairs.length > 0) upsertSearchAttributes(pairs);
}

/**
 * Signals the parent by workflow id only, so it reaches the parent's current run. Runs in
 * a non-cancellable scope: a cancelled child still reports. A parent that no longer runs
 * is logged; it will read the child's status from the child's own result.
 */
export async function notifyParent(completion: ChildCompletion): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await getExternalWorkflowHandle(sessionWorkflowId(completion.parentSessionId)).signal(subSessionCompletedSignal, completion);
    } catch (error) {
      log.warn('parent session is not running; completion not delivered', {
        parentSessionId: completion.parentSessionId,
        childSessionId: completion.childSessionId,
        status: completion.status,
        error: errorMessage(error),
      });
    }
  });
}
