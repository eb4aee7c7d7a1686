/**
 * Issue 25: a `respond` receipt must say what the waiting session applied, in every
 * interleaving of a person's answer with the request's expiry timer (3 s here):
 * - the answer and the fired timer reach the child in one workflow task (its worker was down);
 * - the root's own request, the answer arriving with its fired timer;
 * - the answer validated at the root before the child's expiry reached it, but delivered to the
 *   child after the child's timer fired (the root's worker paused with the update's task in
 *   hand): the defect — the receipt said `delivered: true` while the child applied `deny`.
 * A receipt `delivered: true` means the tool ran (the approval was applied). Real dev server,
 * real workers (one a process, to pause it with SIGSTOP).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { sessionWorkflowId, type ChildRunResult, type PendingRequest, respondUpdate, stateQuery } from '../../common';
import { startChildRun } from '../../client/child-runs';
import { startSession } from '../../client/root-sessions';
import { eventually } from '../helpers/eventually';
import { killStartedProcesses } from '../helpers/processes';
import { sessionTranscript } from '../helpers/root';
import { childSession, rootSession, spawnJobFor } from '../helpers/session-fixtures';
import { startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';
import { startWorkerProcess } from '../helpers/worker-process';

const POLICY = { tools: { get_current_time: 'ask' as const } };
const EXPIRY_SECS = 3;
const RAN = /^\d{4}-\d{2}-\d{2}T/; // get_current_time's answer: the approval was applied
let client: Client;
let helper: TestWorker;
const workers: TestWorker[] = [];

beforeAll(async () => {
  helper = await startTestWorker({ deps: { toolPolicy: POLICY } });
  client = helper.client;
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await helper?.stop();
  await killStartedProcesses();
});

async function worker(taskQueue: string): Promise<TestWorker> {
  const started = await startTestWorker({ taskQueue, deps: { toolPolicy: POLICY } });
  workers.push(started);
  return started;
}

async function stop(stopped: TestWorker): Promise<void> {
  workers.splice(workers.indexOf(stopped), 1);
  await stopped.stop();
}

async function firstRequest(root: WorkflowHandle): Promise<PendingRequest> {
  return eventually(async () => (await root.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 30_000, what: 'a request at the root' });
}

async function hasEvent(handle: WorkflowHandle, what: string, match: (event: Record<string, unknown>) => boolean): Promise<void> {
  await eventually(async () => ((await handle.fetchHistory()).events as Record<string, unknown>[] | undefined)?.some(match), { timeoutMs: 30_000, what });
}

/** A child of `rootId` on its own task queue whose first call waits for a person (its report goes to a parent that is not running: logged, not fatal). */
async function startAskingChild(rootId: string, taskQueue: string, prompt = '[[tool:get_current_time|{}]] what time is it') {
  const child = childSession(prompt, { parentSessionId: uniqueId('no-parent'), rootSessionId: rootId });
  return startChildRun(client, spawnJobFor(child, { spawnOptions: { requestTimeoutSecs: EXPIRY_SECS } }), { taskQueue });
}

/** The child's history holds a requestClosed signal to the root that the server took. */
function closeSignalled(events: Record<string, unknown>[] | undefined): boolean {
  const initiated = (events ?? []).filter(
    (e) => (e.signalExternalWorkflowExecutionInitiatedEventAttributes as { signalName?: string } | undefined)?.signalName === 'requestClosed',
  );
  const signalled = new Set(
    (events ?? []).map((e) => String((e.externalWorkflowExecutionSignaledEventAttributes as { initiatedEventId?: unknown } | undefined)?.initiatedEventId)),
  );
  return initiated.some((e) => signalled.has(String(e.eventId)));
}

function firstToolMessage(result: ChildRunResult): string | undefined {
  return result.session!.messages.find((m) => m.role === 'tool')?.content;
}

