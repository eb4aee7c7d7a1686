/**
 * Long sessions within the model's context window (issue 31): summaries of older turns,
 * recorded once, nothing lost.
 *
 * - A root session of many turns on a scripted model whose window the worker configures (the
 *   scripted provider refuses a call past it with an OpenAI-compatible server's error): it keeps
 *   answering; the model is never sent more than its window; each summary is one completed
 *   activity; `bamboo transcript --full` (run as a process) gives back every message, in order,
 *   byte for byte, across summaries and continue-as-new.
 * - A worker SIGKILLed during the summary call: the call is retried on the next worker, and
 *   history holds one summary.
 * - A session that summarised, exported as a cassette and replayed at the agent level: identical,
 *   its summaries (and the provider's refusal) served from the recording.
 * - The same refusal from a real OpenAI-compatible wire server (`context_length_exceeded`): one
 *   summary, one more try, an answer; a second refusal after the summary is a clear error. And
 *   300 turns on such a server for a model the worker knows no window of; Anthropic's wording.
 * - `--full` of a child whose latest (follow-up) run was terminated.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { sendUserMessage, startSession } from '../../client/root-sessions';
import { fullTranscript } from '../../client/full-transcript';
import { exportCassette } from '../../client/cassette';
import { NativeConnection } from '@temporalio/worker';
import { replayCassette } from '../../testing';
import { startUiServer } from '../../cli/ui/server';
import { estimateTokens, sessionIdFromWorkflowId, sessionWorkflowId, SUMMARY_METADATA_KEY, type Message, type SummaryResult, usageQuery } from '../../common';
import { createContextWindows } from '../../worker/providers/context-windows';
import { createConfiguredProvider } from '../../worker/providers/configured';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { sessionState, sessionTranscript } from '../helpers/root';
import { activityOutcomes, activityResults } from '../helpers/history-text';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { childSession, rootSession, spawnJobFor, withEarlierTurns } from '../helpers/session-fixtures';
import { startChildRun } from '../../client/child-runs';
import { eventually } from '../helpers/eventually';
import type { ManagedProcess } from '../helpers/processes';
import { startRecordingParent, startTestWorker, testServer, type TestWorker } from '../helpers/temporal';
import { startWorkerProcess } from '../helpers/worker-process';

const run = promisify(execFile);
const WINDOW = 600;
const TURNS = Number(process.env.BAMBOO_SUMMARY_TURNS ?? 300);

let tw: TestWorker;
let wire: LlmServer;
let anthropicWire: LlmServer;
/** An OpenAI-compatible server that refuses requests past WINDOW words, for a model the worker knows no window of. */
let windowWire: LlmServer;

beforeAll(async () => {
  process.env.TEST_SUMMARY_OPENAI_KEY = 'sk-summary-openai';
  process.env.TEST_SUMMARY_ANTHROPIC_KEY = 'sk-summary-anthropic';
  [wire, anthropicWire, windowWire] = await Promise.all([startLlmServer(), startLlmServer(), startLlmServer()]);
  windowWire.contextWindowWords = WINDOW;
  const windowed = createConfiguredProvider({ type: 'openai-compatible', name: 'wire-window', baseURL: `${windowWire.url}/v1`, apiKeyEnv: 'TEST_SUMMARY_OPENAI_KEY', models: ['gpt-unknown-window'] });
  const claude = createConfiguredProvider({ type: 'anthropic', name: 'wire-claude', baseURL: `${anthropicWire.url}/v1`, apiKeyEnv: 'TEST_SUMMARY_ANTHROPIC_KEY', models: ['claude-small-window'] });
  const openai = createConfiguredProvider({ type: 'openai-compatible', name: 'wire-openai', baseURL: `${wire.url}/v1`, apiKeyEnv: 'TEST_SUMMARY_OPENAI_KEY', models: ['gpt-small-window'] });
  const windows = createContextWindows({ 'small-window': { contextWindowTokens: WINDOW } });
  tw = await startTestWorker({ deps: { providers: createProviderRegistry([createScriptedProvider(), openai, claude, windowed], 'scripted', {}, {}, windows) } });
});
afterAll(async () => {
  await tw?.stop();
  await Promise.all([wire?.stop(), anthropicWire?.stop(), windowWire?.stop()]);
});

