/**
 * Providers given in code (issue 26), on a worker made the way a user makes one:
 * `Worker.create({ plugins: [bambooPlugin({ providers })] })` against the real dev server. An
 * AI SDK model registered by name streams into heartbeats (its text so far in the activity's
 * details), its usage reaches the ledger and is priced from the configuration, a retryable
 * provider failure is retried by the activity, a final one ends the turn with its text, once.
 * The models are LanguageModelV3 objects from the AI SDK's own test kit; the AI SDK's
 * streamText drives them as it drives any provider's.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { APICallError } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { BambooClient } from '../../client';
import { sessionWorkflowId } from '../../common';
import { bambooPlugin } from '../../worker/plugin';
import { liveProgress } from '../../cli/sessions-api';
import { activityTaskAttempts } from '../helpers/history-text';
import { eventually } from '../helpers/eventually';
import { testServer } from '../helpers/temporal';

const calls: string[] = [];

/** Streams `text` word by word, `delayMs` apart, and reports 1,000 input and 10 output tokens. */
function streaming(text: string, delayMs: number) {
  const words = text.split(' ');
  const chunks: LanguageModelV3StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 't' },
    ...words.map((w, i) => ({ type: 'text-delta' as const, id: 't', delta: i === 0 ? w : ` ${w}` })),
    { type: 'text-end', id: 't' },
    {
      type: 'finish',
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: { inputTokens: { total: 1000, noCache: 1000, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 10, text: 10, reasoning: undefined } },
    },
  ];
  return { stream: simulateReadableStream({ chunks, chunkDelayInMs: delayMs }) };
}

function failing(status: number, message: string): APICallError {
  return new APICallError({ message, url: 'http://model.test/v1', requestBodyValues: {}, statusCode: status, responseBody: JSON.stringify({ error: { message } }), isRetryable: status >= 500 });
}

/** Behaves by the prompt's first word: `slow`, `flaky` (a 503 once), `unauthorised` (a 401). */
const model = (id: string) =>
  new MockLanguageModelV3({
    modelId: id,
    doStream: async ({ prompt }) => {
      const first = prompt.flatMap((m) => (m.role === 'user' ? m.content : [])).find((p) => p.type === 'text');
      const ask = first?.type === 'text' ? first.text : '';
      calls.push(ask);
      if (ask.startsWith('unauthorised')) throw failing(401, 'invalid api key');
      if (ask.startsWith('flaky') && calls.filter((c) => c === ask).length === 1) throw failing(503, 'overloaded, try again');
      return streaming(ask.startsWith('slow') ? 'one two three four five six seven eight' : 'fine then', ask.startsWith('slow') ? 700 : 0);
    },
  });

let worker: Worker;
let running: Promise<void>;
let client: Client;
let bamboo: BambooClient;
let connection: NativeConnection;

beforeAll(async () => {
  const { address, namespace } = testServer();
  const taskQueue = `in-code-${randomUUID()}`;
  const plugin = bambooPlugin({
    providers: { mock: { languageModel: model, models: ['m1'] } },
    config: { prices: { 'mock/m1': { inputPerMTok: '2', outputPerMTok: '10' } } },
    observability: {},
  });
  connection = await NativeConnection.connect({ address });
  // Live progress every 2 s: by default heartbeat details reach the server every 24 s (billable actions).
  worker = await Worker.create({ connection, namespace, taskQueue, plugins: [plugin], maxHeartbeatThrottleInterval: '2s', defaultHeartbeatThrottleInterval: '2s' });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address }), namespace, plugins: [plugin] });
  bamboo = new BambooClient(client, { taskQueue });
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
});

test('a model named by the session streams into the activity’s heartbeats, and its usage is counted and priced', async () => {
  const session = await bamboo.startRootSession({ model: 'm1', prompt: 'slow please' });
  // While it streams, the running activity's heartbeat details count the chunks and hold the text's tail.
  const details = await eventually(
    async () => {
      const description = await client.workflow.getHandle(sessionWorkflowId(session.sessionId)).describe();
      const live = (await liveProgress(client, description)).find((l) => l.activity === 'callModel')?.details;
      return live && live.textChars > 0 && live.textChars < 'one two three four five six seven eight'.length ? live : undefined;
    },
    { timeoutMs: 20_000, what: 'a part of the stream in the heartbeat details' },
  );
  expect(details.phase).toContain('model');
  expect('one two three four five six seven eight').toContain(details.tail);
  expect(details.events).toBeGreaterThan(0);
  const state = await session.waitForIdle({ timeoutMs: 30_000 });
  expect(state.lastRunStatus).toBe('completed');
  expect((await session.transcript()).at(-1)?.content).toBe('one two three four five six seven eight');
  const usage = await session.usage();
  expect(usage.self).toEqual({ inputTokens: 1000, outputTokens: 10 });
  // 1,000 × $2/M + 10 × $10/M = $0.0021 = 2,100 micro-dollars.
  expect(usage.costMicroUsd).toBe(2100);
  expect(usage.unpricedCalls).toBe(0);
});

test('a retryable provider failure (HTTP 503) is retried by the activity; the session does not see it', async () => {
  const session = await bamboo.startRootSession({ model: 'm1', provider: 'mock', prompt: 'flaky but fine' });
  const state = await session.waitForIdle({ timeoutMs: 30_000 });
  expect(state.lastRunStatus).toBe('completed');
  expect((await session.transcript()).at(-1)?.content).toBe('fine then');
  const history = await client.workflow.getHandle(sessionWorkflowId(session.sessionId)).fetchHistory();
  expect(activityTaskAttempts(history, 'callModel')).toEqual([2]);
});

test('a final provider failure (HTTP 401) ends the turn with the provider’s text, after one attempt', async () => {
  const session = await bamboo.startRootSession({ model: 'm1', prompt: 'unauthorised call' });
  const state = await session.waitForIdle({ timeoutMs: 30_000 });
  expect(state.lastRunStatus).toBe('error');
  expect(state.lastRunError).toContain('mock returned HTTP 401: invalid api key');
  const history = await client.workflow.getHandle(sessionWorkflowId(session.sessionId)).fetchHistory();
  expect(activityTaskAttempts(history, 'callModel')).toEqual([1]);
  expect(calls.filter((c) => c === 'unauthorised call')).toHaveLength(1);
});
