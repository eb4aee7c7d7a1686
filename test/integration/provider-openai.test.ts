/**
 * The OpenAI-compatible provider end to end: a child run on a real worker calls a local
 * server that speaks the chat-completions wire format (SSE chunks, tool-call deltas, usage
 * with cached tokens), priced from a configured price for its model.
 */
import { startChildRun, cancelSession } from '../../client/child-runs';
import { FailureTypes, sessionIdFromWorkflowId, type ChildCompletion, type ModelTurnResult } from '../../common';
import { PriceTableSchema } from '../../worker/pricing';
import { createProviderRegistry } from '../../worker/providers/router';
import { createConfiguredProvider } from '../../worker/providers/configured';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import { historyText } from '../helpers/history-text';
import { activityOutcomes, activityResults } from '../helpers/history-text';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';
import { watchdogSeconds } from '../helpers/watchdog-text';

const API_KEY = `sk-test-${Math.random().toString(36).slice(2)}-openai-secret`;
let llm: LlmServer;
let tw: TestWorker;
let parent: RecordingParentHandle;
let parentSessionId: string;

beforeAll(async () => {
  process.env.TEST_OPENAI_KEY = API_KEY;
  llm = await startLlmServer();
  const openai = createConfiguredProvider({
    type: 'openai-compatible',
    name: 'local-openai',
    baseURL: `${llm.url}/v1`,
    apiKeyEnv: 'TEST_OPENAI_KEY',
    models: ['gpt-test', 'gpt-unpriced'],
  });
  // USD per million tokens, keyed <provider>/<model>: input 0.15, output 0.6, cached input 0.075.
  const prices = PriceTableSchema.parse({ 'local-openai/gpt-test': { inputPerMTok: '0.15', outputPerMTok: '0.60', cachedInputPerMTok: '0.075' } });
  tw = await startTestWorker({ deps: { providers: createProviderRegistry([createScriptedProvider(), openai], 'scripted', {}, prices) } });
  parent = await startRecordingParent(tw.client, tw.taskQueue);
  parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
});
afterAll(async () => {
  await parent?.terminate().catch(() => undefined);
  await tw?.stop();
  await llm?.stop();
});

/** A child on the local provider: routed by the model name in the provider's model list. */
function start(prompt: string, metadata: Record<string, string> = {}, model = 'gpt-test') {
  const session = childSession(prompt, { parentSessionId, model, metadata });
  return startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue }).then((handle) => ({ session, handle }));
}

async function completions(childSessionId: string): Promise<ChildCompletion[]> {
  return eventually(async () => {
    const got = (await parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === childSessionId);
    return got.length ? got : undefined;
  }, { timeoutMs: 10_000 });
}

test('a streamed answer completes the child, with usage, authenticated by the key named in config', async () => {
  llm.script({ kind: 'text', chunks: ['Hello', ', ', 'world'], delayMs: 20 });
  const before = llm.requests.length;
  const { session, handle } = await start('say hello');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Hello, world' });
  const request = llm.requests[before];
  expect(request.path).toBe('/v1/chat/completions');
  expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
  expect(request.body).toMatchObject({ model: 'gpt-test', stream: true });
  expect(request.body.messages).toEqual([
    { role: 'system', content: 'You are a child session.' },
    { role: 'user', content: 'say hello' },
  ]);
  expect(await completions(session.id)).toEqual([
    expect.objectContaining({ status: 'completed', finalResponse: 'Hello, world', usage: expect.objectContaining({ inputTokens: 12, outputTokens: 7 }) }),
  ]);
});

test('usage with cached tokens as the wire reports them, and the exact cost from the configured price', async () => {
  llm.script(
    { kind: 'tool', name: 'get_current_time', args: {}, usage: { inputTokens: 1234, outputTokens: 567, cachedInputTokens: 1000 } },
    { kind: 'text', chunks: ['It is now.'], usage: { inputTokens: 1300, outputTokens: 45, cachedInputTokens: 0 } },
  );
  const { handle } = await start('what time is it, cached?');
  expect((await handle.result()).status).toBe('completed');
  const calls = activityResults<ModelTurnResult>(await handle.fetchHistory(), 'callModel');
  expect(calls.map((c) => c.usage)).toEqual([
    { inputTokens: 1234, outputTokens: 567, cachedInputTokens: 1000 },
    { inputTokens: 1300, outputTokens: 45, cachedInputTokens: 0 },
  ]);
  // 234 × 0.15 + 1,000 × 0.075 + 567 × 0.6 = 35.1 + 75 + 340.2 = 450.3 µUSD → 450;
  // 1,300 × 0.15 + 45 × 0.6 = 195 + 27 = 222 µUSD.
  expect(calls.map((c) => c.costMicroUsd)).toEqual([450, 222]);
});

