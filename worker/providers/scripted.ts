/**
 * The `scripted` provider: deterministic and offline, FOR DEMOS AND TESTS ONLY.
 * It never calls a model. It reads directives from the latest user message and acts them
 * out in order, then answers `echo: <that message without directives>`:
 *
 *   [[sleep:S]]            stream one token a second for S seconds (progress each second)
 *   [[stall:S]]            send nothing for S seconds (trips the idle watchdog)
 *   [[fail:TEXT]]          fail non-retryably with TEXT
 *   [[flaky:N]]            fail retryably on attempts 1..N, then go on
 *   [[spawn:TITLE|PROMPT]] call the `spawn_session` tool (repeatable)
 *   [[tool:NAME|JSON]]     call any tool with JSON arguments (repeatable)
 *   [[rounds:N|NAME|JSON]] call tool NAME once per model call for N rounds, then answer
 *
 * Directives act only on the first model call after the user message; once tool results
 * have come back, it answers at once — except `rounds`, which keeps a long loop going.
 *
 * A window (`models` in the worker's configuration) is enforced: a call whose words pass it is
 * refused with an OpenAI-compatible server's context-length error. A summary call answers
 * `scripted summary of N words: "…"` (its first and last words); `[[slow-summary:S]]` anywhere
 * in the summarised turns makes it take S seconds.
 *
 * Usage, deterministic: inputTokens = the words of every message sent; outputTokens = the
 * words of the answer (0 when it calls tools); cachedInputTokens, only on a call whose
 * transcript already holds an assistant message (the session's prompt was sent before, as
 * a real provider's prompt cache would see it) = the words of the leading system messages.
 * A session's first call reports no cached tokens.
 */
import type { Message, ToolCall, Usage } from '../../common';
import { lastUserText } from '../../common';
import { sleep } from '../sleep';
import { parseDirectives, splitPipe, type Directive } from './directives';
import { ProviderError, type ModelProvider, type ModelRequest, type ModelStreamPart } from './types';

export const SCRIPTED_PROVIDER_NAME = 'scripted';
export const SPAWN_TOOL_NAME = 'spawn_session';

export function createScriptedProvider(options: { secondMs?: number } = {}): ModelProvider {
  const secondMs = options.secondMs ?? 1000;
  return {
    name: SCRIPTED_PROVIDER_NAME,
    stream: (request) => scriptedStream(request, secondMs),
  };
}

async function* scriptedStream(request: ModelRequest, secondMs: number): AsyncGenerator<ModelStreamPart> {
  refuseBeyondWindow(request);
  if (request.purpose === 'summary') {
    yield* scriptedSummary(request, secondMs);
    return;
  }
  const userText = lastUserText(request.messages);
  const script = parseDirectives(userText);
  const toolCalls: ToolCall[] = [];
  if (isFirstCallOfTurn(request.messages)) {
    for (const [index, directive] of script.directives.entries()) {
      yield* actOut(directive, index, request, secondMs, toolCalls);
    }
  } else {
    for (const directive of script.directives) if (directive.name === 'rounds') nextRound(directive, request.messages, toolCalls);
  }
  for (const call of toolCalls) yield { type: 'tool-call', call };
  const answer = toolCalls.length > 0 ? '' : `echo: ${script.text}`;
  if (answer) yield { type: 'text-delta', text: answer };
  yield { type: 'usage', usage: scriptedUsage(request.messages, answer) };
}

/** A window the worker configured is enforced the way an OpenAI-compatible server does: a 400 in its words. */
function refuseBeyondWindow(request: ModelRequest): void {
  const window = request.contextWindowTokens;
  const tokens = countWords(request.messages);
  if (window === undefined || tokens <= window) return;
  throw new ProviderError(
    `This model's maximum context length is ${window} tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`,
    false,
    { status: 400, contextLength: { windowTokens: window } },
  );
}

