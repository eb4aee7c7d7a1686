/**
 * The Anthropic Messages provider end to end, against a local server speaking the Messages
 * streaming format (message_start with usage and cache reads, content_block_* with text and
 * input_json deltas, message_delta usage), priced from a configured price for its model.
 */
import type { ModelTurnResult } from '../../common';
import { startChildRun } from '../../client/child-runs';
import { PriceTableSchema } from '../../worker/pricing';
import { createConfiguredProvider } from '../../worker/providers/configured';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { historyText } from '../helpers/history-text';
import { activityResults } from '../helpers/history-text';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';

const API_KEY = `sk-ant-test-${Math.random().toString(36).slice(2)}`;
let llm: LlmServer;
let tw: TestWorker;

beforeAll(async () => {
  process.env.TEST_ANTHROPIC_KEY = API_KEY;
  llm = await startLlmServer();
  const claude = createConfiguredProvider({ type: 'anthropic', name: 'local-claude', baseURL: `${llm.url}/v1`, apiKeyEnv: 'TEST_ANTHROPIC_KEY', models: [] });
  // USD per million tokens, keyed by model alone: input 3, output 15, cached input 0.30.
  const prices = PriceTableSchema.parse({ 'claude-test': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: '0.30' } });
  tw = await startTestWorker({ deps: { providers: createProviderRegistry([createScriptedProvider(), claude], 'scripted', {}, prices) } });
});
afterAll(async () => {
  await tw?.stop();
  await llm?.stop();
});

/** A child routed to the provider by its modelRef. */
function start(prompt: string) {
  const session = childSession(prompt, { parentSessionId: uniqueId('absent-parent'), model: 'claude-test', modelRef: { provider: 'local-claude', model: 'claude-test' } });
  return startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
}

test('a streamed answer through the Messages API completes the child', async () => {
  llm.script({ kind: 'text', chunks: ['Bonjour', ' le monde'], delayMs: 20 });
  const before = llm.requests.length;
  const handle = await start('greet in French');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('Bonjour le monde');
  const request = llm.requests[before];
  expect(request.path).toBe('/v1/messages');
  expect(request.headers['x-api-key']).toBe(API_KEY);
  expect(request.body).toMatchObject({ model: 'claude-test', stream: true });
  // The session's system message is Anthropic's top-level `system`, not a message.
  expect(JSON.stringify(request.body.system)).toContain('You are a child session.');
  expect((request.body.messages as { role: string }[]).map((m) => m.role)).toEqual(['user']);
  expect(historyText(await handle.fetchHistory())).not.toContain(API_KEY);
});

test('a tool_use round trip: input_json deltas become a tool call, its result goes back as tool_result', async () => {
  llm.script({ kind: 'tool', name: 'wait', args: { seconds: 1 } }, { kind: 'text', chunks: ['Waited.'] });
  const before = llm.requests.length;
  const handle = await start('wait a second');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  const [call, toolResult, answer] = result.session!.messages.slice(-3);
  expect(call.toolCalls).toEqual([{ id: 'toolu_test_1', name: 'wait', arguments: { seconds: 1 } }]);
  expect(toolResult).toMatchObject({ role: 'tool', content: 'waited 1 seconds' });
  expect(answer.content).toBe('Waited.');
  const followUp = llm.requests[before + 1].body.messages as { role: string; content: { type: string; tool_use_id?: string }[] }[];
  expect(followUp.at(-1)?.content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_test_1' });
});

test('usage: inputTokens include the cache reads Anthropic\'s input_tokens leaves out; the exact cost from the configured price', async () => {
  llm.script({ kind: 'text', chunks: ['Cached.'], usage: { inputTokens: 2061, outputTokens: 333, cachedInputTokens: 2048 } });
  const before = llm.requests.length;
  const handle = await start('use the cache');
  expect((await handle.result()).status).toBe('completed');
  expect(llm.requests.length - before).toBe(1);
  const [call] = activityResults<ModelTurnResult>(await handle.fetchHistory(), 'callModel');
  // On the wire: input_tokens 13, cache_read_input_tokens 2048, output_tokens 333.
  expect(call.usage).toEqual({ inputTokens: 2061, outputTokens: 333, cachedInputTokens: 2048 });
  // 13 × 3 + 2,048 × 0.3 + 333 × 15 = 39 + 614.4 + 4,995 = 5,648.4 µUSD → 5,648.
  expect(call).toMatchObject({ provider: 'local-claude', costMicroUsd: 5648 });
});

test('401 from the Messages API ends the child as error with the provider\'s message', async () => {
  llm.script({ kind: 'status', status: 401, message: 'invalid x-api-key' });
  const result = await (await start('hi')).result();
  expect(result).toMatchObject({ status: 'error', error: 'local-claude returned HTTP 401: invalid x-api-key' });
});