/** The history of every run of the session (continue-as-new makes several), oldest first: the chain back from the latest. */
async function historiesOf(client: Client, sessionId: string) {
  const workflowId = sessionWorkflowId(sessionId);
  const histories = [];
  for (let runId: string | null | undefined = (await client.workflow.getHandle(workflowId).describe()).runId; runId; ) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    histories.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
  }
  return histories;
}

/** Sends `text` and waits for the session's answer to it. */
async function turn(client: Client, sessionId: string, text: string): Promise<Message> {
  await sendUserMessage(client, sessionId, text);
  return eventually(async () => {
    const s = await sessionState(client, sessionId);
    if (s.phase !== 'idle' || s.pendingInjectedMessages > 0) return undefined;
    const [asked, last] = (await sessionTranscript(client, sessionId)).slice(-2);
    return last?.role === 'assistant' && asked?.content === text ? last : undefined;
  }, { timeoutMs: 30_000, intervalMs: 20, what: `the answer to "${text.slice(0, 30)}…"` });
}

/** Waits until the session's turn has ended (idle, with a last run status). */
function turnEnded(sessionId: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const s = await sessionState(tw.client, sessionId);
    return s.phase === 'idle' && s.lastRunStatus ? s : undefined;
  }, { timeoutMs, what: 'the turn to end' });
}

const words = (n: number, seed: number) => Array.from({ length: n }, (_, i) => `w${(seed * 31 + i * 7) % 997}`).join(' ');

test(`a ${TURNS}-turn session on a ${WINDOW}-token window keeps answering; each summary is recorded once and --full gives back every message`, async () => {
  const first = `turn 0: ${words(18, 0)}`;
  const session = { ...rootSession(first), model: 'small-window' };
  await startSession(tw.client, { session, options: { historyEventBudget: 400 } }, { taskQueue: tw.taskQueue });
  const expected: { role: string; content: string }[] = [{ role: 'user', content: first }, { role: 'assistant', content: `echo: ${first}` }];
  await turn(tw.client, session.id, `turn 1: ${words(18, 1)}`).then((answer) => expected.push({ role: 'user', content: `turn 1: ${words(18, 1)}` }, { role: 'assistant', content: answer.content }));
  for (let i = 2; i <= TURNS; i++) {
    const text = `turn ${i}: ${words(18, i)}`;
    const answer = await turn(tw.client, session.id, text);
    expect(answer.content).toBe(`echo: ${text}`);
    expected.push({ role: 'user', content: text }, { role: 'assistant', content: answer.content });
  }
  expect(expected[3].content).toBe(`echo: turn 1: ${words(18, 1)}`);

  const histories = await historiesOf(tw.client, session.id);
  expect(histories.length).toBeGreaterThan(1); // continued-as-new along the way
  const modelCalls = histories.flatMap((h) => activityOutcomes(h, 'callModel'));
  const summaryCalls = histories.flatMap((h) => activityOutcomes(h, 'summarizeTranscript'));
  // Never more than the window: the scripted model refuses such a call, and none was refused.
  expect(modelCalls.filter((c) => c.outcome !== 'completed')).toEqual([]);
  expect(modelCalls.length).toBe(TURNS + 1);
  expect(summaryCalls.length).toBeGreaterThanOrEqual(Math.floor(TURNS / 12)); // about one per ten turns on this window
  expect(summaryCalls.every((c) => c.outcome === 'completed' && c.attempt === 1)).toBe(true);

  // What the model reads now fits; the full transcript is every message, byte for byte, in order.
  const now = await sessionTranscript(tw.client, session.id);
  expect(estimateTokens(now)).toBeLessThan(WINDOW);
  expect(now.some((m) => m.metadata?.[SUMMARY_METADATA_KEY])).toBe(true);
  const full = await fullTranscript(tw.client, session.id);
  expect(full.filter((e) => e.kind === 'message').map((e) => ({ role: e.message.role, content: e.message.content }))).toEqual(expected);
  const markers = full.filter((e) => e.kind === 'summary');
  expect(markers.length).toBe(summaryCalls.length); // one marker per recorded summary
  const summaries = histories.flatMap((h) => activityResults<SummaryResult>(h, 'summarizeTranscript')).map((r) => r.summary);
  expect(markers.map((m) => m.message.content.split('\n\n').slice(1).join('\n\n'))).toEqual(summaries);

  // Summaries are model calls: the ledger counts their tokens beside the turns'.
  const calls = histories.flatMap((h) => [...activityResults<{ usage: { inputTokens: number; outputTokens: number } }>(h, 'callModel'), ...activityResults<SummaryResult>(h, 'summarizeTranscript')]);
  const usage = await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).query(usageQuery);
  expect(usage.self.inputTokens).toBe(calls.reduce((n, c) => n + c.usage.inputTokens, 0));
  expect(usage.self.outputTokens).toBe(calls.reduce((n, c) => n + c.usage.outputTokens, 0));

  // The documented command, as a user types it.
  const { address, namespace } = testServer();
  const cli = await run('npx', ['tsx', 'cli/main.ts', '--address', address, '--namespace', namespace, '--json', 'transcript', session.id, '--full'], { maxBuffer: 64 * 1024 * 1024 });
  const printed = JSON.parse(cli.stdout) as typeof full;
  expect(printed).toEqual(JSON.parse(JSON.stringify(full)));

  // The tree page: the transcript links to the full conversation, which pages through every entry.
  const ui = await startUiServer({ client: tw.client, namespace, port: 0, taskQueue: tw.taskQueue });
  try {
    const page = async (query: string) => (await fetch(`${ui.url}/sessions/${session.id}/transcript${query}`)).text();
    expect(await page('')).toContain('the full conversation');
    const last = Math.floor((full.length - 1) / 50) * 50;
    const fullPage = await page(`?full=1&from=${last}`);
    expect(fullPage).toContain(`Full conversation: messages ${last + 1}–${full.length} of ${full.length}`);
    expect(fullPage).toContain(`echo: turn ${TURNS}:`);
  } finally {
    await ui.close();
  }
}, 600_000);

