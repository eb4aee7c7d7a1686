/**
 * Agent-level replay (issue 28): a depth-2 tree — spawns, a tool that waits for a person's
 * approval — recorded over the OpenAI-compatible wire, exported as a cassette and run again on
 * a real server with the cassette answering: identical, with no request to the model server and
 * no tool run; then with the prompt, the tool policy and a tool's schema changed, each reported
 * as a divergence at the session and turn where it shows.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import { exportCassette } from '../../client/cassette';
import { sendUserMessage, sessionTranscript, startSession } from '../../client/root-sessions';
import { turnsUpTo } from '../../client/fork';
import { replayCassette, replayFindings } from '../../testing';
import { respondUpdate, stateQuery, sessionWorkflowId, type Cassette, type Message } from '../../common';
import { createConfiguredProvider } from '../../worker/providers/configured';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { defineTool } from '../../worker/tools/define-tool';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { createToolRegistry, type ToolDefinition } from '../../worker/tools/types';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { startTestWorker, testServer, type TestWorker } from '../helpers/temporal';
import { bamboo } from '../helpers/cli';

let llm: LlmServer;
let tw: TestWorker;
let connection: NativeConnection;
let cassette: Cassette;
let rootId: string;
let counted = 0;

/** A tool with a side effect the test can count. */
function countTool(input: z.ZodObject = z.object({ n: z.number().int() })): ToolDefinition {
  return defineTool({
    name: 'count_call',
    description: 'Counts a call',
    input,
    idempotent: false,
    execute: () => `counted ${++counted}`,
  });
}
const tools = (tool = countTool()) => createToolRegistry([...BUILTIN_TOOLS, tool]);
const ASK = { tools: { count_call: 'ask' as const } };
const spawn = (title: string, prompt: string) => ({ kind: 'tool' as const, name: 'spawn_session', args: { title, responsibility: `the ${title} part`, prompt, subagent_type: 'general' } });

beforeAll(async () => {
  process.env.TEST_REPLAY_OPENAI_KEY = 'sk-test-replay';
  llm = await startLlmServer();
  const openai = createConfiguredProvider({ type: 'openai-compatible', name: 'local-openai', baseURL: `${llm.url}/v1`, apiKeyEnv: 'TEST_REPLAY_OPENAI_KEY', models: ['gpt-test'] });
  const claude = createConfiguredProvider({ type: 'anthropic', name: 'local-claude', baseURL: `${llm.url}/v1`, apiKeyEnv: 'TEST_REPLAY_OPENAI_KEY', models: [] });
  tw = await startTestWorker({ deps: { providers: createProviderRegistry([createScriptedProvider(), openai, claude], 'scripted'), tools: tools(), toolPolicy: ASK } });
  connection = await NativeConnection.connect({ address: testServer().address });

  // Each session's answers by its brief; the root's from the shared script.
  llm.script(spawn('Lead', 'organise the work'), { kind: 'text', chunks: ['Lead is on it'] }, { kind: 'text', chunks: ['All done.'] });
  llm.route('Sub-session title: Lead', spawn('Helper', 'count once'), { kind: 'text', chunks: ['Helper is on it'] }, { kind: 'text', chunks: ['Lead done'] });
  llm.route('Sub-session title: Helper', { kind: 'tool', name: 'count_call', args: { n: 1 } }, { kind: 'text', chunks: ['Helper done'] });
  const session = { ...rootSession('plan the work'), model: 'gpt-test' };
  rootId = session.id;
  const handle = await startSession(tw.client, { session, options: { maxSpawnDepth: 2 } }, { taskQueue: tw.taskQueue });
  const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'the Helper’s request' });
  await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve', reason: 'fine' }] });
  await settled(tw.client, rootId, 90_000);
  cassette = await exportCassette(tw.client, rootId);
  await handle.terminate('recorded');
}, 180_000);

afterAll(async () => {
  await tw?.stop();
  await connection?.close();
  await llm?.stop();
});

