/**
 * The A2A runner end to end: a real worker runs child sessions whose runtime is an external
 * A2A agent, a real A2A server (the SDK's own server side, on loopback) plays the agent, and
 * a recording parent counts completions. Nothing is mocked.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import type { ProgressDetails, ChildCompletion, ChildRunResult, Session } from '../../common';
import { cancelSession, startChildRun } from '../../client/child-runs';
import { sessionIdFromWorkflowId, eventsQuery } from '../../common';
import type { ExternalRunOutcome } from '../../worker/activities/external';
import { PriceTableSchema } from '../../worker/pricing';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { createA2ARunner } from '../../worker/runners/a2a';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import {
  ASK_QUESTION,
  ASK_USAGE,
  ASK_USAGE_TOTAL,
  FAIL_REASON,
  startA2ATestServer,
  USAGE_TOTAL,
  type A2ATestServer,
} from '../helpers/a2a-server';
import { activityOutcomes, activityResults } from '../helpers/history-text';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';

const AGENT_ID = 'a2a-test-agent';
const AUTH_AGENT_ID = 'a2a-auth-agent';
const POLLED_AGENT_ID = 'a2a-polled-agent';
const TOKEN = `tok-${randomUUID()}`;

let agent: A2ATestServer;
let authAgent: A2ATestServer;
let polledAgent: A2ATestServer;
let tw: TestWorker;
let parent: RecordingParentHandle;
let parentSessionId: string;

beforeAll(async () => {
  agent = await startA2ATestServer();
  authAgent = await startA2ATestServer({ requiredBearer: TOKEN });
  polledAgent = await startA2ATestServer({ streaming: false });
  tw = await startTestWorker({
    deps: {
      runners: [
        createA2ARunner({ agentId: AGENT_ID, protocol: 'a2a_jsonrpc', agentCardUrl: agent.agentCardUrl, model: 'a2a-model' }),
        createA2ARunner({ agentId: AUTH_AGENT_ID, protocol: 'a2a_jsonrpc', agentCardUrl: authAgent.agentCardUrl, authTokenEnv: 'TEST_A2A_TOKEN' }),
        createA2ARunner({ agentId: POLLED_AGENT_ID, protocol: 'a2a_jsonrpc', agentCardUrl: polledAgent.agentCardUrl, allowPolling: true }),
      ],
      // USD per million tokens for the model AGENT_ID's profile names: input 2.5, output 10, cached input 1.25.
      providers: createProviderRegistry([createScriptedProvider()], 'scripted', {}, PriceTableSchema.parse({ 'a2a-model': { inputPerMTok: '2.5', outputPerMTok: 10, cachedInputPerMTok: '1.25' } })),
    },
  });
  parent = await startRecordingParent(tw.client, tw.taskQueue);
  parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
});
afterAll(async () => {
  await parent?.terminate().catch(() => undefined);
  await tw?.stop();
  await agent?.stop();
  await authAgent?.stop();
  await polledAgent?.stop();
});
afterEach(() => {
  delete process.env.TEST_A2A_TOKEN;
});

function externalMetadata(agentId = AGENT_ID): Record<string, string> {
  return { 'runtime.kind': 'external', 'external.protocol': 'a2a_jsonrpc', 'external.agent_id': agentId };
}

/** A question nobody answers ends the run once requestTimeoutSecs have passed (external-questions.test.ts answers them). */
const UNANSWERED = { spawnOptions: { requestTimeoutSecs: 1 } };

function a2aChild(prompt: string, agentId = AGENT_ID): Session {
  return childSession(prompt, { parentSessionId, metadata: externalMetadata(agentId) });
}

/** Waits for the run's completion at the parent, then makes sure no second one follows. */
async function expectOneCompletion(childSessionId: string, runId: string): Promise<ChildCompletion> {
  const forRun = async () => (await parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === childSessionId && c.runId === runId);
  await eventually(async () => (await forRun()).length > 0, { timeoutMs: 15_000, what: 'the parent to receive the completion' });
  await new Promise((r) => setTimeout(r, 1000));
  const completions = await forRun();
  expect(completions).toHaveLength(1);
  return completions[0];
}

/** The agent's record of the message a session's run sent, found by its text. */
function receivedBy(server: A2ATestServer, text: string) {
  return server.received.filter((m) => m.text === text);
}