test(`${TURNS} turns on an OpenAI-compatible server that refuses past ${WINDOW} words, for a model the worker knows no window of: each refusal is one summary and one more try`, async () => {
  const session = { ...rootSession(`wire turn 0: ${words(18, 0)}`), model: 'gpt-unknown-window', modelRef: { provider: 'wire-window', model: 'gpt-unknown-window' } };
  await startSession(tw.client, { session, options: { historyEventBudget: 400 } }, { taskQueue: tw.taskQueue });
  expect((await turnEnded(session.id)).lastRunStatus).toBe('completed');
  const sent = [session.messages[0].content];
  for (let i = 1; i <= TURNS; i++) {
    const text = `wire turn ${i}: ${words(18, i)}`;
    expect((await turn(tw.client, session.id, text)).content).toBe('default answer');
    sent.push(text);
  }
  const histories = await historiesOf(tw.client, session.id);
  const calls = histories.flatMap((h) => activityOutcomes(h, 'callModel'));
  const refused = calls.filter((c) => c.failureType === 'BambooContextLength');
  const summaries = histories.flatMap((h) => activityOutcomes(h, 'summarizeTranscript'));
  // Every refusal was the server's window, answered by one summary and a call that fitted. (The
  // server reports 12 input tokens a call, so only its refusals, not the threshold, drive summaries.)
  expect(refused.length).toBeGreaterThanOrEqual(Math.floor(TURNS / 30));
  expect(calls.filter((c) => c.outcome !== 'completed' && c.failureType !== 'BambooContextLength')).toEqual([]);
  expect(summaries.map((c) => c.outcome)).toEqual(refused.map(() => 'completed'));
  expect(calls.length - refused.length).toBe(TURNS + 1);
  // The server refused exactly the requests past its window: those calls, and nothing else.
  const wordsOf = (body: Record<string, unknown>) => ((body.messages ?? []) as { content?: unknown }[]).map((m) => String(m.content ?? '')).join(' ').split(/\s+/).filter(Boolean).length;
  expect(windowWire.requests.filter((r) => wordsOf(r.body) > WINDOW)).toHaveLength(refused.length);
  // Nothing lost: every message, in order.
  const full = (await fullTranscript(tw.client, session.id)).filter((e) => e.kind === 'message').map((e) => e.message.content);
  expect(full).toEqual(sent.flatMap((text) => [text, 'default answer']));
}, 600_000);

