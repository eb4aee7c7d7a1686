/**
 * The model activity: one streamed model call, heartbeating on every chunk.
 * Retry layer: transient provider failures are retried by this activity's Temporal retry
 * policy (set in the workflow, bounded by the run's total budget); a ProviderError's
 * `retryAfterMs` becomes the next retry delay.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { FailureTypes, ModelTurnInputSchema, type ModelTurnResult, type ToolCall } from '../src/domain';
import { resolveProvider, type ProviderRegistry } from '../src/providers/router';
import { ProviderError, type ToolSpec } from '../src/providers/types';
import type { ToolRegistry } from '../src/tools/types';
import { parseActivityInput } from './input';
import { withProgressWatchdog } from './progress';

export interface ModelActivityDeps {
  providers: ProviderRegistry;
  tools: ToolRegistry;
}

export function createModelActivities({ providers, tools }: ModelActivityDeps) {
  return {
    async callModel(rawInput: unknown): Promise<ModelTurnResult> {
      const input = parseActivityInput(ModelTurnInputSchema, rawInput, 'model turn input');
      const route = resolveProvider(providers, input);
      const warnings = route.warning ? [route.warning] : [];
      if (route.warning) log.warn(route.warning, { sessionId: input.sessionId });
      const disabled = new Set(input.disabledTools ?? []);
      const toolSpecs: ToolSpec[] = [
        ...[...tools.values()].map((t) => t.spec).filter((spec) => !disabled.has(spec.name)),
        ...(input.workflowTools ?? []),
      ];
      const phase = `model ${route.provider.name}/${route.model} (turn ${input.turn})`;
      return withProgressWatchdog({ phase, maxIdleSecs: input.maxIdleSecs }, async (progress) => {
        let content = '';
        const toolCalls: ToolCall[] = [];
        const usage = { inputTokens: 0, outputTokens: 0 };
        try {
          const stream = route.provider.stream({
            model: route.model,
            messages: input.messages,
            tools: toolSpecs,
            signal: progress.signal,
            attempt: Context.current().info.attempt,
          });
          for await (const part of stream) {
            if (part.type === 'text-delta') {
              content += part.text;
              progress.record({ text: part.text });
            } else if (part.type === 'tool-call') {
              toolCalls.push(part.call);
              progress.record({ note: `tool call ${part.call.name}` });
            } else {
              usage.inputTokens += part.usage.inputTokens;
              usage.outputTokens += part.usage.outputTokens;
            }
          }
        } catch (error) {
          throw toActivityFailure(error);
        }
        return { content, toolCalls, usage, provider: route.provider.name, warnings };
      });
    },
  };
}

function toActivityFailure(error: unknown): unknown {
  if (!(error instanceof ProviderError)) return error;
  return ApplicationFailure.create({
    message: error.message,
    type: FailureTypes.providerError,
    nonRetryable: !error.retryable,
    details: [{ status: error.options.status }],
    nextRetryDelay: error.options.retryAfterMs,
  });
}
