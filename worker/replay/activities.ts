/**
 * The model and tool activities of a cassette replay: the same names and inputs as the real
 * ones (worker/activities), answered from the cassette through a CassettePlayer. The session's
 * tool policy, the offered tools and each tool's schema are today's, so a change to any of them
 * shows. A call that does not match the recording is a divergence: it fails, non-retryable,
 * and its session stops (`stop`), or it runs for real (`live`: the configured provider or tool).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureTypes, ModelTurnInputSchema, SummaryInputSchema, ToolCallInputSchema, type ModelTurnInput, type ModelTurnResult, type SummaryInput, type SummaryResult, type ToolCallInput, type ToolCallOutcome } from '../../common';
import { createActivities, type ActivityDeps } from '../activities';
import { clientSource } from '../activities/client';
import { parseActivityInput } from '../activities/input';
import { readTranscript } from '../activities/model';
import { costMicroUsd } from '../pricing';
import { policyFor, restrictedCalls, scopesOf } from '../tools/policy';
import type { CassettePlayer, Divergence } from './cassette-player';

export type OnDivergence = 'stop' | 'live';

/** The failure type of a call that diverged from its recording (`stop`). */
export const DIVERGENCE_FAILURE = 'BambooCassetteDivergence';

export interface ReplayActivityCounts {
  /** Calls that went to a real provider or tool after diverging (`live`). */
  live: { model: number; tool: number };
}

export function createReplayActivities(player: CassettePlayer, deps: ActivityDeps, onDivergence: OnDivergence, counts: ReplayActivityCounts) {
  const real = createActivities(deps);
  const client = clientSource(deps.client);
  return {
    ...real,
    async callModel(request: ModelTurnInput): Promise<ModelTurnResult> {
      const input = parseActivityInput(ModelTurnInputSchema, request, 'model turn input');
      const messages = input.messages ?? (await readTranscript(client(), input.transcript!));
      const played = player.modelCall({ replaySessionId: input.sessionId, key: callKey(), turn: input.turn, messages });
      if (!played.ok) {
        if (onDivergence === 'stop') throw diverged(played.divergence);
        counts.live.model += 1;
        return real.callModel(request);
      }
      if ('refusedForLength' in played.value) {
        // As the provider refused it: the session summarises and tries once more, as recorded.
        const { refusedForLength, windowTokens } = played.value;
        throw ApplicationFailure.create({ message: refusedForLength, type: FailureTypes.contextLength, nonRetryable: true, details: [{ ...(windowTokens ? { windowTokens } : {}) }] });
      }
      const { content, toolCalls, usage, provider, context } = played.value;
      const price = deps.providers.priceOf(input.model, provider);
      const restricted = restrictedCalls(deps.toolPolicy, toolCalls, scopesOf(input));
      return { content, toolCalls, usage, provider, warnings: [], ...(price ? { costMicroUsd: costMicroUsd(price, usage) } : {}), ...(restricted ? { toolPolicy: restricted } : {}), ...(context ? { context } : {}) };
    },

    async summarizeTranscript(request: SummaryInput): Promise<SummaryResult> {
      const input = parseActivityInput(SummaryInputSchema, request, 'summary input');
      const played = player.summaryCall({ replaySessionId: input.sessionId, key: callKey(), replaced: input.messages });
      if (!played.ok) {
        if (onDivergence === 'stop') throw diverged(played.divergence);
        counts.live.model += 1;
        return real.summarizeTranscript(request);
      }
      if ('failed' in played.value) throw ApplicationFailure.create({ message: played.value.failed, type: FailureTypes.providerError, nonRetryable: true });
      const { summary, usage, provider, model } = played.value;
      const price = deps.providers.priceOf(model, provider);
      return { summary, usage, provider, model, ...(price ? { costMicroUsd: costMicroUsd(price, usage) } : {}) };
    },

    async runTool(request: ToolCallInput): Promise<ToolCallOutcome> {
      const input = parseActivityInput(ToolCallInputSchema, request, 'tool call input');
      const tool = deps.tools.get(input.call.name);
      const permission = policyFor(deps.toolPolicy, input.call.name, scopesOf(input));
      // Unknown, denied or waiting for a person: the call takes its place, and the real activity answers without running anything.
      if (!tool || input.disabledTools?.includes(input.call.name) || permission === 'deny' || (permission === 'ask' && input.approved !== true)) {
        const refused = player.toolCall({ replaySessionId: input.sessionId, key: callKey(), call: input.call, refused: true });
        if (!refused.ok && onDivergence === 'stop') throw diverged(refused.divergence);
        return real.runTool(request);
      }
      const invalid = await tool.validate?.(input.call.arguments);
      const played = player.toolCall({ replaySessionId: input.sessionId, key: callKey(), call: input.call, ...(invalid ? { invalid } : {}) });
      if (played.ok) return played.value!; // served (not refused)
      if (onDivergence === 'stop') throw diverged(played.divergence);
      counts.live.tool += 1;
      return real.runTool(request);
    },
  };
}

/** A call's place is kept across its retries: its run and activity id. */
function callKey(): string {
  const { workflowExecution, activityId } = Context.current().info;
  return `${workflowExecution?.runId}/${activityId}`;
}

function diverged(d: Divergence): ApplicationFailure {
  return ApplicationFailure.create({ message: `the replay diverged from the cassette: ${describeDivergence(d)}`, type: DIVERGENCE_FAILURE, nonRetryable: true });
}

export function describeDivergence(d: Divergence): string {
  const where = [d.path.join(' › ') || d.replaySessionId, d.turn !== undefined ? `turn ${d.turn}` : undefined, `call ${d.call + 1}`].filter(Boolean).join(', ');
  return `${d.kind} at ${where}: recorded ${d.recorded}; asked ${d.asked}`;
}
