/**
 * One streamed model call through the Vercel AI SDK, as Bamboo stream parts. The SDK's own
 * retries are off (`maxRetries: 0`): retrying is the Temporal activity's job, so every
 * attempt is visible in history and bounded by the run's budget.
 */
import { jsonSchema, streamText, tool, type LanguageModel, type ToolSet } from 'ai';
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
          yield { type: 'usage', usage: { inputTokens: part.totalUsage.inputTokens ?? 0, outputTokens: part.totalUsage.outputTokens ?? 0 } };
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

function toToolSet(specs: readonly ToolSpec[]): ToolSet | undefined {
  if (specs.length === 0) return undefined;
  // No `execute`: the model only proposes calls; the workflow runs them as activities.
  return Object.fromEntries(specs.map((s) => [s.name, tool({ description: s.description, inputSchema: jsonSchema(s.parameters) })]));
}

function asObject(input: unknown): Record<string, unknown> {
  return input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : { value: input };
}
