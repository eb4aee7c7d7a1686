/**
 * Requests for a person at any depth, answered at the root: an `ask` tool call in a depth-2
 * child approved, denied, timed out; an answer to an unknown or answered id rejected by the
 * Update's validator; the root continuing-as-new while a request waits; a worker SIGKILLed
 * while it waits; `ask_user` answered; steering with a receipt. Real dev server, real workers,
 * the worker's tool policy from its configuration (`get_current_time: ask`).
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startSession } from '../../client/root-sessions';
import { ALREADY_ANSWERED, BambooPendingRequests, sessionWorkflowId, type Message, type PendingRequest, type SessionOptionsInput, respondUpdate, stateQuery, steerUpdate } from '../../common';
import { sessionTranscript, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { refusalOf } from '../helpers/refusals';
import { killStartedProcesses } from '../helpers/processes';
import { startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';
import { startWorkerProcess } from '../helpers/worker-process';

const POLICY = { tools: { get_current_time: 'ask' as const, ask_user: 'allow' as const } };
let tw: TestWorker;

beforeAll(async () => {
  tw = await startTestWorker({ deps: { toolPolicy: POLICY } });
});
afterAll(async () => {
  await killStartedProcesses();
  await tw?.stop();
});

const DEEP_ASK = '[[spawn:Lead|[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] organise]] plan';

async function startRoot(prompt: string, options: SessionOptionsInput = {}, taskQueue = tw.taskQueue) {
  const session = rootSession(prompt);
  const handle = await startSession(tw.client, { session, options: { maxSpawnDepth: 2, ...options } }, { taskQueue });
  return { session, handle };
}

async function pendingRequest(client: Client, rootId: string, timeoutMs = 60_000): Promise<PendingRequest> {
  return eventually(async () => (await client.workflow.getHandle(sessionWorkflowId(rootId)).query(stateQuery)).pendingRequests?.[0], {
    timeoutMs,
    what: 'a pending request at the root',
  });
}

async function visiblePendingCount(client: Client, workflowId: string, count: number): Promise<void> {
  await eventually(async () => {
    for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}" AND BambooPendingRequests = ${count}` })) {
      return run.typedSearchAttributes.get(BambooPendingRequests) === count;
    }
    return false;
  }, { timeoutMs: 20_000, what: `BambooPendingRequests = ${count} in visibility` });
}

/** The transcript of the session that asked (the Helper, two levels down). */
async function toolMessages(client: Client, sessionId: string): Promise<Message[]> {
  const handle = client.workflow.getHandle(sessionWorkflowId(sessionId));
  const result = (await handle.result()) as { session: { messages: Message[] } };
  return result.session.messages.filter((m) => m.role === 'tool');
}

test('an ask tool in a depth-2 child, approved from the root: listed, visible, routed, run once', async () => {
  const { session, handle } = await startRoot(DEEP_ASK);
  const request = await pendingRequest(tw.client, session.id);
  expect(request).toMatchObject({ kind: 'tool', tool: 'get_current_time', argumentsPreview: '{}' });
  expect(request.sessionId).not.toBe(session.id);
  expect(request.sessionId.startsWith(session.id)).toBe(true); // the Helper, under Lead, under the root
  await visiblePendingCount(tw.client, handle.workflowId, 1);
  // While it waits for a person, the Helper's total time stands still, and its state says since when.
  const helper = tw.client.workflow.getHandle(sessionWorkflowId(request.sessionId));
  const { watchdog } = await helper.query(stateQuery);
  expect(watchdog?.pausedSince).toBeDefined();
  expect(Date.parse(watchdog!.pausedSince!)).toBeLessThanOrEqual(Date.now());
  expect(Date.parse(watchdog!.deadlineAt) - Date.parse(watchdog!.pausedSince!)).toBeLessThanOrEqual(watchdog!.maxTotalSecs * 1000);

  const receipt = await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve', reason: 'fine' }] });
  expect(receipt).toMatchObject({ requestId: request.requestId, decision: 'approve', delivered: true });
  await settled(tw.client, session.id, 60_000);
  const [result] = await toolMessages(tw.client, request.sessionId);
  expect(result.content).toMatch(/^\d{4}-\d{2}-\d{2}T/); // the tool ran: an ISO time
  expect((await handle.query(stateQuery)).pendingRequests).toEqual([]);
  await visiblePendingCount(tw.client, handle.workflowId, 0);

  // The same id again: the validator rejects it, and nothing is recorded twice.
  expect(await refusalOf(handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'deny' }] }))).toBe(ALREADY_ANSWERED(request.requestId));
  await handle.terminate();
}, 120_000);

test('denied: the model reads why; an unknown id is rejected by the validator with its reason', async () => {
  const { session, handle } = await startRoot(DEEP_ASK);
  expect(await refusalOf(handle.executeUpdate(respondUpdate, { args: [{ requestId: 'no-such-id', decision: 'approve' }] }))).toBe('unknown request "no-such-id"');

  const request = await pendingRequest(tw.client, session.id);
  expect(await refusalOf(handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'answer', text: 'x' }] }))).toBe(
    `request "${request.requestId}" is a tool call: approve or deny it`,
  );
  await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'deny', reason: 'not today' }] });
  await settled(tw.client, session.id, 60_000);
  const [result] = await toolMessages(tw.client, request.sessionId);
  expect(result.content).toBe('Error: the call to get_current_time was denied: not today');
  await handle.terminate();
}, 120_000);

