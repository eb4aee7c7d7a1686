/**
 * One streamed model call through the Vercel AI SDK, as Bamboo stream parts. The SDK's own
 * retries are off (`maxRetries: 0`): retrying is the Temporal activity's job, so every
 * attempt is visible in history and bounded by the run's budget.
 *
 * Usage is the SDK's, read from the stream's `finish` part (docs/configuration.md#usage):
 * `inputTokens` is every input token of the call, `cachedInputTokens` those read from the
 * provider's prompt cache (`inputTokenDetails.cacheReadTokens`), always part of inputTokens:
 *  - OpenAI-compatible: `prompt_tokens`, of which `prompt_tokens_details.cached_tokens`;
 *  - Anthropic: its `input_tokens` excludes the cache, so inputTokens is `input_tokens +
 *    cache_creation_input_tokens + cache_read_input_tokens` (the SDK adds them up), and
 *    cachedInputTokens is `cache_read_input_tokens`. Cache writes count as plain input.
 * cachedInputTokens is left out when the provider's usage says nothing about its cache.
 */
import { jsonSchema, streamText, tool, type LanguageModel, type LanguageModelUsage, type ToolSet } from 'ai';
import type { Usage } from '../../common';
import { toModelMessages } from './model-messages';
import { classifyProviderError } from './provider-errors';
import type { ModelRequest, ModelStreamPart, ToolSpec } from './types';

export async function* streamWithAiSdk(model: LanguageModel, request: ModelRequest, provider: string): AsyncGenerator<ModelStreamPart> {
  // The session's leading system messages are its instructions: the AI SDK wants them in
  // `system` (it warns about system messages among the others, a prompt-injection risk).
  const leading = request.messages.findIndex((m) => m.role !== 'system');
  const split = leading === -1 ? request.messages.length : leading;
  const system = request.messages.slice(0, split).map((m) => m.content).join('\n\n');
  const result = streamText({
    model,
    system: system || undefined,
    messages: toModelMessages(request.messages.slice(split)),
    tools: toToolSet(request.tools),
    abortSignal: request.signal,
    maxRetries: 0,
  });
  try {
    for await (const part of result.fullStream) {
      switch (part.type) {
        case 'text-delta':
          yield { type: 'text-delta', text: part.text };
          break;
        case 'tool-input-delta':
          yield { type: 'progress' };
          break;
        case 'tool-call':
          yield { type: 'tool-call', call: { id: part.toolCallId, name: part.toolName, arguments: asObject(part.input) } };
          break;
        case 'finish':
          yield { type: 'usage', usage: toUsage(part.totalUsage) };
          break;
        case 'error':
          throw part.error;
        default:
          break;
      }
    }
  } catch (error) {
    if (request.signal.aborted) throw request.signal.reason;
    throw classifyProviderError(error, provider);
  }
}

/** The SDK's usage of a call as ours (see the header). */
export function toUsage(usage: LanguageModelUsage): Usage {
  const inputTokens = count(usage.inputTokens);
  const result: Usage = { inputTokens, outputTokens: count(usage.outputTokens) };
  const cached = usage.inputTokenDetails?.cacheReadTokens;
  if (cached !== undefined && (cached > 0 || reportsCache(usage.raw))) result.cachedInputTokens = Math.min(count(cached), inputTokens);
  return result;
}

function count(tokens: number | undefined): number {
  return tokens !== undefined && Number.isSafeInteger(tokens) && tokens > 0 ? tokens : 0;
}

/**
 * Whether the provider's own usage object names its prompt cache (the SDK reports 0 cached
 * tokens for an OpenAI-compatible server that says nothing about caching, e.g. Ollama).
 */
function reportsCache(raw: unknown): boolean {
  if (!raw || typeof raw !== 'object') return false;
  const wire = raw as { cache_read_input_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null };
  return typeof wire.cache_read_input_tokens === 'number' || typeof wire.prompt_tokens_details?.cached_tokens === 'number';
}

function toToolSet(specs: readonly ToolSpec[]): ToolSet | undefined {
  if (specs.length === 0) return undefined;
  // No `execute`: the model only proposes calls; the workflow runs them as activities.
  return Object.fromEntries(specs.map((s) => [s.name, tool({ description: s.description, inputSchema: jsonSchema(s.parameters) })]));
}

function asObject(input: unknown): Record<string, unknown> {
  return input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : { value: input };
}