/** The runner activity's latest heartbeat details while the run is in it. */
async function runnerProgress(workflowId: string): Promise<ProgressDetails | undefined> {
  const description = await tw.client.workflow.getHandle(workflowId).describe();
  const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'runExternalChild');
  const payload = activity?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<ProgressDetails>(payload) : undefined;
}

/** A history as text with every payload's bytes decoded (fetchHistory gives them base64), so secrets would show. */
function historyText(history: unknown): string {
  const decoded: string[] = [];
  JSON.stringify(history, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
    if (key === 'data' && value instanceof Uint8Array) decoded.push(Buffer.from(value).toString('utf8'));
    return value;
  });
  return `${JSON.stringify(history)}\n${decoded.join('\n')}`;
}

test('a streamed answer completes the child; the next run of the session continues the same A2A context', async () => {
  const session = a2aChild('stream:3');
  const callsBefore = agent.methods.length;
  const first = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result: ChildRunResult = await first.result();
  // Streamed straight through: one call to the agent, no recovery by GetTask, one attempt.
  expect(agent.methods.slice(callsBefore)).toEqual(['SendStreamingMessage']);
  expect(activityOutcomes(await first.fetchHistory(), 'runExternalChild')).toEqual([{ outcome: 'completed', attempt: 1 }]);

  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'chunk1 chunk2 chunk3' });
  const contextId = result.session?.metadata['a2a.context_id'];
  const [sent] = receivedBy(agent, 'stream:3');
  expect(sent.sentContextId).toBe(''); // a new conversation: the agent chose the context
  expect(contextId).toBe(sent.contextId);
  expect(result.session?.metadata['a2a.task_id']).toBe(sent.taskId);
  expect(await expectOneCompletion(session.id, first.firstExecutionRunId)).toMatchObject({
    status: 'completed',
    finalResponse: 'chunk1 chunk2 chunk3',
  });

  // Second run of the same session, from its stored snapshot, with a new user message.
  const second = await startChildRun(
    tw.client,
    { parentSessionId, childSessionId: session.id, model: session.model, appendMessages: ['stream:2'] },
    { taskQueue: tw.taskQueue },
  );
  const again = await second.result();
  expect(again.status).toBe('completed');
  expect(again.session?.messages.at(-1)?.content).toBe('chunk1 chunk2');
  const [followUp] = receivedBy(agent, 'stream:2');
  expect(followUp.sentContextId).toBe(contextId);
  expect(followUp.referenceTaskIds).toEqual([sent.taskId]);
  expect(again.session?.metadata['a2a.context_id']).toBe(contextId);
  await expectOneCompletion(session.id, second.firstExecutionRunId);
});

test('input-required: the question is the answer, flagged need_clarification; the reply continues that task', async () => {
  const session = a2aChild('ask');
  // The question goes to the root (here the recording parent, where nobody answers): unanswered, it ends the run.
  const handle = await startChildRun(tw.client, spawnJobFor(session, UNANSWERED), { taskQueue: tw.taskQueue });
  const result = await handle.result();

  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: ASK_QUESTION });
  expect(result.session?.metadata.need_clarification).toBe('true');
  const recorded = await handle.query(eventsQuery, { afterSeq: 0 });
  expect(recorded).toContainEqual(expect.objectContaining({ type: 'need_clarification', question: ASK_QUESTION }));
  await expectOneCompletion(session.id, handle.firstExecutionRunId);

  // The user answers: the next run sends the answer into the same (interrupted) task.
  const reply = await startChildRun(
    tw.client,
    { parentSessionId, childSessionId: session.id, model: session.model, appendMessages: ['Paris'] },
    { taskQueue: tw.taskQueue },
  );
  const answered = await reply.result();
  expect(answered.status).toBe('completed');
  expect(answered.session?.messages.at(-1)?.content).toBe('thanks: Paris');
  expect(answered.session?.metadata.need_clarification).toBeUndefined();
  const [asked] = receivedBy(agent, 'ask');
  const [paris] = receivedBy(agent, 'Paris');
  expect(paris).toMatchObject({ sentTaskId: asked.taskId, sentContextId: asked.contextId });
  await expectOneCompletion(session.id, reply.firstExecutionRunId);
});

/** The external runner activity's results of a run, from its history. */
async function runnerResults(handle: Awaited<ReturnType<typeof startChildRun>>): Promise<ExternalRunOutcome[]> {
  return activityResults<ExternalRunOutcome>(await handle.fetchHistory(), 'runExternalChild');
}