test('a model without a price: usage, and no cost', async () => {
  llm.script({ kind: 'text', chunks: ['free?'], usage: { inputTokens: 40, outputTokens: 2 } });
  const { handle } = await start('how much?', {}, 'gpt-unpriced');
  expect((await handle.result()).status).toBe('completed');
  const [call] = activityResults<ModelTurnResult>(await handle.fetchHistory(), 'callModel');
  expect(call).toMatchObject({ provider: 'local-openai', usage: { inputTokens: 40, outputTokens: 2, cachedInputTokens: 0 } });
  expect(call).not.toHaveProperty('costMicroUsd');
});

test('a tool call round trip: the model asks, the tool runs as an activity, the model answers', async () => {
  llm.script({ kind: 'tool', name: 'get_current_time', args: {} }, { kind: 'text', chunks: ['It is now.'] });
  const before = llm.requests.length;
  const { handle } = await start('what time is it?');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  const [assistantCall, toolResult, answer] = result.session!.messages.slice(-3);
  expect(assistantCall.toolCalls).toEqual([{ id: 'call_test_1', name: 'get_current_time', arguments: {} }]);
  expect(toolResult).toMatchObject({ role: 'tool', toolCallId: 'call_test_1' });
  expect(Date.parse(toolResult.content)).not.toBeNaN();
  expect(answer.content).toBe('It is now.');
  // The second request carried the tool result back in the wire format.
  const second = llm.requests[before + 1].body.messages as { role: string; tool_call_id?: string }[];
  expect(second.find((m) => m.role === 'tool')).toMatchObject({ tool_call_id: 'call_test_1' });
  const firstTools = llm.requests[before].body.tools as { function: { name: string } }[];
  expect(firstTools.map((t) => t.function.name)).toContain('get_current_time');
});

test('429 with retry-after is retried after the delay, then succeeds', async () => {
  llm.script({ kind: 'status', status: 429, message: 'slow down', headers: { 'retry-after': '2' } }, { kind: 'text', chunks: ['ok now'] });
  const before = llm.requests.length;
  const { handle } = await start('busy?');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('ok now');
  const [first, second] = llm.requests.slice(before, before + 2);
  expect(second.at - first.at).toBeGreaterThanOrEqual(1900); // honoured retry-after: 2 (not the 1 s default)
});

test('a 503 is retried with backoff, then succeeds', async () => {
  llm.script({ kind: 'status', status: 503, message: 'overloaded' }, { kind: 'text', chunks: ['recovered'] });
  const { handle } = await start('try later');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('recovered');
});

test('401 ends the child as error with the provider\'s message, without retrying', async () => {
  llm.script({ kind: 'status', status: 401, message: 'Incorrect API key provided' });
  const before = llm.requests.length;
  const { handle } = await start('hi');
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toBe('local-openai returned HTTP 401: Incorrect API key provided');
  expect(llm.requests.length - before).toBe(1);
});

test('a stream that stalls trips the idle watchdog', async () => {
  llm.script({ kind: 'stall', first: 'thinking' });
  const { handle } = await start('stall', { 'child_watchdog.max_idle_secs': '2' });
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(watchdogSeconds(result.error, 'idle', 2)).toBeGreaterThanOrEqual(2);
  // The idle watchdog ended the stream: the one call failed as idle, not retried.
  expect(activityOutcomes(await handle.fetchHistory(), 'callModel')).toEqual([{ outcome: 'failed', failureType: FailureTypes.idleTimeout, attempt: 1 }]);
});

test('a mid-stream disconnect is retried and the run completes', async () => {
  llm.script({ kind: 'disconnect', chunks: ['partial '] }, { kind: 'text', chunks: ['complete answer'] });
  const before = llm.requests.length;
  const { handle } = await start('flaky network');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('complete answer');
  expect(llm.requests.length - before).toBe(2);
});

test('cancelling the child closes the HTTP stream: the server sees the connection dropped', async () => {
  llm.script({ kind: 'text', chunks: Array.from({ length: 100 }, (_, i) => `t${i} `), delayMs: 200 });
  const aborts = llm.clientAborts;
  const { session, handle } = await start('long answer');
  await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.heartbeatDetails));
  await cancelSession(tw.client, session.id);
  expect((await handle.result()).status).toBe('cancelled');
  await eventually(async () => llm.clientAborts > aborts, { timeoutMs: 10_000, what: 'the server to see the aborted request' });
});

test('the API key never appears in the exported history', async () => {
  llm.script({ kind: 'text', chunks: ['secret-free'] });
  const { handle } = await start('check secrets');
  await handle.result();
  const history = historyText(await handle.fetchHistory());
  expect(history).toContain('secret-free'); // payloads are decoded: the check can see content
  expect(history).not.toContain(API_KEY);
});