function replay(options: Partial<Parameters<typeof replayCassette>[0]> = {}) {
  return replayCassette({ client: tw.client, connection, cassette, deps: { tools: tools(), toolPolicy: ASK }, workflowBundlePath: testServer().bundlePath, ...options });
}

test('the recorded tree: three sessions, the spawns, the approved tool call, a person’s decision, every model answer', () => {
  expect(cassette.version).toBe(3);
  expect(cassette.start?.session.id).toBe(rootId);
  const steps = cassette.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps));
  expect(cassette.sessions).toHaveLength(3);
  expect(steps.filter((s) => s.kind === 'spawn').map((s) => s.kind === 'spawn' && s.brief?.split('\n')[0])).toEqual(['Sub-session title: Lead', 'Sub-session title: Helper']);
  expect(steps.filter((s) => s.kind === 'tool')).toEqual([{ kind: 'tool', call: expect.objectContaining({ name: 'count_call', arguments: { n: 1 } }), outcome: { ok: true, content: 'counted 1' } }]);
  expect(steps.filter((s) => s.kind === 'decision')).toEqual([{ kind: 'decision', tool: 'count_call', argumentsPreview: '{"n":1}', decision: 'approve', reason: 'fine', by: 'person' }]);
  expect(steps.filter((s) => s.kind === 'model').every((s) => s.kind === 'model' && s.response !== undefined)).toBe(true);
  expect(cassette.sessions.every((s) => s.runs.every((r) => (r.messages?.length ?? 0) > 0))).toBe(true);
});

test('replayed with today’s code and configuration: identical, with 0 requests to the model server and 0 tool runs', async () => {
  const requests = llm.requests.length;
  const runs = counted;
  const recordedModelCalls = cassette.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps)).filter((s) => s.kind === 'model').length;
  const report = await replay();
  expect(report.divergences).toEqual([]);
  expect(report.unplayed).toEqual([]);
  expect(report.identical).toBe(true);
  expect(report.served).toEqual({ model: recordedModelCalls, tool: 1 });
  expect(report.live).toEqual({ model: 0, tool: 0 });
  expect(report.finalAnswer).toBe('All done.');
  expect(report.toolCalls.flatMap((s) => s.asked)).toEqual(['count_call({"n":1})']);
  expect(replayFindings(report, { identical: true, sameToolCalls: true, sameSpawns: true, finalAnswer: (a) => a.startsWith('All done') })).toEqual([]);
  expect(llm.requests.length).toBe(requests);
  expect(counted).toBe(runs);
  // The new tree is a tree of its own: new ids under a new root.
  expect(report.rootSessionId).not.toBe(rootId);
  await expect(tw.client.workflow.getHandle(sessionWorkflowId(report.rootSessionId)).describe()).resolves.toBeDefined();
}, 180_000);

test('another prompt: the divergence is the root’s first model call, recorded and asked side by side', async () => {
  const report = await replay({ edit: (start) => ({ ...start, session: { ...start.session, messages: start.session.messages.map((m) => ({ ...m, content: 'plan something else' })) } }) });
  expect(report.identical).toBe(false);
  expect(report.divergence).toMatchObject({ kind: 'model-request', path: ['test root'], turn: 1, call: 0 });
  expect(report.divergence?.recorded).toContain('plan the work');
  expect(report.divergence?.asked).toContain('plan something else');
  expect(report.live).toEqual({ model: 0, tool: 0 });
}, 180_000);

test('a diverging call let go live: it reaches the real provider, the rest of the tree runs on, and the eval says what changed', async () => {
  const requests = llm.requests.length;
  llm.script({ kind: 'text', chunks: ['Nothing to delegate.'] });
  const providers = createProviderRegistry([createScriptedProvider(), createConfiguredProvider({ type: 'openai-compatible', name: 'local-openai', baseURL: `${llm.url}/v1`, apiKeyEnv: 'TEST_REPLAY_OPENAI_KEY', models: ['gpt-test'] })], 'scripted');
  const report = await replay({
    deps: { providers, tools: tools(), toolPolicy: ASK },
    onDivergence: 'live',
    edit: (start) => ({ ...start, session: { ...start.session, messages: start.session.messages.map((m) => ({ ...m, content: 'say hello' })) } }),
  });
  expect(report.live.model).toBe(1);
  expect(llm.requests.length).toBe(requests + 1);
  expect(report.finalAnswer).toBe('Nothing to delegate.');
  expect(replayFindings(report, { sameSpawns: true })).toEqual([expect.stringMatching(/Lead: recorded, never spawned$/), expect.stringMatching(/Helper: recorded, never spawned$/)]);
}, 180_000);