test('usage from metadata.usage: the latest running total counts, priced from the profile\'s model; also when polled', async () => {
  const session = a2aChild('usage');
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  expect((await handle.result()).session?.messages.at(-1)?.content).toBe('counted');
  const [run] = await runnerResults(handle);
  expect(run.usage).toEqual(USAGE_TOTAL); // not USAGE_SO_FAR, nor the two added up
  // 476 × 2.5 + 1,024 × 1.25 + 40 × 10 = 1,190 + 1,280 + 400 µUSD.
  expect(run.costMicroUsd).toBe(2870);
  await expectOneCompletion(session.id, handle.firstExecutionRunId);

  // GetTask shows the same total in the task's metadata; that profile names no model: no cost.
  const polled = a2aChild('usage', POLLED_AGENT_ID);
  const polledHandle = await startChildRun(tw.client, spawnJobFor(polled), { taskQueue: tw.taskQueue });
  expect((await polledHandle.result()).status).toBe('completed');
  const [polledRun] = await runnerResults(polledHandle);
  expect(polledRun.usage).toEqual(USAGE_TOTAL);
  expect(polledRun).not.toHaveProperty('costMicroUsd');
  await expectOneCompletion(polled.id, polledHandle.firstExecutionRunId);
});

test('a continued task counts only what its usage total grew by; an invalid metadata.usage is ignored', async () => {
  const session = a2aChild('ask-usage');
  const handle = await startChildRun(tw.client, spawnJobFor(session, UNANSWERED), { taskQueue: tw.taskQueue });
  const asked = await handle.result();
  expect(asked.session?.messages.at(-1)?.content).toBe(ASK_QUESTION);
  const [first] = await runnerResults(handle);
  expect(first).toMatchObject({ needsClarification: true, usage: ASK_USAGE, costMicroUsd: 950 }); // 300 × 2.5 + 20 × 10
  await expectOneCompletion(session.id, handle.firstExecutionRunId);

  const reply = await startChildRun(
    tw.client,
    { parentSessionId, childSessionId: session.id, model: session.model, appendMessages: ['Lyon'] },
    { taskQueue: tw.taskQueue },
  );
  expect((await reply.result()).session?.messages.at(-1)?.content).toBe('thanks: Lyon');
  const [second] = await runnerResults(reply);
  // The task's total grew from ASK_USAGE to ASK_USAGE_TOTAL: this run used the difference.
  expect(ASK_USAGE_TOTAL).toEqual({ inputTokens: 700, outputTokens: 45, cachedInputTokens: 256 });
  expect(second.usage).toEqual({ inputTokens: 400, outputTokens: 25, cachedInputTokens: 256 });
  expect(second.costMicroUsd).toBe(930); // 144 × 2.5 + 256 × 1.25 + 25 × 10 = 360 + 320 + 250
  await expectOneCompletion(session.id, reply.firstExecutionRunId);

  const bad = a2aChild('bad-usage');
  const badHandle = await startChildRun(tw.client, spawnJobFor(bad), { taskQueue: tw.taskQueue });
  expect((await badHandle.result()).session?.messages.at(-1)?.content).toBe('echo: bad-usage');
  const [badRun] = await runnerResults(badHandle);
  expect(badRun).not.toHaveProperty('usage');
  expect(badRun).not.toHaveProperty('costMicroUsd');
});

test('cancelling the child while the agent works ends it cancelled and cancels the A2A task', async () => {
  const session = a2aChild('hang');
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  // The runner is following the task (its working updates show as progress).
  await eventually(async () => ((await runnerProgress(handle.workflowId))?.events ?? 0) >= 3, { timeoutMs: 20_000, what: 'runner progress' });
  const [task] = receivedBy(agent, 'hang');
  expect(agent.cancelledTaskIds).not.toContain(task.taskId);

  await cancelSession(tw.client, session.id);
  const result = await handle.result();
  expect(result.status).toBe('cancelled');
  expect(result.error).toContain('cancelled');
  await eventually(async () => agent.cancelledTaskIds.includes(task.taskId), { timeoutMs: 15_000, what: 'CancelTask to reach the agent' });
  expect(await expectOneCompletion(session.id, handle.firstExecutionRunId)).toMatchObject({ status: 'cancelled' });
});

