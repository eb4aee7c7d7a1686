/**
 * External agents and the person behind the root: an agent's question (A2A `input-required`,
 * a subprocess agent's `need_clarification`) becomes a request at the root; an answer goes
 * back to the agent — the same A2A task, the same subprocess conversation — and the run goes
 * on; an unanswered question ends the run as it always did. A message injected while an A2A
 * agent works reaches the agent in the same context once its task ends, and the parent is
 * told the agent's reply to it. Real dev server, real worker, a real A2A agent on loopback
 * and real agent processes; nothing is mocked.
 */
import { join, resolve } from 'node:path';
import { startChildRun } from '../../client/child-runs';
import { startSession } from '../../client/root-sessions';
import { sendToChild } from '../../client/steering';
import { createA2ARunner } from '../../worker/runners/a2a';
import { createSubprocessRunner } from '../../worker/runners/subprocess';
import { sessionIdFromWorkflowId, sessionWorkflowId, type ChildRunResult, type PendingRequest, type RespondInput, type Session, type SessionOptionsInput, eventsQuery, respondUpdate, stateQuery, steerUpdate } from '../../common';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import { ASK_QUESTION, startA2ATestServer, type A2ATestServer } from '../helpers/a2a-server';
import { childSession, rootSession, spawnJobFor } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { refusalOf } from '../helpers/refusals';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';

const AGENTS = resolve(__dirname, '..', 'fixtures', 'agents');
const A2A_AGENT = 'questions-a2a';
const ASKING_AGENT = 'questions-subprocess';

let agent: A2ATestServer;
let tw: TestWorker;
let parent: RecordingParentHandle;
let parentSessionId: string;
/** The root whose person answers: its tree's requests are listed in its `state`. */
let rootId: string;

beforeAll(async () => {
  agent = await startA2ATestServer();
  tw = await startTestWorker({
    deps: {
      runners: [
        createA2ARunner({ agentId: A2A_AGENT, protocol: 'a2a_jsonrpc', agentCardUrl: agent.agentCardUrl }),
        createSubprocessRunner({ agentId: ASKING_AGENT, protocol: 'subprocess', command: join(AGENTS, 'asking-agent.mjs'), killGraceSecs: 2 }),
      ],
    },
  });
  parent = await startRecordingParent(tw.client, tw.taskQueue);
  parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
  const root = rootSession('hello');
  rootId = root.id;
  await startSession(tw.client, { session: root }, { taskQueue: tw.taskQueue });
});
afterAll(async () => {
  await tw?.client.workflow.getHandle(sessionWorkflowId(rootId)).terminate().catch(() => undefined);
  await parent?.terminate().catch(() => undefined);
  await tw?.stop();
  await agent?.stop();
});

/** A child of the recording parent in the root's tree, run by external agent `agentId`. */
function externalChild(prompt: string, agentId: string, protocol: 'a2a_jsonrpc' | 'subprocess', metadata: Record<string, string> = {}): Session {
  return childSession(prompt, {
    parentSessionId,
    rootSessionId: rootId,
    spawnDepth: 2,
    metadata: { 'runtime.kind': 'external', 'external.protocol': protocol, 'external.agent_id': agentId, ...metadata },
  });
}

function start(session: Session, spawnOptions?: SessionOptionsInput) {
  return startChildRun(tw.client, spawnJobFor(session, spawnOptions ? { spawnOptions } : {}), { taskQueue: tw.taskQueue });
}

const root = () => tw.client.workflow.getHandle(sessionWorkflowId(rootId));

/** The request `sessionId` has pending at the root, once listed (and none of another kind). */
async function pendingQuestion(sessionId: string, question?: string): Promise<PendingRequest> {
  return eventually(async () => (await root().query(stateQuery)).pendingRequests?.find((r) => r.sessionId === sessionId && (question === undefined || r.question === question)), {
    timeoutMs: 60_000,
    what: `a question from ${sessionId} at the root`,
  });
}

function respond(input: RespondInput) {
  return root().executeUpdate(respondUpdate, { args: [input] });
}