test('an OpenAI-compatible server\'s context_length_exceeded: one summary, one more try, an answer; refused again, a clear error', async () => {
  const earlier = Array.from({ length: 6 }, (_, i) => `earlier ${i}: ${words(20, i)}`); // the replaced turns fit one summary part (60 % of the 400 tokens named)
  const texts = earlier.flatMap((step, i) => (i === 0 ? [step] : [`noted ${step.slice(0, 9)}`, step]));
  const session = withEarlierTurns(texts, 'gpt-small-window', { modelRef: { provider: 'wire-openai', model: 'gpt-small-window' } });
  const tooLong = { kind: 'status' as const, status: 400, message: "This model's maximum context length is 400 tokens. However, your messages resulted in 1210 tokens. Please reduce the length of the messages.", code: 'context_length_exceeded' };
  wire.script(tooLong, { kind: 'text', chunks: ['the user listed earlier items 0 to 4'] }, { kind: 'text', chunks: ['answered after the summary'] });
  await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const state = await turnEnded(session.id);
  expect(state.lastRunStatus).toBe('completed');
  const transcript = await sessionTranscript(tw.client, session.id);
  expect(transcript.at(-1)?.content).toBe('answered after the summary');
  const summary = transcript.find((m) => m.metadata?.[SUMMARY_METADATA_KEY]);
  expect(summary?.content).toContain('the user listed earlier items 0 to 4');
  // The retried request carried the summary in place of the older turns, and was smaller.
  const [refused, summaryRequest, retried] = wire.requests.slice(-3).map((r) => JSON.stringify(r.body));
  expect(summaryRequest).toContain(earlier[1]);
  expect(retried).toContain('the user listed earlier items 0 to 4');
  expect(retried).not.toContain(earlier[1]);
  expect(retried.length).toBeLessThan(refused.length);
  const [history] = await historiesOf(tw.client, session.id);
  expect(activityOutcomes(history, 'summarizeTranscript').map((c) => c.outcome)).toEqual(['completed']);
  expect(activityOutcomes(history, 'callModel').map((c) => [c.outcome, c.failureType])).toEqual([['failed', 'BambooContextLength'], ['completed', undefined]]);
  const full = (await fullTranscript(tw.client, session.id)).filter((e) => e.kind === 'message').map((e) => e.message.content);
  expect(full).toEqual([...session.messages.map((m) => m.content), 'answered after the summary']);

  // Refused again after the summary: the run ends with a clear error, and the session waits for its next message.
  wire.script(tooLong, { kind: 'text', chunks: ['a second summary'] }, tooLong);
  await sendUserMessage(tw.client, session.id, `one more: ${words(40, 99)}`);
  const failed = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return s.phase === 'idle' && s.lastRunStatus === 'error' ? s : undefined;
  }, { timeoutMs: 30_000, what: 'the run to end in error' });
  expect(failed.lastRunError).toMatch(/^The transcript does not fit the model's context window: .*maximum context length is 400 tokens.*; it was refused again after a summary$/);
}, 120_000);