test('the idle watchdog firing on a silent agent ends the run timeout and cancels the A2A task', async () => {
  const session = childSession('silent', { parentSessionId, metadata: { ...externalMetadata(), 'child_watchdog.max_idle_secs': '2' } });
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(result.error).toMatch(/^Child session idle timeout after \d+ seconds without events \(max_idle_secs=2\)$/);
  const [task] = receivedBy(agent, 'silent');
  await eventually(async () => agent.cancelledTaskIds.includes(task.taskId), { timeoutMs: 15_000, what: 'CancelTask to reach the agent' });
  expect(await expectOneCompletion(session.id, handle.firstExecutionRunId)).toMatchObject({ status: 'timeout' });
});

test('a dropped stream is recovered with GetTask: the run completes and the task is never cancelled', async () => {
  const session = a2aChild('drop');
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();

  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('chunk1 chunk2 chunk3 chunk4 chunk5 chunk6');
  const sent = receivedBy(agent, 'drop');
  expect(sent).toHaveLength(1); // followed, not sent again
  expect(agent.droppedTaskIds).toContain(sent[0].taskId);
  expect(agent.cancelledTaskIds).not.toContain(sent[0].taskId);
  await expectOneCompletion(session.id, handle.firstExecutionRunId);
});

test('an agent that cannot stream is sent the message and polled with GetTask until it completes', async () => {
  const session = a2aChild('stream:3', POLLED_AGENT_ID);
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('chunk1 chunk2 chunk3');
  expect(result.session?.metadata['a2a.context_id']).toBe(receivedBy(polledAgent, 'stream:3')[0].contextId);
  expect(polledAgent.methods).toContain('SendMessage');
  expect(polledAgent.methods).toContain('GetTask');
  expect(polledAgent.methods).not.toContain('SendStreamingMessage');
  await expectOneCompletion(session.id, handle.firstExecutionRunId);
});

test('a failed A2A task ends the child as error with the agent\'s reason, without retrying', async () => {
  const session = a2aChild('fail');
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toBe(`A2A agent ${AGENT_ID} failed the task: ${FAIL_REASON}`);
  expect(receivedBy(agent, 'fail')).toHaveLength(1);
  expect(await expectOneCompletion(session.id, handle.firstExecutionRunId)).toMatchObject({ status: 'error' });
});

test('the bearer token from the named variable reaches the agent and never enters history', async () => {
  process.env.TEST_A2A_TOKEN = TOKEN;
  const session = a2aChild('hello with auth', AUTH_AGENT_ID);
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();

  expect(result.status).toBe('completed'); // the agent rejects requests without the token
  expect(result.session?.messages.at(-1)?.content).toBe('echo: hello with auth');
  expect(authAgent.authorizationHeaders.length).toBeGreaterThan(0);
  expect(new Set(authAgent.authorizationHeaders)).toEqual(new Set([`Bearer ${TOKEN}`]));
  const history = await handle.fetchHistory();
  expect(JSON.stringify(history)).not.toContain(TOKEN);
  const text = historyText(history);
  expect(text).toContain('echo: hello with auth'); // payloads are decoded, so the check can see them
  expect(text).not.toContain(TOKEN);
  expect(JSON.stringify(result)).not.toContain(TOKEN);
  await expectOneCompletion(session.id, handle.firstExecutionRunId);
});

test('a missing token variable fails the run at once, naming the variable', async () => {
  const session = a2aChild('no token', AUTH_AGENT_ID);
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toBe(`A2A agent ${AUTH_AGENT_ID}: the auth token variable TEST_A2A_TOKEN is not set`);
  await expectOneCompletion(session.id, handle.firstExecutionRunId);
});

test('no A2A runner matches the child\'s agent_id: error naming agent_id and protocol', async () => {
  const session = a2aChild('hi', 'some-other-agent');
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toMatch(/^No external runner matched child session runtime metadata: agent_id=/);
  expect(result.error).toBe('No external runner matched child session runtime metadata: agent_id=Some("some-other-agent"), protocol=Some("a2a_jsonrpc")');
  await expectOneCompletion(session.id, handle.firstExecutionRunId);
});

test('a worker without external runners fails an external child with the reference text', async () => {
  const bare = await startTestWorker();
  try {
    const session = a2aChild('hi');
    const handle = await startChildRun(bare.client, spawnJobFor(session), { taskQueue: bare.taskQueue });
    const result = await handle.result();
    expect(result).toMatchObject({
      status: 'error',
      error: 'Child session requires external runtime, but no external runner is configured',
    });
    await expectOneCompletion(session.id, handle.firstExecutionRunId);
  } finally {
    await bare.stop();
  }
});