/** A short, deterministic summary: how much it covers, and its first and last words (directives left out). */
async function* scriptedSummary(request: ModelRequest, secondMs: number): AsyncGenerator<ModelStreamPart> {
  const text = request.messages.at(-1)?.content ?? '';
  const slow = /\[\[slow-summary:(\d+)\]\]/.exec(text);
  for (let s = 1; s <= Number(slow?.[1] ?? 0); s++) {
    await sleep(secondMs, request.signal);
    yield { type: 'progress' };
  }
  const plain = parseDirectives(text.replace(/\[\[slow-summary:\d+\]\]/g, '')).text.split(/\s+/).filter(Boolean);
  const answer = `scripted summary of ${plain.length} words: "${plain.slice(4, 16).join(' ')} … ${plain.slice(-12).join(' ')}"`;
  yield { type: 'text-delta', text: answer };
  yield { type: 'usage', usage: { inputTokens: countWords(request.messages), outputTokens: words(answer) } };
}

/** The scripted provider's deterministic usage (see the header). */
export function scriptedUsage(messages: readonly Message[], answer: string): Usage {
  const usage: Usage = { inputTokens: countWords(messages), outputTokens: words(answer) };
  if (messages.some((m) => m.role === 'assistant')) {
    const leading = messages.findIndex((m) => m.role !== 'system');
    usage.cachedInputTokens = countWords(messages.slice(0, leading === -1 ? messages.length : leading));
  }
  return usage;
}

async function* actOut(
  directive: Directive,
  index: number,
  request: ModelRequest,
  secondMs: number,
  toolCalls: ToolCall[],
): AsyncGenerator<ModelStreamPart> {
  switch (directive.name) {
    case 'sleep':
      for (let s = 1; s <= seconds(directive); s++) {
        await sleep(secondMs, request.signal);
        yield { type: 'text-delta', text: `tick ${s} ` };
      }
      return;
    case 'stall':
      await sleep(seconds(directive) * secondMs, request.signal);
      return;
    case 'fail':
      throw new ProviderError(directive.arg.trim() || 'scripted failure', false);
    case 'flaky': {
      const failures = seconds(directive);
      if (request.attempt <= failures) {
        throw new ProviderError(`scripted transient failure (attempt ${request.attempt} of ${failures})`, true);
      }
      return;
    }
    case 'spawn': {
      const [title, prompt] = splitPipe(directive.arg);
      toolCalls.push({
        id: `call_${index + 1}`,
        name: SPAWN_TOOL_NAME,
        arguments: { title: title.trim(), responsibility: title.trim(), prompt: prompt.trim(), subagent_type: 'general' },
      });
      return;
    }
    case 'tool': {
      const [name, json] = splitPipe(directive.arg);
      toolCalls.push({ id: `call_${index + 1}`, name: name.trim(), arguments: parseArguments(json) });
      return;
    }
    case 'rounds':
      nextRound(directive, request.messages, toolCalls);
      return;
    default:
      return; // unknown directives are plain text to a real model; ignore them here too
  }
}

/** `[[rounds:N|NAME|JSON]]`: one call of NAME while fewer than N rounds followed the user message. */
function nextRound(directive: Directive, messages: readonly Message[], toolCalls: ToolCall[]): void {
  const [count, call] = splitPipe(directive.arg);
  const [name, json] = splitPipe(call);
  const lastUser = messages.findLastIndex((m) => m.role === 'user');
  const done = messages.slice(lastUser + 1).filter((m) => m.role === 'assistant').length;
  if (done < Number(count)) toolCalls.push({ id: `round_${done + 1}`, name: name.trim(), arguments: parseArguments(json) });
}

/** True when nothing (no assistant reply, no tool result) follows the latest user message. */
function isFirstCallOfTurn(messages: readonly Message[]): boolean {
  return messages.at(-1)?.role === 'user';
}

function seconds(directive: Directive): number {
  const value = Number(directive.arg.trim());
  if (!Number.isFinite(value) || value < 0) {
    throw new ProviderError(`scripted directive [[${directive.name}:${directive.arg}]] needs a number >= 0`, false);
  }
  return value;
}

function parseArguments(json: string): Record<string, unknown> {
  if (json.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new ProviderError(`scripted [[tool:…]] arguments must be a JSON object, got: ${json}`, false);
}

function countWords(messages: readonly Message[]): number {
  return messages.reduce((n, m) => n + words(m.content), 0);
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