test('a worker SIGKILLed during the summary call: one summary in history, and the session goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-summary-'));
  const config = join(dir, 'bamboo.config.json');
  writeFileSync(config, JSON.stringify({ models: { 'small-window': { contextWindowTokens: WINDOW } } }));
  const taskQueue = `summary-kill-${randomUUID()}`;
  const workers: ManagedProcess[] = [await startWorkerProcess({ taskQueue, label: 'summary-worker-1', env: { BAMBOO_CONFIG: config } })];
  try {
    // Longer than the window from the start: the first call is refused, and the summary takes 6 s.
    const earlier = Array.from({ length: 7 }, (_, i) => `${i === 0 ? '[[slow-summary:6]] ' : ''}earlier ${i}: ${words(100, i)}`);
    const session = withEarlierTurns(earlier, 'small-window', {}, { 'child_watchdog.max_idle_secs': '5' });
    await startSession(tw.client, { session }, { taskQueue });
    const handle = tw.client.workflow.getHandle(sessionWorkflowId(session.id));
    await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'summarizeTranscript' && a.lastHeartbeatTime), { timeoutMs: 30_000, intervalMs: 100, what: 'the summary call under way' });
    await workers[0].kill('SIGKILL');
    workers.push(await startWorkerProcess({ taskQueue, label: 'summary-worker-2', env: { BAMBOO_CONFIG: config } }));
    const state = await turnEnded(session.id, 90_000);
    expect(state.lastRunStatus).toBe('completed');
    const transcript = await sessionTranscript(tw.client, session.id);
    expect(transcript.at(-1)?.content).toBe(`echo: ${earlier[6]}`);
    expect(transcript.filter((m) => m.metadata?.[SUMMARY_METADATA_KEY])).toHaveLength(1);
    const [history] = await historiesOf(tw.client, session.id);
    const summaries = activityOutcomes(history, 'summarizeTranscript');
    expect(summaries).toHaveLength(1); // one summary call, retried on the next worker
    expect(summaries[0]).toMatchObject({ outcome: 'completed' });
    expect(summaries[0].attempt).toBeGreaterThan(1);
    const full = (await fullTranscript(tw.client, session.id)).filter((e) => e.kind === 'message').map((e) => e.message.content);
    expect(full).toEqual([...earlier, `echo: ${earlier[6]}`]);
  } finally {
    await Promise.all(workers.filter((w) => w.alive()).map((w) => w.kill('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

test('Anthropic\'s "prompt is too long": one summary, one more try, an answer', async () => {
  const earlier = Array.from({ length: 5 }, (_, i) => `before ${i}: ${words(30, i + 10)}`);
  const session = withEarlierTurns(earlier, 'claude-small-window', { modelRef: { provider: 'wire-claude', model: 'claude-small-window' } });
  anthropicWire.script(
    { kind: 'status', status: 400, message: 'prompt is too long: 208310 tokens > 200000 maximum' },
    { kind: 'text', chunks: ['a summary of before 0 to 3'] },
    { kind: 'text', chunks: ['answered by claude'] },
  );
  await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const state = await turnEnded(session.id);
  expect(state.lastRunStatus).toBe('completed');
  const transcript = await sessionTranscript(tw.client, session.id);
  expect(transcript.map((m) => m.content.split('\n\n').at(-1))).toEqual(['a summary of before 0 to 3', earlier[4], 'answered by claude']);
  const [history] = await historiesOf(tw.client, session.id);
  expect(activityOutcomes(history, 'callModel').map((c) => c.failureType)).toEqual(['BambooContextLength', undefined]);
}, 60_000);

test('a session that summarised replays at the agent level from its cassette: identical, its summaries served from the recording', async () => {
  // Refused at the start (longer than the window), then summaries at the threshold as turns add up.
  const earlier = Array.from({ length: 7 }, (_, i) => `replayed ${i}: ${words(100, i + 40)}`);
  const session = withEarlierTurns(earlier, 'small-window');
  await startSession(tw.client, { session, options: { idleTtlSecs: 600 } }, { taskQueue: tw.taskQueue });
  await turnEnded(session.id);
  for (let i = 1; i <= 12; i++) await turn(tw.client, session.id, `more ${i}: ${words(18, i + 50)}`);
  const cassette = await exportCassette(tw.client, session.id);
  const steps = cassette.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps));
  const summaries = steps.filter((s) => s.kind === 'summary');
  expect(cassette.version).toBe(3);
  expect(summaries.length).toBeGreaterThan(1);
  expect(steps.filter((s) => s.kind === 'model' && s.failureType === 'BambooContextLength')).toHaveLength(1);
  await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).terminate('recorded');

  const connection = await NativeConnection.connect({ address: testServer().address });
  try {
    const providers = createProviderRegistry([createScriptedProvider()], 'scripted', {}, {}, createContextWindows({ 'small-window': { contextWindowTokens: WINDOW } }));
    const report = await replayCassette({ client: tw.client, connection, cassette, deps: { providers }, workflowBundlePath: testServer().bundlePath });
    expect(report.divergences).toEqual([]);
    expect(report.identical).toBe(true);
    expect(report.live).toEqual({ model: 0, tool: 0 });
    expect(report.served.model).toBe(steps.filter((s) => s.kind === 'model' && s.response).length);
    expect(report.finalAnswer).toBe(`echo: more 12: ${words(18, 62)}`);
    // The replayed session wrote the recorded summaries, word for word.
    const replayed = await exportCassette(tw.client, report.rootSessionId);
    const replayedSummaries = replayed.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps)).filter((s) => s.kind === 'summary');
    expect(replayedSummaries.map((s) => s.kind === 'summary' && s.response?.summary)).toEqual(summaries.map((s) => s.kind === 'summary' && s.response?.summary));
  } finally {
    await connection.close();
  }
}, 180_000);

