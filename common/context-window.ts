/**
 * Keeping a session within its model's context window by summarising older turns
 * (docs/architecture.md#context-window-and-summaries).
 *
 * The worker knows each model's window (its configuration, else defaults for known models) and
 * says it in every model call's result; the workflow keeps the last call's input tokens beside
 * it and, before the next call, estimates what the transcript has grown to. Past the threshold,
 * a summary call (one activity, recorded once) replaces the older turns with one marked
 * message; the leading system messages and the most recent turns stay whole, and a tool call
 * is never parted from its results. The replaced messages travel in that activity's input, so
 * history keeps them byte for byte: `expandTranscript` puts them back for `bamboo transcript --full`.
 *
 * Pure and deterministic: workflows call it.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import type { Message, Session } from './session';

/** What the worker says about the routed model's window, in each model call's result. */
export const ContextWindowSchema = sharedSchema('context-window.ContextWindowSchema', () => z.object({
  /** The model's context window in tokens. */
  windowTokens: z.number().int().positive(),
  /** Summarise before a call whose transcript is estimated past this many tokens. */
  compactAtTokens: z.number().int().positive(),
  /** How many tokens of the most recent turns a summary keeps whole. */
  keepTokens: z.number().int().positive(),
}));
export type ContextWindow = z.infer<typeof ContextWindowSchema>;

/** Session metadata: the window and the last call's input tokens, carried across runs and continue-as-new. */
export const CONTEXT_METADATA_KEY = 'context_window';
/** Message metadata: the summary's id; the messages it replaced are in that summary call's input. */
export const SUMMARY_METADATA_KEY = 'summary_of';

interface ContextState extends ContextWindow {
  /** The last call's input tokens, as the provider counted them… */
  inputTokens: number;
  /** …for the first this many messages. */
  messageCount: number;
}

/** A rough token count: four characters a token, tool calls by their JSON. Errs high on prose, which is the safe side. */
export function estimateTokens(messages: readonly Message[]): number {
  let chars = 0;
  for (const m of messages) chars += m.content.length + (m.toolCalls ? JSON.stringify(m.toolCalls).length : 0) + 16;
  return Math.ceil(chars / 4);
}

