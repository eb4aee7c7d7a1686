/** What a run tells the outside world: search attributes for the UI, the parent's completion signal. */
import { CancellationScope, getExternalWorkflowHandle, log, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { errorMessage } from '../common/errors';
import { sessionWorkflowId } from '../common/ids';
import type { ChildCompletion } from '../common/run';
import { BambooCostUsd, BambooTokens, BambooModel, BambooParentSessionId, BambooRootSessionId, BambooRunStatus, BambooSessionKind } from '../common/search-attributes';
import type { SessionUsage } from '../common/session-usage';
import { totalTokens } from '../common/spend';
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

export interface RunAttributes {
  kind?: string;
  parentSessionId?: string;
  rootSessionId?: string;
  model?: string;
  status?: string;
}

function pairsOf(values: RunAttributes) {
  return [
    { key: BambooSessionKind, value: values.kind },
    { key: BambooParentSessionId, value: values.parentSessionId },
    { key: BambooRootSessionId, value: values.rootSessionId },
    { key: BambooModel, value: values.model },
    { key: BambooRunStatus, value: values.status },
  ].filter((pair): pair is { key: typeof BambooRunStatus; value: string } => typeof pair.value === 'string' && pair.value !== '');
}

export function upsertRunAttributes(values: RunAttributes): void {
  const pairs = pairsOf(values);
  if (pairs.length > 0) upsertSearchAttributes(pairs);
}

/**
 * Upserts only what the run does not say already (its start request set the attributes, or an
 * earlier upsert did): a run started with everything right writes no event for it.
 */
export function upsertChangedRunAttributes(values: RunAttributes): void {
  const current = workflowInfo().typedSearchAttributes;
  const pairs = pairsOf(values).filter(({ key, value }) => current.get(key) !== value);
  if (pairs.length > 0) upsertSearchAttributes(pairs);
}

/** A run's end in one upsert: its status and what its subtree spent (no patch: used only by runs of history shape 2). */
export function upsertRunEnd(status: string, usage: SessionUsage): void {
  upsertSearchAttributes([
    { key: BambooRunStatus, value: status },
    { key: BambooTokens, value: totalTokens(usage.subtree) },
    { key: BambooCostUsd, value: usage.costMicroUsd / 1_000_000 },
  ]);
}

/** A run's (or a root turn's) end: in one upsert (history shape 2, lean root turns), or status then usage as older histories did. */
export function publishRunEnd(inOneUpsert: boolean, status: string, usage: SessionUsage): void {
  if (inOneUpsert) return upsertRunEnd(status, usage);
  upsertRunAttributes({ status });
  upsertUsageAttributes(usage);
}

/**
 * Signals the parent by workflow id only, so it reaches the parent's current run. Runs in
 * a non-cancellable scope: a cancelled child still reports. A parent that no longer runs
 * is logged; it will read the child's status from the child's own result.
 */
export function notifyParent(completion: ChildCompletion): Promise<void> {
  // Promise chains, not async functions: each async layer costs the SDK's promise hook two
  // stack-captured promises, and every child run comes through here.
  return CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(sessionWorkflowId(completion.parentSessionId))
      .signal(subSessionCompletedSignal, completion)
      .catch((error: unknown) => {
        log.warn('parent session is not running; completion not delivered', {
          parentSessionId: completion.parentSessionId,
          childSessionId: completion.childSessionId,
          status: completion.status,
          error: errorMessage(error),
        });
      }),
  );
}