test('another tool policy (the tool denied): the divergence is the Helper’s next model call, which reads the refusal', async () => {
  const runs = counted;
  const report = await replay({ deps: { tools: tools(), toolPolicy: { tools: { count_call: 'deny' } } } });
  expect(report.divergence).toMatchObject({ kind: 'model-request', path: ['test root', 'Lead', 'Helper'], call: 1 });
  expect(report.divergence?.recorded).toContain('counted 1');
  expect(counted).toBe(runs);
  // As an eval: the policy refused the Helper's call before any tool ran, and the Helper stopped at its next call, so the tree's answer changed.
  expect(replayFindings(report, { sameToolCalls: true, sameSpawns: true, finalAnswer: (a) => a === 'All done.' || `it said ${JSON.stringify(a)}` })).toEqual([
    expect.stringMatching(/^test root › Lead › Helper: tool calls \[\], recorded \["count_call\(\{\\"n\\":1\}\)"\]$/),
    expect.stringMatching(/^final answer: it said /),
  ]);
}, 180_000);

test('another tool schema (the recorded arguments no longer fit): the divergence is the Helper’s tool call', async () => {
  const runs = counted;
  const report = await replay({ deps: { tools: tools(countTool(z.object({ n: z.string() }))), toolPolicy: ASK } });
  expect(report.divergence).toMatchObject({ kind: 'tool-arguments', path: ['test root', 'Lead', 'Helper'], call: 0 });
  expect(report.divergence?.asked).toMatch(/no longer fit the tool: .*n/);
  expect(counted).toBe(runs);
}, 180_000);

test('`bamboo replay-agent`, typed as a user would: identical (exit 0), then under a policy that denies the tool, the divergence named (exit 1)', async () => {
  const session = rootSession('[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] go');
  const handle = await startSession(tw.client, { session, options: {} }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id, 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-replay-'));
  const file = join(dir, 'tree.cassette.json');
  const recorded = await exportCassette(tw.client, session.id);
  const modelCalls = recorded.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps)).filter((s) => s.kind === 'model').length;
  expect(modelCalls).toBe(5); // the root: spawn, answer, and after the Helper's report; the Helper: tool, answer
  writeFileSync(file, JSON.stringify(recorded));
  await handle.terminate('recorded');
  writeFileSync(join(dir, 'same.json'), '{}');
  writeFileSync(join(dir, 'deny.json'), JSON.stringify({ toolPolicy: { tools: { get_current_time: 'deny' } } }));

  const same = await bamboo(['replay-agent', file, '--config', join(dir, 'same.json'), '--json']);
  expect(same.code).toBe(0);
  expect(JSON.parse(same.stdout)).toMatchObject({ identical: true, served: { model: modelCalls, tool: 1 }, live: { model: 0, tool: 0 } });

  const denied = await bamboo(['replay-agent', file, '--config', join(dir, 'deny.json')]);
  expect(denied.code).toBe(1);
  expect(denied.stdout).toMatch(/first divergence: model-request at test root › Helper, turn \d+, call 2: recorded message \d+ of \d+: tool/);

  const usage = await bamboo(['replay-agent', file, '--on-divergence', 'sometimes']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('--on-divergence must be stop or live, got "sometimes"');
}, 180_000);

