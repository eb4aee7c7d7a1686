/**
 * Keeping a session snapshot small enough to travel as one Temporal payload.
 *
 * A snapshot is a run's result and a continue-as-new input. Temporal rejects a payload over
 * 2 MB by terminating the workflow (and warns from 512 KB), which would lose the session. So
 * when a snapshot passes SNAPSHOT_BUDGET_BYTES it is compacted in place, largest content
 * first: a message's middle is cut, keeping its head and tail and saying what was cut; if
 * that is not enough, the oldest messages after the first (usually the task) are dropped.
 * The session's metadata records what was done. Models' context windows are far smaller
 * than this budget, so what is cut could not have been sent to a model in full anyway.
 *
 * Pure and deterministic: workflows call it.
 */
import type { Session } from './session';

export const SNAPSHOT_BUDGET_BYTES = 1024 * 1024;
/** Characters kept at each end of a message whose middle is cut. */
const KEEP_EACH_END = 2000;
export const COMPACTION_METADATA_KEY = 'transcript_compacted';
/** Room left for the metadata note that records the compaction. */
const NOTE_RESERVE_BYTES = 256;

export interface Compaction {
  messagesCut: number;
  messagesDropped: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** UTF-8 length of `text`, without needing TextEncoder (workflow sandbox, any runtime). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Size of `value` as JSON, the way the default payload converter writes it. */
export const jsonBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value));

/**
 * What one continue-as-new may carry. The server refuses a payload over 2 MiB (the SDK refuses
 * to send one first, and the workflow task fails for good); the rest is headroom for the
 * encoding (metadata, encryption).
 */
export const CONTINUE_AS_NEW_BUDGET_BYTES = 1792 * 1024;
/** The least room a session gets in a continue-as-new input (the smallest transcriptBudgetBytes). */
export const MIN_SESSION_BUDGET_BYTES = 16 * 1024;

/**
 * `text` with about `remove` characters cut from its middle and a marker in their place.
 * Never splits a surrogate pair.
 */
function cutMiddle(text: string, remove: number): string {
  let head = Math.floor((text.length - remove) / 2);
  let tail = text.length - remove - head;
  if (head > 0 && isHighSurrogate(text.charCodeAt(head - 1))) head -= 1;
  if (tail > 0 && isLowSurrogate(text.charCodeAt(text.length - tail))) tail -= 1;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n[… ${cut} characters cut to keep the session under Temporal's payload limit …]\n${text.slice(text.length - tail)}`;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** Compacts `session` in place when its JSON passes `budget` bytes; undefined when it fits. */
export function compactSession(session: Session, budget = SNAPSHOT_BUDGET_BYTES): Compaction | undefined {
  const bytesBefore = jsonBytes(session);
  if (bytesBefore <= budget) return undefined;
  let size = bytesBefore;
  const target = budget - NOTE_RESERVE_BYTES;
  let messagesCut = 0;
  let messagesDropped = 0;

  const largestFirst = session.messages.map((m, i) => ({ i, length: m.content.length })).sort((a, b) => b.length - a.length || a.i - b.i);
  for (const { i } of largestFirst) {
    if (size <= target) break;
    const message = session.messages[i];
    const removable = message.content.length - 2 * KEEP_EACH_END;
    if (removable <= 0) break; // the rest are smaller still
    // Each character removed frees at least one byte; the marker costs a little back.
    const remove = Math.min(removable, size - target + 200);
    const before = jsonBytes(message.content);
    message.content = cutMiddle(message.content, remove);
    size += jsonBytes(message.content) - before;
    messagesCut += 1;
  }

  // Many smaller messages: drop the oldest after the first, and any tool results left
  // without the call they answered. The latest message always stays.
  while (size > target && session.messages.length > 2) {
    let count = 1;
    while (1 + count < session.messages.length - 1 && session.messages[1 + count].role === 'tool') count += 1;
    for (const dropped of session.messages.splice(1, count)) size -= jsonBytes(dropped) + 1; // + its comma
    messagesDropped += count;
  }

  session.metadata[COMPACTION_METADATA_KEY] = `${messagesCut} message(s) cut, ${messagesDropped} dropped to fit ${budget} bytes (was ${bytesBefore})`;
  return { messagesCut, messagesDropped, bytesBefore, bytesAfter: jsonBytes(session) };
}

/** A model's or agent's reply is one activity result: also one payload. */
export const REPLY_BUDGET_BYTES = 1024 * 1024;

/** `text` if it fits in `maxBytes` of UTF-8, else with its middle cut (and marked) until it does. */
export function fitText(text: string, maxBytes = REPLY_BUDGET_BYTES): string {
  const bytes = utf8Bytes(text);
  if (bytes <= maxBytes) return text;
  let remove = Math.ceil(text.length * (1 - maxBytes / bytes)) + 200;
  for (;;) {
    const cut = cutMiddle(text, Math.min(remove, text.length));
    if (utf8Bytes(cut) <= maxBytes || remove >= text.length) return cut;
    remove = Math.ceil(remove * 1.2);
  }
}

/**
 * How a continue-as-new input is made to fit CONTINUE_AS_NEW_BUDGET_BYTES, given the bytes of
 * everything it carries besides the session and the messages queued for the next turn:
 * `fold` when session and queue together would not fit (the queue then joins the session, where
 * compaction can cut it), and the budget the session is compacted to. `undefined` when the rest
 * alone leaves less than MIN_SESSION_BUDGET_BYTES: the run cannot continue-as-new.
 */
export function planContinueAsNew(
  session: Session,
  queued: readonly string[],
  restBytes: number,
  transcriptBudgetBytes: number,
): { fold: boolean; sessionBudgetBytes: number } | undefined {
  const room = CONTINUE_AS_NEW_BUDGET_BYTES - restBytes;
  if (room < MIN_SESSION_BUDGET_BYTES) return undefined;
  const fold = jsonBytes(session) + jsonBytes(queued) > Math.min(transcriptBudgetBytes, room);
  return { fold, sessionBudgetBytes: Math.min(transcriptBudgetBytes, room) };
}
