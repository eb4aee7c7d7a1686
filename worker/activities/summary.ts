/**
 * The summary activity (workflows/summaries.ts): writes a summary of the older turns a session
 * replaces to stay within its model's window. The replaced messages come in its input (history
 * keeps them); the summary goes out as its result, recorded once.
 *
 * The summary model gets the turns as one text (tool calls and results written out, so no
 * provider sees a tool result without its call). Turns that would not fit the summary model's
 * window go in parts: each part's summary is carried into the next call, and the last is the
 * result. A single message longer than a part is cut in its middle for the summary only.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { addUsage, estimateTokens, FailureTypes, fitText, SummaryInputSchema, type Message, type SummaryInput, type SummaryResult, type Usage } from '../../common';
import { costMicroUsd } from '../pricing';
import { resolveProvider, type ProviderRegistry } from '../providers/router';
import { parseActivityInput } from './input';
import { toActivityFailure } from './model';
import { withProgressWatchdog, type ProgressTracker } from './progress';

/** A summary is meant to be short; a model that rambles is cut (and the cut marked) here. */
const SUMMARY_MAX_BYTES = 32 * 1024;
/** Of the summary model's window, what one part of the turns may fill (the rest: instructions, the summary so far, the answer). */
const PART_SHARE = 0.6;

export function createSummaryActivities({ providers }: { providers: ProviderRegistry }) {
  return {
    async summarizeTranscript(request: SummaryInput): Promise<SummaryResult> {
      const input = parseActivityInput(SummaryInputSchema, request, 'summary input');
      const { modelRef, prompt } = providers.contextWindows.summary;
      const route = modelRef ? resolveProvider(providers, { model: modelRef.model, modelRef }) : resolveProvider(providers, input);
      if (route.warning) log.warn(route.warning, { sessionId: input.sessionId });
      // The summary model's window; the session's when the summary is its own model's and the worker knows none.
      const windowTokens = providers.contextWindows.of(route.model, route.provider.name)?.windowTokens ?? (modelRef ? undefined : input.contextWindowTokens);
      const parts = summaryParts(input.messages, windowTokens ? Math.max(16, Math.floor(windowTokens * PART_SHARE)) : Infinity);
      const phase = `summary by ${route.provider.name}/${route.model} of ${input.messages.length} message(s)`;
      return withProgressWatchdog({ phase, maxIdleSecs: input.maxIdleSecs, runDeadline: input.runDeadline }, async (progress) => {
        let summary = '';
        let usage: Usage = { inputTokens: 0, outputTokens: 0 };
        for (const [i, part] of parts.entries()) {
          const text = summary ? `The summary so far:\n${summary}\n\nThe conversation went on:\n\n${part}` : `The conversation so far:\n\n${part}`;
          const written = await stream(route, [instructions(prompt), { id: `summary-part-${i + 1}`, role: 'user', content: text, createdAt: '' }], progress, windowTokens);
          usage = addUsage(usage, written.usage);
          summary = written.text;
        }
        if (summary.trim() === '') throw ApplicationFailure.nonRetryable(`${route.provider.name}/${route.model} wrote an empty summary`, FailureTypes.providerError);
        const price = providers.priceOf(route.model, route.provider.name);
        const cost = price ? { costMicroUsd: costMicroUsd(price, usage) } : {};
        return { summary: fitText(summary, SUMMARY_MAX_BYTES), usage, ...cost, provider: route.provider.name, model: route.model };
      });
    },
  };
}

async function stream(
  route: ReturnType<typeof resolveProvider>,
  messages: Message[],
  progress: ProgressTracker,
  contextWindowTokens: number | undefined,
): Promise<{ text: string; usage: Usage }> {
  let text = '';
  let usage: Usage = { inputTokens: 0, outputTokens: 0 };
  try {
    const parts = route.provider.stream({
      model: route.model,
      messages,
      tools: [],
      signal: progress.signal,
      attempt: Context.current().info.attempt,
      purpose: 'summary',
      ...(contextWindowTokens ? { contextWindowTokens } : {}),
    });
    for await (const part of parts) {
      if (part.type === 'text-delta') {
        text += part.text;
        progress.record({ text: part.text });
      } else if (part.type === 'usage') usage = addUsage(usage, part.usage);
      else progress.record({});
    }
  } catch (error) {
    throw toActivityFailure(error);
  }
  return { text, usage };
}

const instructions = (prompt: string): Message => ({ id: 'summary-instructions', role: 'system', content: prompt, createdAt: '' });

/** The replaced turns as texts, each within `partTokens` (estimated) where it can be. */
export function summaryParts(replaced: readonly Message[], partTokens: number): string[] {
  const parts: string[] = [];
  let current: string[] = [];
  let tokens = 0;
  for (const m of replaced) {
    let text = render(m);
    let size = estimateTokens([{ ...m, content: text, toolCalls: undefined }]);
    if (size > partTokens) {
      text = fitText(text, Math.max(64, partTokens * 4 - 64));
      size = partTokens;
    }
    if (tokens + size > partTokens && current.length > 0) {
      parts.push(current.join('\n\n'));
      current = [];
      tokens = 0;
    }
    current.push(text);
    tokens += size;
  }
  if (current.length > 0) parts.push(current.join('\n\n'));
  return parts;
}

function render(m: Message): string {
  const calls = m.toolCalls?.map((c) => `\n(calls ${c.name} ${JSON.stringify(c.arguments)} as ${c.id})`).join('') ?? '';
  const label = m.role === 'tool' ? `tool result${m.toolCallId ? ` for ${m.toolCallId}` : ''}` : m.role;
  return `[${label}]\n${m.content}${calls}`;
}
