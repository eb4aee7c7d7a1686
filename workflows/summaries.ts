/**
 * Summarising older turns before a model call, so a long session stays within its model's
 * context window (common/context-window.ts; docs/architecture.md#context-window-and-summaries).
 * The summary is one activity: its result is recorded once, so a retry or a replay sees the
 * same summary; its input holds the replaced messages, so nothing is lost from history.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, log, patched, proxyActivities, setCurrentDetails, TimeoutFailure, uuid4 } from '@temporalio/workflow';
import type { BambooActivities } from '../worker/activities';
import { estimateTokens, planSummary, readContext, recordContext, SUMMARY_FAILED_METADATA_KEY, SUMMARY_METADATA_KEY, summaryDue, summaryText, transcriptTokens } from '../common/context-window';
import { FailureTypes } from '../common/errors';
import type { ModelTurnResult } from '../common/model-turn';
import { spendOfCall, type Spend } from '../common/spend';
import { modelCallOptions } from './activity-options';
import type { AgentLoopHost } from './agent-loop';
import { newMessage } from './messages';

/**
 * Patch id: a session summarises older turns when its transcript nears the model's window, and
 * a call the provider refused for its length is summarised and tried once more. Histories from
 * before it never had a window in their results, and failed the run on that refusal.
 */
export const SUMMARIES_PATCH = 'bamboo-summarising-compaction';

export type SummaryReason = 'threshold' | 'context_length';

/** Before a call: summarise when the estimate passes the threshold. Returns the summary's spend, if one was written. */
export async function summariseIfDue(host: AgentLoopHost): Promise<Spend | undefined> {
  if (!summaryDue(host.session) || !patched(SUMMARIES_PATCH)) return undefined;
  const failedAt = transcriptTokens(host.session);
  try {
    return await summarise(host, 'threshold');
  } catch (error) {
    // The call may still fit: a summary that failed for good is logged, the call goes ahead, and
    // none is tried again until the transcript has grown by the kept share.
    if (endsTheRun(error)) throw error;
    host.session.metadata[SUMMARY_FAILED_METADATA_KEY] = String(failedAt);
    log.warn('summary failed; calling the model with the whole transcript', { sessionId: host.session.id, error: String(error) });
    return undefined;
  }
}

/**
 * `call`, and when the provider refuses it for its length: one summary, one more try.
 * A second refusal (or nothing left to summarise) ends the run with a clear error.
 */
export async function callWithinWindow(host: AgentLoopHost, call: () => Promise<ModelTurnResult>, onSummary: (spend: Spend) => void): Promise<ModelTurnResult> {
  try {
    return await call();
  } catch (error) {
    const refusal = contextLengthRefusal(error);
    if (refusal === undefined || !patched(SUMMARIES_PATCH)) throw error;
    if (refusal.windowTokens && !readContext(host.session)) {
      // The provider named its window where the worker knew none: the usual threshold and share from now on.
      const windowTokens = refusal.windowTokens;
      const stated = { windowTokens, compactAtTokens: Math.floor(windowTokens * 0.8), keepTokens: Math.floor(windowTokens * 0.25) };
      recordContext(host.session, stated, estimateTokens(host.session.messages), host.session.messages.length);
    }
    const spend = await summarise(host, 'context_length');
    if (!spend) throw windowError(`${refusal.message}; nothing older is left to summarise`);
    onSummary(spend);
    try {
      return await call();
    } catch (second) {
      const again = contextLengthRefusal(second);
      if (again) throw windowError(`${again.message}; it was refused again after a summary`);
      throw second;
    }
  }
}

function windowError(detail: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`The transcript does not fit the model's context window: ${detail}`, FailureTypes.contextLength);
}

function contextLengthRefusal(error: unknown): { message: string; windowTokens?: number } | undefined {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure)) return undefined;
  if (error.cause.type !== FailureTypes.contextLength) return undefined;
  const details = error.cause.details?.[0] as { windowTokens?: unknown } | undefined;
  const windowTokens = typeof details?.windowTokens === 'number' ? details.windowTokens : undefined;
  return { message: error.cause.message, ...(windowTokens ? { windowTokens } : {}) };
}

function endsTheRun(error: unknown): boolean {
  return isCancellation(error) || (error instanceof ActivityFailure && (error.cause instanceof TimeoutFailure || (error.cause instanceof ApplicationFailure && (error.cause.type === FailureTypes.idleTimeout || error.cause.type === FailureTypes.totalTimeout))));
}

/**
 * Replaces the older turns with a summary written by one activity. Keeps the window's
 * `keepTokens` of recent turns (after a refusal, at most a quarter of the transcript's estimate). Returns the summary call's spend; undefined when nothing could be replaced.
 */
async function summarise(host: AgentLoopHost, reason: SummaryReason): Promise<Spend | undefined> {
  const { session } = host;
  const before = transcriptTokens(session);
  const context = readContext(session);
  // After a refusal the estimate fell short of the provider's count: keep at most a quarter of it.
  const keepTokens =
    reason === 'threshold' && context
      ? context.keepTokens
      : Math.max(1, Math.min(context?.keepTokens ?? Infinity, Math.floor(estimateTokens(session.messages) / 4)));
  // Ahead of the window, a summary must replace a tenth of it at least: not one each turn.
  const plan = planSummary(session.messages, keepTokens, reason === 'threshold' && context ? Math.floor(context.windowTokens / 10) : 0);
  if (!plan) return undefined;
  const replaced = session.messages.slice(plan.start, plan.end);
  // Unique across runs, follow-ups and forks of the session: --full finds the replaced messages by it.
  const summaryId = `summary-${uuid4()}`;
  setCurrentDetails(`summarising ${replaced.length} earlier message(s) to stay within the model's context window`);
  const { summarizeTranscript } = proxyActivities<BambooActivities>(
    modelCallOptions(host.policy, host.budget, `${session.title ?? session.id} · summary of ${replaced.length} message(s)`),
  );
  const result = await summarizeTranscript({
    sessionId: session.id,
    summaryId,
    model: host.model,
    modelRef: host.modelRef,
    providerName: host.providerName,
    subagentType: session.metadata.model_override === 'true' ? undefined : session.metadata.subagent_type,
    messages: replaced,
    ...(context ? { contextWindowTokens: context.windowTokens } : {}),
    maxIdleSecs: host.policy.maxIdleSecs,
    runDeadline: host.budget.deadlineIso(),
  });
  const summary = newMessage('user', summaryText(replaced.length, result.summary), { metadata: { [SUMMARY_METADATA_KEY]: summaryId } });
  session.messages.splice(plan.start, replaced.length, summary);
  delete session.metadata[SUMMARY_FAILED_METADATA_KEY];
  // The provider's count less what left plus what came: tool definitions and the like stay counted.
  const after = Math.max(1, before - estimateTokens(replaced) + estimateTokens([summary]));
  recordContext(session, undefined, after, session.messages.length);
  host.events.add({ type: 'transcript_summarised', summaryId, messagesReplaced: replaced.length, tokensBefore: before, tokensAfter: after, reason });
  return spendOfCall(result.usage, result.costMicroUsd);
}