test('replayed at the agent level: a refusal that named the window the worker did not know, and the summaries after it', async () => {
  // The last two turns fit a quarter of the refused transcript's estimate but not a quarter of the
  // window the server names: what the summary keeps depends on that window being known.
  const earlier = Array.from({ length: 7 }, (_, i) => `named ${i}: ${words(i < 5 ? 100 : 70, i + 70)}`);
  const session = withEarlierTurns(earlier, 'gpt-unknown-window', { modelRef: { provider: 'wire-window', model: 'gpt-unknown-window' } });
  await startSession(tw.client, { session, options: { idleTtlSecs: 600 } }, { taskQueue: tw.taskQueue });
  expect((await turnEnded(session.id)).lastRunStatus).toBe('completed');
  for (let i = 1; i <= 15; i++) await turn(tw.client, session.id, `then ${i}: ${words(18, i + 80)}`);
  const cassette = await exportCassette(tw.client, session.id);
  await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).terminate('recorded');
  const steps = cassette.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps));
  expect(steps.filter((s) => s.kind === 'model' && s.failureType === 'BambooContextLength').map((s) => s.kind === 'model' && s.failureWindowTokens)).toContain(WINDOW);
  expect(steps.filter((s) => s.kind === 'summary')).toHaveLength(1);
  const connection = await NativeConnection.connect({ address: testServer().address });
  try {
    const report = await replayCassette({ client: tw.client, connection, cassette, workflowBundlePath: testServer().bundlePath });
    expect(report.divergences).toEqual([]);
    expect(report.identical).toBe(true);
  } finally {
    await connection.close();
  }
}, 180_000);

test('--full of a child whose latest run (a follow-up that starts from the stored snapshot) was terminated: the transcript its last completed run left', async () => {
  const parent = await startRecordingParent(tw.client, tw.taskQueue);
  try {
    const parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
    const session = childSession('first question', { parentSessionId });
    const first = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
    expect((await first.result()).status).toBe('completed');
    // A follow-up run carries no session in its input: it loads the snapshot the first run left.
    const second = await startChildRun(tw.client, { parentSessionId, childSessionId: session.id, model: session.model, appendMessages: ['[[stall:60]] a follow-up'] }, { taskQueue: tw.taskQueue });
    await eventually(async () => ((await second.describe()).raw.pendingActivities ?? []).length > 0, { timeoutMs: 30_000, what: 'the follow-up under way' });
    await second.terminate('operator');
    const full = await fullTranscript(tw.client, session.id);
    expect(full.map((e) => e.message.content)).toEqual(['You are a child session.', 'first question', 'echo: first question']);
  } finally {
    await parent.terminate().catch(() => undefined);
  }
}, 60_000);