test('unanswered: denied after requestTimeoutSecs, with a reason saying so, and no longer pending', async () => {
  const { session, handle } = await startRoot(DEEP_ASK, { requestTimeoutSecs: 2 });
  const request = await pendingRequest(tw.client, session.id);
  await settled(tw.client, session.id, 60_000);
  const [result] = await toolMessages(tw.client, request.sessionId);
  expect(result.content).toBe('Error: the call to get_current_time was denied: no answer within 2 seconds (requestTimeoutSecs)');
  expect((await handle.query(stateQuery)).pendingRequests).toEqual([]);
  expect(await refusalOf(handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] }))).toBe(
    `request "${request.requestId}" no longer waits: expired`,
  );
  await handle.terminate();
}, 120_000);

test('the root continues-as-new while a request waits: the book is carried and the approval still lands', async () => {
  const { session, handle } = await startRoot(DEEP_ASK, { historyEventBudget: 20 });
  const request = await pendingRequest(tw.client, session.id);
  await eventually(async () => {
    let runs = 0;
    for await (const run of tw.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs += run ? 1 : 0;
    return runs > 1;
  }, { timeoutMs: 30_000, what: 'the root to continue-as-new' });
  const current = tw.client.workflow.getHandle(handle.workflowId);
  expect((await current.query(stateQuery)).pendingRequests?.map((r) => r.requestId)).toEqual([request.requestId]);
  await current.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  await settled(tw.client, session.id, 60_000);
  expect((await toolMessages(tw.client, request.sessionId))[0].content).toMatch(/^\d{4}-/);
  await current.terminate();
}, 120_000);

test('a worker SIGKILLed while the request waits: the new worker keeps waiting, and the approval runs the call once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-approvals-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ toolPolicy: POLICY }));
  const taskQueue = uniqueId('approvals-crash');
  const first = await startWorkerProcess({ taskQueue, env: { BAMBOO_CONFIG: config } });
  const { session, handle } = await startRoot(DEEP_ASK, {}, taskQueue);
  const request = await pendingRequest(tw.client, session.id);
  await first.kill('SIGKILL');
  await startWorkerProcess({ taskQueue, env: { BAMBOO_CONFIG: config } });
  const receipt = await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  expect(receipt.delivered).toBe(true);
  await settled(tw.client, session.id, 90_000);
  const tools = await toolMessages(tw.client, request.sessionId);
  expect(tools).toHaveLength(1);
  expect(tools[0].content).toMatch(/^\d{4}-/);
  await handle.terminate();
}, 180_000);

test('ask_user: a question from a child, answered at the root, is the tool result the model reads', async () => {
  const { session, handle } = await startRoot('[[spawn:Asker|[[tool:ask_user|{"question":"Which colour?"}]] pick one]] go', { maxSpawnDepth: 1 });
  const request = await pendingRequest(tw.client, session.id);
  expect(request).toMatchObject({ kind: 'question', question: 'Which colour?' });
  await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'answer', text: 'blue' }] });
  await settled(tw.client, session.id, 60_000);
  expect((await toolMessages(tw.client, request.sessionId))[0].content).toBe('blue');
  await handle.terminate();
}, 120_000);

test('steering a child mid-stream: the receipt names the turn the message was merged at', async () => {
  const { session, handle } = await startRoot('[[spawn:Writer|[[sleep:4]] draft]] go', { maxSpawnDepth: 1 });
  const writer = await eventually(async () => (await handle.query(stateQuery)).children.find((c) => c.status === 'running'), {
    timeoutMs: 30_000,
    what: 'the child to run',
  });
  const child = tw.client.workflow.getHandle(sessionWorkflowId(writer.childSessionId));
  const receipt = await child.executeUpdate(steerUpdate, { args: [{ content: 'also add a title' }] });
  expect(receipt).toMatchObject({ mergedAtTurn: 2 });
  expect(receipt.messageId).toMatch(/[0-9a-f-]{36}/);
  await settled(tw.client, session.id, 60_000);
  const messages = ((await child.result()) as { session: { messages: Message[] } }).session.messages;
  const steered = messages.findIndex((m) => m.role === 'user' && m.content === 'also add a title');
  expect(steered).toBeGreaterThan(0);
  expect(messages.slice(steered + 1).some((m) => m.role === 'assistant')).toBe(true); // it was answered
  // A finished run takes no more steering: its workflow has closed, so the server refuses the Update.
  await expect(child.executeUpdate(steerUpdate, { args: [{ content: 'too late' }] })).rejects.toMatchObject({
    name: 'WorkflowNotFoundError',
    message: 'workflow execution already completed',
  });
  // The root takes steering too: merged at its next turn.
  const turnBefore = (await handle.query(stateQuery)).turn;
  const rootReceipt = await handle.executeUpdate(steerUpdate, { args: [{ content: 'and a summary' }] });
  expect(rootReceipt.mergedAtTurn).toBe(turnBefore + 1);
  expect((await sessionTranscript(tw.client, session.id)).some((m) => m.role === 'user' && m.content === 'and a summary')).toBe(true);
  await handle.terminate();
}, 120_000);
