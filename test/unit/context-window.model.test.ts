/**
 * Summaries of older turns (common/context-window.ts), model-based: fast-check builds
 * conversations turn by turn (user messages, assistant replies, tool calls with their results,
 * leading system messages) and summarises whenever the estimate passes a threshold, the way
 * the agent loop does, archiving what each summary replaced the way its activity input does.
 * After every step:
 *
 *  - the leading system messages are still first, untouched;
 *  - no tool result is kept without the assistant message that called it;
 *  - a summary replaced at least one message that was not itself a summary;
 *  - the full transcript (`expandTranscript` over the archives) is every message ever added,
 *    in order, byte for byte, with one marker per summary, each after what it replaced;
 *  - after a summary, the kept recent messages are within the keep budget, or are the last turn alone.
 *
 * BAMBOO_MODEL_RUNS sets the number of sequences (default 1000).
 */
import fc from 'fast-check';
import {
  contextLengthError,
  estimateTokens,
  expandTranscript,
  planSummary,
  recordContext,
  summaryDue,
  SUMMARY_FAILED_METADATA_KEY,
  SUMMARY_METADATA_KEY,
  summaryText,
  transcriptTokens,
  type Message,
  type Session,
} from '../../common';
import { modelRuns } from '../helpers/model-runs';
import { summaryParts } from '../../worker/activities/summary';

const RUNS = modelRuns(1000);
let ids = 0;
const message = (role: Message['role'], content: string, extra: Partial<Message> = {}): Message => ({ id: `m${++ids}`, role, content, createdAt: '2026-12-07T00:00:00.000Z', ...extra });

