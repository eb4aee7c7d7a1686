/**
 * The worker's transcript cache (worker/activities/transcript-cache.ts): a model call whose
 * transcript is too long to travel inline reads it through a query, a billable action; the
 * cache assembles it from the previous call's copy and the messages added since, and only when
 * the whole has the digest the workflow sent.
 */
import { transcriptDigest, type Message, type TranscriptRef } from '../../common';
import { TranscriptCache } from '../../worker/activities/transcript-cache';

const message = (n: number, content = `message ${n} ${'x'.repeat(100)}`): Message => ({ id: `m${n}`, role: n % 2 ? 'assistant' : 'user', content, createdAt: '2030-01-01T00:00:00.000Z' });
const transcript = (count: number) => Array.from({ length: count }, (_, i) => message(i));
const digestOf = (messages: Message[]) => transcriptDigest(messages);

function refFor(messages: Message[], since?: number): TranscriptRef {
  return { workflowId: 'wf', runId: 'run', messageCount: messages.length, digest: digestOf(messages), ...(since !== undefined ? { since, tail: messages.slice(since) } : {}) };
}

/** A query that counts its calls and answers with the workflow's transcript. */
function workflowHolding(messages: Message[]) {
  const query = { calls: 0, read: async () => (query.calls++, structuredClone(messages)) };
  return query;
}

test('the first long call reads through the query; the next ones of the run assemble from the cache and the messages added since', async () => {
  const cache = new TranscriptCache();
  const first = transcript(40);
  const query = workflowHolding(first);
  expect(await cache.read(refFor(first), query.read)).toEqual(first);
  let current = first;
  for (let round = 0; round < 5; round++) {
    const next = [...current, message(1000 + round * 2), message(1001 + round * 2)];
    expect(await cache.read(refFor(next, current.length), workflowHolding(next).read)).toEqual(next);
    current = next;
  }
  expect(query.calls).toBe(1);
  expect(cache.stats).toEqual({ hits: 5, misses: 1 });
});

test('a transcript that travelled inline is built on by the next call of its run', async () => {
  const cache = new TranscriptCache();
  const small = transcript(3);
  cache.keepInline('wf', 'run', small);
  const next = [...small, ...transcript(60).slice(3)];
  const query = workflowHolding(next);
  expect(await cache.read(refFor(next, 3), query.read)).toEqual(next);
  expect(query.calls).toBe(0);
});

test('a retried attempt gets what the first attempt read, with no query', async () => {
  const cache = new TranscriptCache();
  const messages = transcript(40);
  await cache.read(refFor(messages), workflowHolding(messages).read);
  const retry = workflowHolding(messages);
  expect(await cache.read(refFor(messages), retry.read)).toEqual(messages);
  expect(retry.calls).toBe(0);
});

test('a transcript compacted between calls (its earlier messages changed) does not match: it is read through the query', async () => {
  const cache = new TranscriptCache();
  const before = transcript(40);
  await cache.read(refFor(before), workflowHolding(before).read);
  const compacted = [...before.slice(0, 5).map((m) => ({ ...m, content: `${m.content.slice(0, 20)}…` })), ...before.slice(5), message(2000)];
  const query = workflowHolding(compacted);
  expect(await cache.read(refFor(compacted, before.length), query.read)).toEqual(compacted);
  expect(query.calls).toBe(1);
});

test('another run, a missing digest, or a tail that does not start where the cache ends: the query', async () => {
  const cache = new TranscriptCache();
  const messages = transcript(40);
  await cache.read(refFor(messages), workflowHolding(messages).read);
  const next = [...messages, message(3000)];
  for (const ref of [
    { ...refFor(next, 40), runId: 'other-run' },
    { ...refFor(next, 40), digest: undefined },
    { ...refFor(next, 39) },
  ]) {
    const query = workflowHolding(next);
    expect(await cache.read(ref, query.read)).toEqual(next);
    expect(query.calls).toBe(1);
    await cache.read(refFor(messages), workflowHolding(messages).read); // back to the first state
  }
});

test('a read whose result does not have the digest the workflow sent is not cached', async () => {
  const cache = new TranscriptCache();
  const messages = transcript(40);
  const wrong = [...messages.slice(0, -1), message(9999)];
  await cache.read(refFor(messages), workflowHolding(wrong).read);
  expect(cache.size).toBe(0);
});

test('the cache stays within its entries and bytes, dropping the least recently used run', async () => {
  const cache = new TranscriptCache({ maxEntries: 3, maxBytes: 20_000 });
  const messages = transcript(20); // ~3 KB of JSON
  for (const run of ['a', 'b', 'c', 'd']) await cache.read({ ...refFor(messages), runId: run }, workflowHolding(messages).read);
  expect(cache.size).toBe(3);
  const query = workflowHolding(messages);
  await cache.read({ ...refFor(messages), runId: 'a' }, query.read);
  expect(query.calls).toBe(1); // 'a' was dropped
  const big = transcript(200); // ~30 KB: over the byte limit, never kept
  await cache.read({ ...refFor(big), runId: 'big' }, workflowHolding(big).read);
  expect(cache.size).toBeLessThanOrEqual(3);
  const again = workflowHolding(big);
  await cache.read({ ...refFor(big), runId: 'big' }, again.read);
  expect(again.calls).toBe(1);
});

test('what a provider does to the transcript it was handed does not reach the next call', async () => {
  const cache = new TranscriptCache();
  const messages = transcript(40);
  const handed = await cache.read(refFor(messages), workflowHolding(messages).read);
  handed[3].content = handed[3].content.replace(/x/g, '*'); // same length
  const next = [...messages, message(4000)];
  expect(await cache.read(refFor(next, 40), workflowHolding(next).read)).toEqual(next);
});
