/**
 * Reading a transcript through the `transcript` query in pages. The server warns about any
 * payload over 512 KB (and a session may hold up to 1 MiB), so readers ask for bounded pages.
 * Pure: workflow query handlers use `transcriptPage`.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { utf8Bytes } from './compaction';
import type { Message } from './session';

export const TranscriptQuerySchema = sharedSchema('transcript-page.TranscriptQuerySchema', () => z.object({
  /** Read messages [from, count): `count` is the transcript length the reader expects. */
  count: z.number().int().min(0),
  from: z.number().int().min(0).default(0),
  /** Stop a page before it passes this many bytes of JSON (a page holds at least one message). */
  maxBytes: z.number().int().positive().optional(),
}));
export type TranscriptQuery = z.input<typeof TranscriptQuerySchema>;

/** What readers ask for per page: well under the server's 512 KB warning. */
export const TRANSCRIPT_PAGE_BYTES = 256 * 1024;

export function transcriptPage(messages: readonly Message[], query: TranscriptQuery): Message[] {
  const { count, from, maxBytes } = TranscriptQuerySchema.parse(query);
  const slice = messages.slice(from, count);
  if (maxBytes === undefined) return slice;
  let bytes = 0;
  let end = 0;
  while (end < slice.length) {
    bytes += utf8Bytes(JSON.stringify(slice[end])) + 1;
    if (end > 0 && bytes > maxBytes) break;
    end += 1;
  }
  return slice.slice(0, end);
}

/** Reads messages [0, count) page by page with `query` (the workflow's `transcript` query). */
export async function readTranscriptPages(count: number, query: (q: TranscriptQuery) => Promise<Message[]>): Promise<Message[]> {
  const messages: Message[] = [];
  while (messages.length < count) {
    const page = await query({ count, from: messages.length, maxBytes: TRANSCRIPT_PAGE_BYTES });
    if (page.length === 0) break; // the transcript is shorter than expected: the caller decides
    messages.push(...page);
  }
  return messages;
}

/**
 * A 64-bit digest of a transcript (FNV-1a and djb2, 32 bits each) over each message's id, role,
 * content length, first and last 16 characters and tool-call fields: a worker's cached copy is used only when what it
 * assembles has the digest the workflow sent. Linear in the number of messages, not their
 * bytes: the workflow computes it for every model call, on replay too. Messages are never
 * edited in place keeping their length (compaction shortens them or drops them, and a dropped
 * message's successor has another id); the messages a call adds travel whole.
 */
export function transcriptDigest(messages: readonly Message[]): string {
  let fnv = 0x811c9dc5;
  let djb = 5381;
  for (const m of messages) {
    const key = `${m.id}|${m.role}|${m.content.length}|${m.content.slice(0, 16)}|${m.content.slice(-16)}|${m.toolCallId ?? ''}|${m.toolCalls?.length ?? 0}\n`;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      fnv = Math.imul(fnv ^ c, 0x01000193);
      djb = (Math.imul(djb, 33) + c) | 0;
    }
  }
  return `${(fnv >>> 0).toString(16).padStart(8, '0')}${(djb >>> 0).toString(16).padStart(8, '0')}`;
}