type Turn = { kind: 'user'; text: string } | { kind: 'tools'; results: string[] } | { kind: 'answer'; text: string };
const text = fc.string({ unit: 'grapheme', minLength: 0, maxLength: 120 });
const turn: fc.Arbitrary<Turn> = fc.oneof(
  fc.record({ kind: fc.constant('user' as const), text }),
  fc.record({ kind: fc.constant('tools' as const), results: fc.array(text, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('answer' as const), text }),
);

function add(t: Turn): Message[] {
  if (t.kind === 'user') return [message('user', t.text)];
  if (t.kind === 'answer') return [message('assistant', t.text)];
  const calls = t.results.map((_, i) => ({ id: `call_${ids}_${i}`, name: 'read', arguments: { i } }));
  return [message('assistant', '', { toolCalls: calls }), ...t.results.map((r, i) => message('tool', r, { toolCallId: calls[i].id }))];
}

function session(messages: Message[]): Session {
  return { id: 's', kind: 'root', rootSessionId: 's', spawnDepth: 0, model: 'm', messages, metadata: {} };
}

function checkToolPairs(messages: readonly Message[]): void {
  const called = new Set<string>();
  for (const m of messages) {
    for (const c of m.toolCalls ?? []) called.add(c.id);
    if (m.role === 'tool') expect(called.has(m.toolCallId!)).toBe(true);
  }
}

test('summarising as a conversation grows keeps system messages and tool pairs, and loses nothing', () => {
  fc.assert(
    fc.property(
      fc.array(text, { maxLength: 2 }),
      fc.array(turn, { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 40, max: 400 }),
      fc.integer({ min: 10, max: 60 }),
      (systems, turns, window, keepPercent) => {
        const s = session(systems.map((t) => message('system', t)));
        const system = [...s.messages];
        const everything: Message[] = [...s.messages];
        const archives = new Map<string, Message[]>();
        const keepTokens = Math.max(1, Math.floor((window * keepPercent) / 100));
        recordContext(s, { windowTokens: window, compactAtTokens: Math.floor(window * 0.8), keepTokens }, 0, 0);
        let summaries = 0;
        for (const t of turns) {
          const added = add(t);
          s.messages.push(...added);
          everything.push(...added);
          if (!summaryDue(s)) continue;
          const plan = planSummary(s.messages, keepTokens);
          if (!plan) continue;
          const replaced = s.messages.slice(plan.start, plan.end);
          expect(replaced.some((m) => m.metadata?.[SUMMARY_METADATA_KEY] === undefined)).toBe(true);
          const id = `summary-${++summaries}`;
          archives.set(id, replaced);
          const kept = s.messages.slice(plan.end);
          expect(kept.length).toBeGreaterThan(0);
          expect(kept[0].role).not.toBe('tool');
          const lastTurn = s.messages.findLastIndex((m, i) => i >= plan.start && m.role !== 'tool');
          if (plan.end !== lastTurn) expect(estimateTokens(kept)).toBeLessThanOrEqual(keepTokens);
          s.messages.splice(plan.start, replaced.length, message('user', summaryText(replaced.length, 'short'), { metadata: { [SUMMARY_METADATA_KEY]: id } }));
          recordContext(s, undefined, estimateTokens(s.messages), s.messages.length);
          expect(s.messages.slice(0, system.length)).toEqual(system);
          checkToolPairs(s.messages);
        }
        const full = expandTranscript(s.messages, archives);
        expect(full.filter((e) => e.kind === 'message').map((e) => e.message)).toEqual(everything);
        expect(full.filter((e) => e.kind === 'summary').map((e) => e.summaryId).sort()).toEqual([...archives.keys()].sort());
        // Each marker comes after every message it replaced.
        full.forEach((entry, at) => {
          if (entry.kind !== 'summary') return;
          for (const m of archives.get(entry.summaryId)!) {
            if (m.metadata?.[SUMMARY_METADATA_KEY] !== undefined) continue;
            expect(full.findIndex((e) => e.kind === 'message' && e.message === m)).toBeLessThan(at);
          }
        });
      },
    ),
    { numRuns: RUNS },
  );
});

test('the estimate is the last call\'s count plus what was added since', () => {
  const s = session([message('user', 'x'.repeat(400))]);
  expect(transcriptTokens(s)).toBe(estimateTokens(s.messages));
  recordContext(s, { windowTokens: 1000, compactAtTokens: 800, keepTokens: 250 }, 700, 1);
  expect(transcriptTokens(s)).toBe(700);
  expect(summaryDue(s)).toBe(false);
  s.messages.push(message('assistant', 'y'.repeat(400)));
  expect(transcriptTokens(s)).toBe(700 + estimateTokens(s.messages.slice(1)));
  expect(summaryDue(s)).toBe(true);
});

test('nothing to summarise: only system messages and the latest turn', () => {
  const call = { id: 'c1', name: 'read', arguments: {} };
  expect(planSummary([message('system', 'be brief'), message('user', 'hi')], 1)).toBeUndefined();
  expect(planSummary([message('user', 'hi'), message('assistant', '', { toolCalls: [call] }), message('tool', 'r', { toolCallId: 'c1' })], 1)).toEqual({ start: 0, end: 1 });
  expect(planSummary([message('user', 'summary', { metadata: { [SUMMARY_METADATA_KEY]: 'summary-1' } }), message('assistant', 'ok')], 1)).toBeUndefined();
});

test('providers\' context-length errors are recognised, with the window they state', () => {
  // OpenAI-compatible servers (OpenAI, vLLM) and Anthropic, as they word it.
  expect(contextLengthError("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.")).toEqual({ windowTokens: 8192 });
  expect(contextLengthError('prompt is too long: 208310 tokens > 200000 maximum')).toEqual({ windowTokens: 200000 });
  expect(contextLengthError('context_length_exceeded')).toEqual({});
  expect(contextLengthError('Invalid API key')).toBeUndefined();
  expect(contextLengthError('rate limit exceeded, too many requests')).toBeUndefined();
});

test('a summary that failed is not tried again until the transcript grew by the kept share', () => {
  const s = session([message('user', 'x'.repeat(4000))]);
  recordContext(s, { windowTokens: 1000, compactAtTokens: 800, keepTokens: 250 }, 900, 1);
  expect(summaryDue(s)).toBe(true);
  s.metadata[SUMMARY_FAILED_METADATA_KEY] = '900';
  expect(summaryDue(s)).toBe(false);
  s.messages.push(message('assistant', 'y'.repeat(1000))); // + about 254 tokens
  expect(summaryDue(s)).toBe(true);
});

test('a provider that reports no usage: the estimate stands in for its count', () => {
  const s = session([message('user', 'x'.repeat(4000))]);
  recordContext(s, { windowTokens: 1000, compactAtTokens: 800, keepTokens: 250 }, 0, 1);
  expect(transcriptTokens(s)).toBe(estimateTokens(s.messages));
  expect(summaryDue(s)).toBe(true);
});

test('too little to replace ahead of the window: no summary', () => {
  const messages = [message('user', 'a'), message('assistant', 'b'), message('user', 'c'.repeat(4000))];
  expect(planSummary(messages, 10)).toEqual({ start: 0, end: 2 });
  expect(planSummary(messages, 10, 100)).toBeUndefined();
});

test('a summary that names itself among what it replaced is opened once', () => {
  const looped = message('user', 'summary', { metadata: { [SUMMARY_METADATA_KEY]: 'summary-x' } });
  const original = message('user', 'original');
  const full = expandTranscript([looped], new Map([['summary-x', [original, looped]]]));
  expect(full.map((e) => (e.kind === 'message' ? e.message.content : `[${e.summaryId}]`))).toEqual(['original', '[summary-x]', '[summary-x]']);
});

test('the turns a summary replaces go to its model in parts that fit its window; a message longer than a part is cut for it', () => {
  const turns = Array.from({ length: 10 }, (_, i) => message(i % 2 ? 'assistant' : 'user', `turn ${i} ${'w '.repeat(100)}`));
  const parts = summaryParts(turns, 120);
  expect(parts.length).toBeGreaterThan(1);
  for (const part of parts) expect(Math.ceil(part.length / 4)).toBeLessThanOrEqual(120 + 32);
  expect(parts.join('\n\n')).toBe(turns.map((m) => `[${m.role}]\n${m.content}`).join('\n\n')); // all of it, in order
  const [huge] = summaryParts([message('tool', 'x'.repeat(10_000), { toolCallId: 'c1' })], 120);
  expect(huge).toContain('[tool result for c1]');
  expect(huge).toMatch(/characters cut/);
  expect(huge.length).toBeLessThanOrEqual(120 * 4);
  expect(summaryParts(turns, Infinity)).toHaveLength(1);
});