test("the answer and the child's fired timer in one task of the child: the answer is applied, and the receipt says delivered", async () => {
  const root = rootSession('hello');
  const rootHandle = await startSession(client, { session: root }, { taskQueue: helper.taskQueue });
  const childQueue = uniqueId('expiry-child');
  const childWorker = await worker(childQueue);
  const childHandle = await startAskingChild(root.id, childQueue);
  const request = await firstRequest(rootHandle);

  await stop(childWorker); // nothing runs the child while its timer fires
  await hasEvent(childHandle, "the child's expiry timer to fire", (e) => Boolean(e.timerFiredEventAttributes));
  const receipt = await rootHandle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  await worker(childQueue);

  expect(receipt.delivered).toBe(true);
  expect(firstToolMessage((await childHandle.result()) as ChildRunResult)).toMatch(RAN);
  await rootHandle.terminate();
}, 120_000);

test("the root's own request, the answer arriving with its fired timer: the answer is applied, and the receipt says delivered", async () => {
  const rootQueue = uniqueId('expiry-root');
  const rootWorker = await worker(rootQueue);
  const root = rootSession('[[tool:get_current_time|{}]] what time is it');
  const rootHandle = await startSession(client, { session: root, options: { requestTimeoutSecs: EXPIRY_SECS } }, { taskQueue: rootQueue });
  const request = await firstRequest(rootHandle);

  await stop(rootWorker);
  await hasEvent(rootHandle, "the root's expiry timer to fire", (e) => Boolean(e.timerFiredEventAttributes));
  const answered = rootHandle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the update reaches the server before a worker runs the root
  await worker(rootQueue);

  expect((await answered).delivered).toBe(true);
  const transcript = await eventually(async () => {
    const messages = await sessionTranscript(client, root.id);
    return messages.some((m) => m.role === 'tool') ? messages : undefined;
  }, { timeoutMs: 30_000, what: 'the tool result in the root transcript' });
  expect(transcript.find((m) => m.role === 'tool')!.content).toMatch(RAN);
  await rootHandle.terminate();
}, 120_000);

test("the answer validated at the root before the child's expiry reached it, delivered after the child's timer fired: the receipt's delivered is what the child applied", async () => {
  const rootQueue = uniqueId('expiry-paused-root');
  const rootProcess = await startWorkerProcess({ taskQueue: rootQueue });
  const root = rootSession('hello');
  const rootHandle = await startSession(client, { session: root }, { taskQueue: rootQueue });
  const childQueue = uniqueId('expiry-child');
  await worker(childQueue);
  // Two rounds: after its first call the child keeps running (asking again), so a late answer reaches a running child.
  const childHandle = await startAskingChild(root.id, childQueue, '[[rounds:2|get_current_time|{}]] keep asking');
  const request = await firstRequest(rootHandle);

  // The root's worker takes the update's task and is paused holding it: the root validates the
  // answer against its book as it was, before the child's expiry reached it.
  process.kill(rootProcess.pid, 'SIGSTOP');
  const answered = rootHandle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  try {
    // The child's timer fires and the child tells the root: the server takes the signal (the
    // child's history says so) and holds it for the root's next task, after the one in hand.
    await eventually(async () => closeSignalled((await childHandle.fetchHistory()).events as Record<string, unknown>[] | undefined), {
      timeoutMs: 30_000,
      what: "the child's requestClosed taken by the server",
    });
  } finally {
    process.kill(rootProcess.pid, 'SIGCONT');
  }
  const receipt = await answered;
  const result = (await childHandle.result()) as ChildRunResult;
  expect(receipt.delivered).toBe(true);
  expect(firstToolMessage(result)).toMatch(RAN);
  await eventually(async () => ((await rootHandle.query(stateQuery)).pendingRequests ?? []).length === 0, {
    timeoutMs: 20_000,
    what: 'no request pending at the root',
  });
  await client.workflow.getHandle(sessionWorkflowId(root.id)).terminate();
}, 120_000);