async function completionsOf(childSessionId: string) {
  return (await parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === childSessionId);
}

test("an A2A agent's input-required is answered at the root, and the same task completes with the answer", async () => {
  const session = externalChild('ask', A2A_AGENT, 'a2a_jsonrpc');
  const handle = await start(session);
  const request = await pendingQuestion(session.id);
  expect(request).toMatchObject({ kind: 'question', question: ASK_QUESTION });

  const receipt = await respond({ requestId: request.requestId, decision: 'answer', text: 'Paris' });
  expect(receipt).toMatchObject({ requestId: request.requestId, decision: 'answer', delivered: true });
  const result = (await handle.result()) as ChildRunResult;

  expect(result.status).toBe('completed');
  const [asked, answered] = agent.received.filter((m) => m.contextId === result.session?.metadata['a2a.context_id']);
  expect(asked).toMatchObject({ text: 'ask', sentTaskId: '' });
  // The answer continued the interrupted task: the same task id, sent by the client, in the same context.
  expect(answered).toMatchObject({ text: 'Paris', sentTaskId: asked.taskId, taskId: asked.taskId, sentContextId: asked.contextId });
  expect(result.session?.metadata['a2a.task_id']).toBe(asked.taskId);
  expect(result.session?.metadata.need_clarification).toBeUndefined();
  expect(result.session?.messages.slice(-3).map((m) => [m.role, m.content])).toEqual([
    ['assistant', ASK_QUESTION],
    ['user', 'Paris'],
    ['assistant', 'thanks: Paris'],
  ]);
  expect((await root().query(stateQuery)).pendingRequests?.filter((r) => r.sessionId === session.id)).toEqual([]);
  const completions = await eventually(async () => {
    const received = await completionsOf(session.id);
    return received.length > 0 && received;
  }, { what: 'the completion at the parent' });
  expect(completions).toEqual([expect.objectContaining({ status: 'completed', finalResponse: 'thanks: Paris' })]);
  const events = await handle.query(eventsQuery, { afterSeq: 0 });
  expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['need_clarification', 'request_raised', 'request_decided', 'complete']));
}, 120_000);

test("a subprocess agent's questions are answered one by one (its budget paused meanwhile); each answer restarts it with the transcript", async () => {
  // A total budget of 4 s: the answers come later than that, which only a paused budget survives.
  const session = externalChild('ask:2', ASKING_AGENT, 'subprocess', { 'child_watchdog.max_total_secs': '4' });
  const handle = await start(session);
  const first = await pendingQuestion(session.id, 'Question 1 of 2?');
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  await respond({ requestId: first.requestId, decision: 'answer', text: 'red' });
  const second = await pendingQuestion(session.id, 'Question 2 of 2?');
  await respond({ requestId: second.requestId, decision: 'answer', text: 'green' });
  const result = (await handle.result()) as ChildRunResult;

  expect(result.status).toBe('completed');
  // The agent read both answers, and that the last call continued its question.
  expect(result.session?.messages.at(-1)?.content).toBe('asking-agent: red, green (need_clarification=true)');
  expect(result.session?.metadata.need_clarification).toBeUndefined();
  expect(result.session?.messages.filter((m) => m.metadata?.answers_request).map((m) => m.metadata?.answers_request)).toEqual([first.requestId, second.requestId]);
  const completions = await eventually(async () => {
    const received = await completionsOf(session.id);
    return received.length > 0 && received;
  }, { what: 'the completion at the parent' });
  expect(completions).toEqual([expect.objectContaining({ status: 'completed', finalResponse: 'asking-agent: red, green (need_clarification=true)' })]);
}, 120_000);

