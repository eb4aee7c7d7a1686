/** Transcript pages: bounded in bytes, in order, and read to the end by the paging reader. */
import { readTranscriptPages, transcriptPage, TRANSCRIPT_PAGE_BYTES, type Message, type TranscriptQuery } from '../../common';

const messages: Message[] = Array.from({ length: 40 }, (_, i) => ({
  id: `m${i}`,
  role: i % 2 ? 'assistant' : 'user',
  content: `${i}:${'x'.repeat(30_000)}`,
  createdAt: '2026-11-25T00:00:00.000Z',
}));
const bytes = (page: Message[]) => Buffer.byteLength(JSON.stringify(page));

test('without maxBytes a query returns [from, count), as old readers expect', () => {
  expect(transcriptPage(messages, { count: 10 })).toEqual(messages.slice(0, 10));
  expect(transcriptPage(messages, { count: 10, from: 4 })).toEqual(messages.slice(4, 10));
});

test('a page stops before maxBytes but always holds one message', () => {
  const page = transcriptPage(messages, { count: 40, maxBytes: 100_000 });
  expect(page).toEqual(messages.slice(0, 3));
  expect(bytes(page)).toBeLessThanOrEqual(100_000);
  expect(transcriptPage(messages, { count: 40, from: 7, maxBytes: 10 })).toEqual([messages[7]]);
});

test('bad query arguments are rejected, not misread', () => {
  expect(() => transcriptPage(messages, { count: -1 })).toThrow();
  expect(() => transcriptPage(messages, { count: 3, from: 1.5 } as TranscriptQuery)).toThrow();
});

test('the reader asks for bounded pages until it has every message', async () => {
  const asked: TranscriptQuery[] = [];
  const read = await readTranscriptPages(40, async (q) => {
    asked.push(q);
    return transcriptPage(messages, q);
  });
  expect(read).toEqual(messages);
  expect(asked.length).toBeGreaterThan(4);
  for (const q of asked) expect(bytes(transcriptPage(messages, q))).toBeLessThanOrEqual(TRANSCRIPT_PAGE_BYTES);
});

test('a transcript shorter than expected ends the reading (the caller reports it)', async () => {
  expect(await readTranscriptPages(50, async (q) => transcriptPage(messages, q))).toHaveLength(40);
});