export function readContext(session: Session): ContextState | undefined {
  const text = session.metadata[CONTEXT_METADATA_KEY];
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as ContextState;
    return [value.windowTokens, value.compactAtTokens, value.keepTokens, value.inputTokens, value.messageCount].every((n) => Number.isInteger(n) && n >= 0)
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

/** After a model call: what it was sent (`messageCount` messages, `inputTokens` as counted) and the model's window. */
export function recordContext(session: Session, window: ContextWindow | undefined, inputTokens: number, messageCount: number): void {
  const known = window ?? readContext(session);
  if (!known) return;
  const { windowTokens, compactAtTokens, keepTokens } = known;
  // A provider that reports no usage leaves the estimate to stand in for its count.
  const counted = inputTokens > 0 ? inputTokens : estimateTokens(session.messages.slice(0, messageCount));
  session.metadata[CONTEXT_METADATA_KEY] = JSON.stringify({ windowTokens, compactAtTokens, keepTokens, inputTokens: counted, messageCount });
}

/** The transcript's estimated tokens now: the last call's count plus an estimate of what was added since. */
export function transcriptTokens(session: Session): number {
  const context = readContext(session);
  if (!context || context.messageCount > session.messages.length) return estimateTokens(session.messages);
  return context.inputTokens + estimateTokens(session.messages.slice(context.messageCount));
}

/** Session metadata: the estimate at which a summary last failed; none is tried again before the transcript grows by `keepTokens`. */
export const SUMMARY_FAILED_METADATA_KEY = 'summary_failed_at';

/** True when the next call should be preceded by a summary (a window is known and the estimate passes its threshold). */
export function summaryDue(session: Session): boolean {
  const context = readContext(session);
  if (context === undefined) return false;
  const tokens = transcriptTokens(session);
  const failedAt = Number(session.metadata[SUMMARY_FAILED_METADATA_KEY]);
  if (Number.isFinite(failedAt) && tokens < failedAt + context.keepTokens) return false;
  return tokens > context.compactAtTokens;
}

/** The messages [start, end) a summary replaces. */
export interface SummaryPlan {
  start: number;
  end: number;
}

/**
 * Which messages to summarise, keeping about `keepTokens` of the most recent ones whole:
 * the leading system messages stay, and the kept part starts at a user or assistant message
 * (an assistant's tool calls stay with their results). At least one message other than an
 * earlier summary is replaced; undefined when nothing can be.
 */
export function planSummary(messages: readonly Message[], keepTokens: number, minReplacedTokens = 0): SummaryPlan | undefined {
  let start = 0;
  while (start < messages.length && messages[start].role === 'system') start += 1;
  // Candidate starts of the kept part: not a tool result, and leaving the last message kept.
  const boundaries: number[] = [];
  for (let i = start + 1; i < messages.length; i++) if (messages[i].role !== 'tool') boundaries.push(i);
  if (boundaries.length === 0) return undefined;
  let end = boundaries.at(-1)!;
  let kept = estimateTokens(messages.slice(end));
  for (let b = boundaries.length - 2; b >= 0; b--) {
    const grown = kept + estimateTokens(messages.slice(boundaries[b], boundaries[b + 1]));
    if (grown > keepTokens) break;
    kept = grown;
    end = boundaries[b];
  }
  const replaced = messages.slice(start, end);
  if (!replaced.some((m) => m.metadata?.[SUMMARY_METADATA_KEY] === undefined)) return undefined;
  // Too little to gain: a summary each turn would double the turn's calls.
  if (estimateTokens(replaced) < minReplacedTokens) return undefined;
  return { start, end };
}

/** The marked message that stands for the replaced ones. */
export function summaryText(replacedCount: number, summary: string): string {
  return `[Summary of ${replacedCount} earlier message(s), written when the conversation neared the model's context window]\n\n${summary}`;
}

/** One entry of the full transcript: an original message, or a marker where a summary stood in for some. */
export type FullTranscriptEntry =
  | { kind: 'message'; message: Message }
  | { kind: 'summary'; summaryId: string; replaced: number; message: Message };

/**
 * The conversation with every summary opened up: each summary message is preceded by the
 * messages it replaced (themselves opened up, for a summary of a summary) and kept as a
 * marker. A summary whose replaced messages are not at hand (history past its retention)
 * stays as a marker with `replaced: 0`.
 */
export function expandTranscript(messages: readonly Message[], replacedBy: ReadonlyMap<string, readonly Message[]>): FullTranscriptEntry[] {
  const out: FullTranscriptEntry[] = [];
  // Each summary is opened once: ids are unique, but a hand-made history could still loop.
  const opened = new Set<string>();
  const open = (list: readonly Message[]) => {
    for (const message of list) {
      const id = message.metadata?.[SUMMARY_METADATA_KEY];
      if (id === undefined) {
        out.push({ kind: 'message', message });
        continue;
      }
      const replaced = opened.has(id) ? undefined : replacedBy.get(id);
      opened.add(id);
      if (replaced) open(replaced);
      out.push({ kind: 'summary', summaryId: id, replaced: replaced?.length ?? 0, message });
    }
  };
  open(messages);
  return out;
}

/**
 * A provider's "the prompt is longer than the context window" error, by its wording
 * (OpenAI-compatible servers and Anthropic), and the window it names when it names one.
 */
export function contextLengthError(message: string): { windowTokens?: number } | undefined {
  const matches =
    /context[_ ]length[_ ]exceeded|maximum context length|exceeds? (the )?context (window|limit)|prompt is too long|input is too long|too many (input )?tokens|reduce the length of the (messages|prompt)|input token count .*exceeds the maximum/i.test(
      message,
    );
  if (!matches) return undefined;
  const stated =
    /maximum context length is (\d+)/i.exec(message) ?? /> ?(\d+) maximum/i.exec(message) ?? /exceed context limit: [\d\s+]+> ?(\d+)/i.exec(message) ?? /context window of (\d+)/i.exec(message);
  const windowTokens = stated ? Number(stated[1]) : undefined;
  return windowTokens && windowTokens > 0 ? { windowTokens } : {};
}