test('a question nobody answers (requestTimeoutSecs: 2) ends the run as before: the question is the answer, flagged need_clarification', async () => {
  const session = externalChild('ask', A2A_AGENT, 'a2a_jsonrpc');
  const handle = await start(session, { requestTimeoutSecs: 2 });
  const request = await pendingQuestion(session.id);
  const result = (await handle.result()) as ChildRunResult;

  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: ASK_QUESTION });
  expect(result.session?.metadata.need_clarification).toBe('true');
  expect((await root().query(stateQuery)).pendingRequests?.filter((r) => r.sessionId === session.id)).toEqual([]);
  expect(await refusalOf(respond({ requestId: request.requestId, decision: 'answer', text: 'too late' }))).toBe(`request "${request.requestId}" no longer waits: expired`);
  const completions = await eventually(async () => {
    const received = await completionsOf(session.id);
    return received.length > 0 && received;
  }, { what: 'the completion at the parent' });
  expect(completions).toEqual([expect.objectContaining({ status: 'completed', finalResponse: ASK_QUESTION })]);
  // The agent was asked once: nothing went back to its task.
  expect(agent.received.filter((m) => m.taskId === result.session?.metadata['a2a.task_id'])).toHaveLength(1);
}, 120_000);

test('a denied question ends the run the same way, and the agent hears nothing more', async () => {
  const session = externalChild('ask:1', ASKING_AGENT, 'subprocess');
  const handle = await start(session);
  const request = await pendingQuestion(session.id);
  await respond({ requestId: request.requestId, decision: 'deny', reason: 'not now' });
  const result = (await handle.result()) as ChildRunResult;
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Question 1 of 1?' });
  expect(result.session?.metadata.need_clarification).toBe('true');
}, 120_000);

test('a message sent to a running A2A child reaches the agent in the same context, and the parent is told its reply', async () => {
  const session = externalChild('stream:10', A2A_AGENT, 'a2a_jsonrpc');
  const handle = await start(session);
  const working = await eventually(async () => agent.received.find((m) => m.text === 'stream:10'), { what: 'the agent to start the task' });
  const delivery = await sendToChild(tw.client, session.id, 'and add a title', { taskQueue: tw.taskQueue });
  expect(delivery.delivery).toBe('injected');
  const result = (await handle.result()) as ChildRunResult;

  expect(result.status).toBe('completed');
  const followUp = agent.received.find((m) => m.text === 'and add a title');
  // The same context (the client sent it), a new task that references the one it missed.
  expect(followUp).toMatchObject({ sentContextId: working.contextId, contextId: working.contextId, referenceTaskIds: [working.taskId] });
  expect(result.session?.messages.slice(-3).map((m) => [m.role, m.content])).toEqual([
    ['assistant', 'chunk1 chunk2 chunk3 chunk4 chunk5 chunk6 chunk7 chunk8 chunk9 chunk10'],
    ['user', 'and add a title'],
    ['assistant', 'echo: and add a title'],
  ]);
  const completions = await eventually(async () => {
    const received = await completionsOf(session.id);
    return received.length > 0 && received;
  }, { what: 'the completion at the parent' });
  // Told once, with the agent's reply to the message, and nothing left unanswered.
  expect(completions).toEqual([expect.objectContaining({ status: 'completed', finalResponse: 'echo: and add a title' })]);
  expect(completions[0].unansweredMessages).toBeUndefined();
}, 120_000);

test('steering a running A2A child: the receipt names the turn at which the agent got the message, in the same context', async () => {
  const session = externalChild('stream:9', A2A_AGENT, 'a2a_jsonrpc');
  const handle = await start(session);
  const working = await eventually(async () => agent.received.find((m) => m.text === 'stream:9'), { what: 'the agent to start the task' });
  const receipt = await tw.client.workflow.getHandle(handle.workflowId).executeUpdate(steerUpdate, { args: [{ content: 'steer: shorter please' }] });
  expect(receipt.mergedAtTurn).toBe(2); // the agent's first task was turn 1; the steer followed it
  const result = (await handle.result()) as ChildRunResult;
  expect(result.status).toBe('completed');
  expect(agent.received.find((m) => m.text === 'steer: shorter please')).toMatchObject({ contextId: working.contextId });
  expect(result.session?.messages.at(-1)?.content).toBe('echo: steer: shorter please');
}, 120_000);