test('a tree recorded over the Anthropic wire replays identically on a worker with only the scripted provider', async () => {
  llm.route('ANTHROPIC ROOT', spawn('Scout', 'look around'), { kind: 'text', chunks: ['Scout is on it'] }, { kind: 'text', chunks: ['Seen it.'] });
  llm.route('Sub-session title: Scout', { kind: 'tool', name: 'get_current_time', args: {} }, { kind: 'text', chunks: ['It is now.'] });
  const session = { ...rootSession('ANTHROPIC ROOT: what is around?'), model: 'claude-test', modelRef: { provider: 'local-claude', model: 'claude-test' } };
  const before = llm.requests.length;
  const handle = await startSession(tw.client, { session, options: {} }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id, 60_000);
  const recorded = await exportCassette(tw.client, session.id);
  await handle.terminate('recorded');
  const wire = llm.requests.slice(before);
  expect(wire.length).toBeGreaterThanOrEqual(5);
  expect(wire.every((r) => r.path === '/v1/messages')).toBe(true); // the Anthropic Messages API
  expect(recorded.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps)).filter((s) => s.kind === 'model').every((s) => s.kind === 'model' && s.response?.provider === 'local-claude')).toBe(true);

  const requests = llm.requests.length;
  const report = await replayCassette({ client: tw.client, connection, cassette: recorded, deps: { providers: createProviderRegistry([createScriptedProvider()], 'scripted') }, workflowBundlePath: testServer().bundlePath });
  expect(report.divergences).toEqual([]);
  expect(report.identical).toBe(true);
  expect(report.finalAnswer).toBe('Seen it.');
  expect(llm.requests.length).toBe(requests);
}, 180_000);

test('`bamboo fork --at-turn 2 --model <another>`: the new root’s first two turns are the original’s, the third is answered live by the other model', async () => {
  const session = rootSession('alpha');
  const handle = await startSession(tw.client, { session, options: {} }, { taskQueue: tw.taskQueue });
  const answered = (text: string) => eventually(async () => (await sessionTranscript(tw.client, session.id)).some((m) => m.role === 'assistant' && m.content.includes(text)) || undefined, { timeoutMs: 30_000, what: `an answer to ${text}` });
  await answered('alpha');
  for (const next of ['beta', 'gamma']) {
    await sendUserMessage(tw.client, session.id, next);
    await answered(next);
  }
  const original = await sessionTranscript(tw.client, session.id);
  expect(turnsUpTo(original, 3)).toMatchObject({ turns: 3 });

  llm.script({ kind: 'text', chunks: ['A live answer'] });
  const requests = llm.requests.length;
  const forked = await bamboo(['fork', session.id, '--at-turn', '2', '--model', 'gpt-test', '--json'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(forked.code).toBe(0);
  const { rootSessionId, copiedMessages } = JSON.parse(forked.stdout) as { rootSessionId: string; copiedMessages: number };
  expect(rootSessionId).not.toBe(session.id);
  const transcript = await eventually(async () => {
    const t = await sessionTranscript(tw.client, rootSessionId);
    return t.at(-1)?.role === 'assistant' ? t : undefined;
  }, { timeoutMs: 30_000, what: 'the fork’s third turn' });
  const shown = (ms: Message[]) => ms.map((m) => `${m.role}: ${m.content}`);
  // Turns 1 and 2 as they were; turn 3's question again, and a new answer from the other model.
  expect(shown(transcript.slice(0, copiedMessages))).toEqual(shown(turnsUpTo(original, 2).kept));
  expect(shown(transcript.slice(copiedMessages))).toEqual(['user: gamma', 'assistant: A live answer']);
  expect(llm.requests.length).toBe(requests + 1);
  expect(JSON.stringify(llm.requests.at(-1)!.body)).toContain('beta');
  await tw.client.workflow.getHandle(sessionWorkflowId(rootSessionId)).terminate('done');
  await handle.terminate('done');

  const tooFar = await bamboo(['fork', session.id, '--at-turn', '4'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(tooFar.code).toBe(1);
  expect(tooFar.stderr).toContain(`session ${session.id} has 3 turns: cannot fork at turn 4`);
}, 180_000);
