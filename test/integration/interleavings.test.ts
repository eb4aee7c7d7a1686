/**
 * Interleavings of ordinary events on a real server (issue 25): each test drives the exact
 * order of workflow tasks that once broke a promise. The order is made, not hoped for: the worker
 * is stopped while events queue up, so they reach the workflow in one activation, and a task is
 * kept busy while the next event arrives, so that event waits for the task after it.
 */
import { WorkflowUpdateStage, type Client, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { BambooPendingRequests, sessionWorkflowId, injectMessageSignal, respondUpdate, stateQuery, steerUpdate, subSessionCompletedSignal, userMessageSignal } from '../../common';
import { sessionState, sessionTranscript, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { connectTestClient, startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';
import { lateReport } from '../helpers/late-report';
import { startSession } from '../../client/root-sessions';

const EventType = temporal.api.enums.v1.EventType;
const POLICY = { tools: { get_current_time: 'ask' as const, wait: 'deny' as const } };
const running = new Set<TestWorker>();
let client: Client;

beforeAll(async () => {
  client = await connectTestClient();
});
afterAll(async () => {
  for (const w of running) await w.stop();
  await client?.connection.close();
});

/** A worker of both kinds, or one that runs only workflows or only activities (the other kind is stopped on its own). */
async function startWorker(taskQueue: string, only?: 'workflows' | 'activities', toolPolicy: typeof POLICY | object = POLICY): Promise<TestWorker> {
  const tuning = only === 'workflows' ? { activities: undefined } : only === 'activities' ? { workflowBundle: undefined } : undefined;
  const w = await startTestWorker({ taskQueue, deps: { toolPolicy }, tuning });
  running.add(w);
  return w;
}

async function stopWorker(w: TestWorker): Promise<void> {
  running.delete(w);
  await w.stop();
}

/**
 * Makes a root decide to continue-as-new while a `respond` update's handler is still signalling
 * the child that asked. No worker: 400 ignored signals take the history past its 300-event
 * budget (the root continues-as-new at its next task) and make that task take a while; the
 * update comes with them. Then a worker, and once that task has started, what the caller sends
 * reaches the root in the task after it — while it waits for the handler.
 * @returns the update (accepted), the run, and the history length before that task.
 */
async function rootDecidingToContinue(handle: WorkflowHandle, requestId: string, taskQueue: string, worker: TestWorker) {
  await stopWorker(worker);
  for (let i = 0; i < 400; i++) await handle.signal(subSessionCompletedSignal, { padding: i } as never);
  const respond = handle.startUpdate(respondUpdate, { args: [{ requestId, decision: 'approve' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
  await new Promise((r) => setTimeout(r, 500)); // the server holds the update for the next task
  const { historyLength: lengthBefore, runId } = await handle.describe();
  await startWorker(taskQueue);
  await eventually(async () => {
    const { events } = await handle.fetchHistory();
    return events!.some((e) => Number(e.eventId) > lengthBefore && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  }, { intervalMs: 10, what: 'the task with the respond update to start' });
  return { respond, runId, lengthBefore };
}

test('a steer that arrives while the root waits for a respond update to finish before continuing-as-new is merged, not deadlocked', async () => {
  const taskQueue = uniqueId('interleavings');
  const first = await startWorker(taskQueue);
  const session = rootSession('[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] plan');
  const handle = await startSession(client, { session, options: { historyEventBudget: 300 } }, { taskQueue });
  // The child waits for a person's decision; the root waits for the child.
  const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'the child’s request at the root' });
  await eventually(async () => (await handle.query(stateQuery)).phase === 'waiting', { what: 'the root waiting for its child' });

  // The steer arrives while the root's next task runs, so it reaches the root in the task after
  // it: with the respond handler still waiting for its signal to be sent.
  const { respond, runId } = await rootDecidingToContinue(handle, request.requestId, taskQueue, first);
  const steer = handle.executeUpdate(steerUpdate, { args: [{ content: 'also mention the date' }] });
  steer.catch(() => undefined); // a steer that never returns is the failure reported below
  await respond;

  let timer: NodeJS.Timeout | undefined;
  const receipt = await Promise.race([steer, new Promise<'no receipt'>((r) => (timer = setTimeout(() => r('no receipt'), 60_000)))]);
  clearTimeout(timer);
  expect(receipt).toMatchObject({ mergedAtTurn: expect.any(Number) });
  const state = await settled(client, session.id, 60_000);
  expect(state.pendingRequests).toEqual([]);

  // The interleaving happened as described: the steer was taken in by a task no later than the
  // one in which the respond handler learned that its signal was sent.
  const { events } = await client.workflow.getHandle(sessionWorkflowId(session.id), runId).fetchHistory();
  const id = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventId);
  const tasksCompleted = events!.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const signalled = events!.find((e) => e.eventType === EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)!;
  const steerAccepted = events!.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'steer')!;
  expect(signalled && steerAccepted).toBeTruthy();
  const steerTask = tasksCompleted.filter((e) => id(e) < id(steerAccepted)).at(-1)!;
  const resolutionTask = tasksCompleted.find((e) => id(e) > id(signalled))!;
  expect(id(steerTask)).toBeLessThanOrEqual(id(resolutionTask));
}, 240_000);

test('a child’s next run that a late report asks for while the root waits to continue-as-new is carried, and the next run starts it', async () => {
  const taskQueue = uniqueId('interleavings');
  const first = await startWorker(taskQueue);
  const session = rootSession('[[spawn:Quick|quick]] [[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] plan');
  const handle = await startSession(client, { session, options: { historyEventBudget: 300 } }, { taskQueue });
  // Quick has reported; Helper waits for a person's decision; the root waits for Helper.
  const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'Helper’s request at the root' });
  const quick = await eventually(async () => (await handle.query(stateQuery)).children.find((c) => c.title === 'Quick' && c.status === 'completed'), { timeoutMs: 60_000, what: 'Quick to report' });
  const quickRun = await client.workflow.getHandle(sessionWorkflowId(quick.childSessionId)).describe();

  // While the root's next task runs, Quick's run reports again, with a message that reached it
  // after its first report (what a child run sends then), so the root queues Quick's next run.
  const { respond, runId, lengthBefore } = await rootDecidingToContinue(handle, request.requestId, taskQueue, first);
  await client.workflow.getHandle(sessionWorkflowId(session.id), runId).signal(subSessionCompletedSignal, lateReport(session.id, quick.childSessionId, quickRun.runId));
  await respond;

  // The queued run was carried across continue-as-new and started by the next run: Quick ran
  // again, reported, and the tree settles (before, its start went out beside continue-as-new
  // and the next run never learned its id: Quick stayed pending until the lease).
  // (The report counted a message its final session does not hold — the test sent it — so that
  // run finds nothing to answer and ends `skipped`: it ran.)
  const state = await settled(client, session.id, 90_000);
  expect(state.children.find((c) => c.childSessionId === quick.childSessionId)?.status).toBe('skipped');
  const quickRuns: string[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${sessionWorkflowId(quick.childSessionId)}"` })) quickRuns.push(run.status.name);
  expect(quickRuns.sort()).toEqual(['COMPLETED', 'COMPLETED']);

  // The interleaving happened as described: in the root's first run the late report came after
  // the task that decided to continue, no child start followed it, and the run continued-as-new.
  const { events } = await client.workflow.getHandle(sessionWorkflowId(session.id), runId).fetchHistory();
  const id = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventId);
  const late = events!.find((e) => id(e) > lengthBefore && e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && e.workflowExecutionSignaledEventAttributes?.signalName === 'subSessionCompleted')!;
  const decided = events!.find((e) => id(e) > lengthBefore && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
  expect(late && decided).toBeTruthy();
  expect(id(late)).toBeGreaterThan(id(decided));
  expect(events!.filter((e) => id(e) > id(late) && e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)).toEqual([]);
  expect(events!.at(-1)!.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  const markers = events!.map((e) => e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data).filter((d) => d).map((d) => Buffer.from(d!).toString());
  expect(markers.filter((m) => m.includes('"bamboo-hold-starts-at-continue"'))).toHaveLength(1);
}, 240_000);

test('messages queued past the payload limit when a root continues-as-new are folded into its session and compacted: the run goes on', async () => {
  const taskQueue = uniqueId('interleavings');
  const first = await startWorker(taskQueue);
  const session = rootSession('hello');
  const handle = await startSession(client, { session, options: { historyEventBudget: 100 } }, { taskQueue });
  await settled(client, session.id, 60_000);

  // No worker: three messages of 900 KB each (2.7 MB, past the server's 2 MB limit of one
  // payload) and enough ignored signals to make the next task continue-as-new reach the root at once.
  await stopWorker(first);
  const { runId: firstRunId } = await handle.describe();
  for (let i = 0; i < 100; i++) await handle.signal(subSessionCompletedSignal, { padding: i } as never);
  for (const letter of ['a', 'b', 'c']) await handle.signal(userMessageSignal, { content: `${letter.repeat(900_000)} [[sleep:0]]` });
  await startWorker(taskQueue);

  // The run continued-as-new with what it carried made to fit (it once failed its task for good:
  // "payloads exceeded the error limit"), and the next run took the messages in a turn.
  const { runId } = await eventually(async () => {
    const described = await handle.describe();
    return described.runId !== firstRunId && described;
  }, { timeoutMs: 60_000, what: 'the root to continue-as-new' });
  const state = await settled(client, session.id, 60_000);
  expect(state.lastRunStatus).toBe('completed');
  expect((await client.workflow.getHandle(sessionWorkflowId(session.id), firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
  const { events } = await client.workflow.getHandle(sessionWorkflowId(session.id), runId).fetchHistory();
  const started = events![0]!.workflowExecutionStartedEventAttributes!;
  expect(started.continuedExecutionRunId).toBe(firstRunId);
  const transcript = await sessionTranscript(client, session.id);
  for (const letter of ['a', 'b', 'c']) {
    // Each message folded into the session once, its head kept by compaction.
    expect(transcript.filter((m) => m.role === 'user' && m.content.startsWith(letter.repeat(1000)))).toHaveLength(1);
  }
  expect(transcript.at(-1)?.role).toBe('assistant'); // and the next run answered them
}, 240_000);

test('a grandchild spawned in the round that ends its parent’s run is never started', async () => {
  const taskQueue = uniqueId('interleavings');
  await startWorker(taskQueue);
  // The child's one round spawns a grandchild and calls a denied tool three times: the third
  // failure ends the run in the same workflow task that queued the spawn.
  const denied = '[[tool:wait|{"seconds":0}]]';
  const session = rootSession(`[[spawn:Helper|[[spawn:Grandchild|hello]] ${denied} ${denied} ${denied} work]] plan`);
  await startSession(client, { session, options: { maxSpawnDepth: 2 } }, { taskQueue });
  const state = await settled(client, session.id, 60_000);
  expect(state.children).toEqual([{ childSessionId: expect.any(String), status: 'error', title: 'Helper', error: expect.stringMatching(/^Tool wait failed 3 consecutive times/) }]);
  const child = client.workflow.getHandle(sessionWorkflowId(state.children[0]!.childSessionId));

  // Temporal's record: the child's run started no workflow, and its state says why.
  const { events } = await child.fetchHistory();
  expect(events!.filter((e) => e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)).toEqual([]);
  const childState = await child.query(stateQuery);
  expect(childState.lastRunError).toMatch(/^Tool wait failed 3 consecutive times/);
  expect(childState.children).toEqual([expect.objectContaining({ childSessionId: expect.any(String), status: 'cancelled', title: 'Grandchild' })]);
}, 120_000);

test('a message injected into a child while it tells its parent it completed is answered by the child’s next run', async () => {
  const taskQueue = uniqueId('interleavings');
  let workflows = await startWorker(taskQueue, 'workflows');
  await startWorker(taskQueue, 'activities');
  const session = rootSession('[[spawn:Helper|[[sleep:3]] work]] plan');
  await startSession(client, { session, options: {} }, { taskQueue });
  const childId = await eventually(async () => (await sessionState(client, session.id)).children[0]?.childSessionId, { what: 'the child' });
  const child = client.workflow.getHandle(sessionWorkflowId(childId));
  // A running activity is in the run's description (its history shows it only once it ends).
  await eventually(async () => ((await child.describe()).raw.pendingActivities?.length ?? 0) > 0, { intervalMs: 50, what: 'the child’s model call' });

  // No workflow worker while the model call ends: its completion and 1,000 ignored signals
  // reach the child in one task, which takes a while on a fresh worker (it replays them all).
  await stopWorker(workflows);
  await eventually(async () => (await child.fetchHistory()).events!.some((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), { timeoutMs: 30_000, what: 'the model call to end' });
  for (let i = 0; i < 1000; i++) await child.signal(subSessionCompletedSignal, { padding: i } as never);
  const { historyLength: lengthBefore, runId: firstRunId } = await child.describe();
  workflows = await startWorker(taskQueue, 'workflows');
  // The message arrives while that task runs (the one in which the run tells its parent), so
  // the run takes it in only after it has reported.
  await eventually(async () => {
    const { events } = await child.fetchHistory();
    return events!.some((e) => Number(e.eventId) > lengthBefore && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  }, { intervalMs: 10, what: 'the child’s last task to start' });
  await child.signal(injectMessageSignal, { content: 'also say goodbye' });

  // The interleaving happened: the message reached the run after its report went out.
  const firstRun = client.workflow.getHandle(sessionWorkflowId(childId), firstRunId);
  await eventually(async () => (await firstRun.describe()).status.name !== 'RUNNING', { what: 'the child’s first run to close' });
  const { events } = await firstRun.fetchHistory();
  const reportId = Number(events!.find((e) => e.eventType === EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)!.eventId);
  const message = events!.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'injectMessage')!;
  expect(Number(message.eventId)).toBeGreaterThan(reportId);

  // The child's next run answered it, and the root waited for that run.
  const state = await eventually(async () => {
    const s = await settled(client, session.id, 60_000);
    const transcript = await sessionTranscript(client, childId);
    const asked = transcript.findIndex((m) => m.role === 'user' && m.content === 'also say goodbye');
    return asked >= 0 && transcript.slice(asked + 1).some((m) => m.role === 'assistant') && s;
  }, { timeoutMs: 90_000, what: 'the child to answer the message' });
  expect(state.children).toEqual([{ childSessionId: childId, status: 'completed', title: 'Helper' }]);
  expect((await child.describe()).runId).not.toBe(firstRunId);
}, 240_000);

test('a request of a grandchild whose run was terminated leaves the root’s pending requests', async () => {
  const taskQueue = uniqueId('interleavings');
  await startWorker(taskQueue);
  const session = rootSession('[[spawn:Helper|[[spawn:Grandchild|[[tool:get_current_time|{}]] what time is it]] plan]] plan');
  const handle = await startSession(client, { session, options: { maxSpawnDepth: 2 } }, { taskQueue });
  const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'the grandchild’s request at the root' });
  expect((await handle.describe()).typedSearchAttributes.get(BambooPendingRequests)).toBe(1);

  await client.workflow.getHandle(sessionWorkflowId(request.sessionId)).terminate('stuck');
  // Its parent learns the run closed, and the root hears that nothing waits for the request.
  await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.length === 0, { timeoutMs: 60_000, what: 'the request to leave the root’s book' });
  await eventually(async () => (await handle.describe()).typedSearchAttributes.get(BambooPendingRequests) === 0, { what: 'BambooPendingRequests to be 0' });
  const refusal: Error = await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] }).then(
    () => new Error('the respond update was accepted'),
    (error: Error) => error,
  );
  expect((refusal.cause as Error | undefined)?.message).toMatch(/no longer waits: the session that asked has ended its run/);
}, 180_000);

test('a request whose asking run outlived its parent’s run leaves the root’s book at its expiry, and a late respond is refused', async () => {
  const taskQueue = uniqueId('interleavings');
  await startWorker(taskQueue);
  const session = rootSession('[[spawn:Helper|[[spawn:Grandchild|[[tool:get_current_time|{}]] what time is it]] plan]] plan');
  const handle = await startSession(client, { session, options: { maxSpawnDepth: 2, requestTimeoutSecs: 6 } }, { taskQueue });
  const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'the grandchild’s request at the root' });
  const helperId = (await sessionState(client, session.id)).children[0]!.childSessionId;

  // The Helper's run ends first (no parent is left to tell the root of its child), then the
  // Grandchild's, before its expiry: no session that could close the request is left running.
  await client.workflow.getHandle(sessionWorkflowId(helperId)).terminate('gone');
  await client.workflow.getHandle(sessionWorkflowId(request.sessionId)).terminate('gone');
  await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.length === 0, { timeoutMs: 60_000, what: 'the request to leave the root’s book once it expired' });
  // The root expired it (its deny went out to the session), not a session that asked.
  const { events } = await handle.fetchHistory();
  expect(events!.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'requestClosed')).toEqual([]);
  expect(events!.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'requestDecided')).toHaveLength(1);
  await eventually(async () => (await handle.describe()).typedSearchAttributes.get(BambooPendingRequests) === 0, { what: 'BambooPendingRequests to be 0' });
  const refusal: Error = await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] }).then(
    () => new Error('the respond update was accepted'),
    (error: Error) => error,
  );
  expect((refusal.cause as Error | undefined)?.message).toBe(`request ${JSON.stringify(request.requestId)} no longer waits: expired`);
}, 180_000);

/**
 * A child that spawned a grandchild works in rounds of a 5 s tool; while its workflows are
 * stopped, the grandchild is terminated and the tool call ends, and 1,000 ignored signals take
 * the child's history past its budget. The task that follows sees the grandchild's close (a
 * notice to the root goes out) and the round boundary where the run would continue-as-new;
 * what `arrive` sends reaches the run while it waits for that notice to be recorded.
 */
async function childAtContinueWithNoticeInFlight(arrive: (child: WorkflowHandle) => Promise<void>) {
  const taskQueue = uniqueId('interleavings');
  const allowAll = { tools: {} };
  let workflows = await startWorker(taskQueue, 'workflows', allowAll);
  await startWorker(taskQueue, 'activities', allowAll);
  const session = rootSession('[[spawn:Worker|[[spawn:Digger|[[sleep:600]] dig]] [[rounds:6|wait|{"seconds":5}]] long work]] plan');
  const root = await startSession(client, { session, options: { maxSpawnDepth: 2, historyEventBudget: 400 } }, { taskQueue });
  const childId = await eventually(async () => (await sessionState(client, session.id)).children[0]?.childSessionId, { timeoutMs: 60_000, what: 'the child' });
  const child = client.workflow.getHandle(sessionWorkflowId(childId));
  const grandchildId = await eventually(async () => (await child.query(stateQuery)).children[0]?.childSessionId, { timeoutMs: 60_000, what: 'the grandchild' });
  // Its start may still be on its way to the server (it goes out with the wait's tool call).
  const grandchild = client.workflow.getHandle(sessionWorkflowId(grandchildId));
  await eventually(() => grandchild.describe().then(() => true, () => false), { timeoutMs: 60_000, what: 'the grandchild’s run to exist' });
  const waitCall = async () => ((await child.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'runTool');
  await eventually(waitCall, { intervalMs: 50, timeoutMs: 60_000, what: 'the child’s wait tool call' });

  await stopWorker(workflows);
  await grandchild.terminate('gone');
  await eventually(async () => !(await waitCall()), { intervalMs: 100, timeoutMs: 30_000, what: 'the tool call to end' });
  for (let i = 0; i < 1000; i++) await child.signal(subSessionCompletedSignal, { padding: i } as never);
  const { historyLength: lengthBefore, runId: firstRunId } = await child.describe();
  workflows = await startWorker(taskQueue, 'workflows', allowAll);
  await eventually(async () => {
    const { events } = await child.fetchHistory();
    return events!.some((e) => Number(e.eventId) > lengthBefore && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  }, { intervalMs: 10, what: 'the child’s next task to start' });
  await arrive(client.workflow.getHandle(sessionWorkflowId(childId), firstRunId));

  // The interleaving happened: the notice of the grandchild's close went out in the task that
  // took in the tool's result, and what arrived reached the first run before that notice was recorded.
  const id = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventId);
  const isNotice = (e: temporal.api.history.v1.IHistoryEvent) => id(e) > lengthBefore && e.eventType === EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED;
  const events = await eventually(async () => {
    const { events } = await client.workflow.getHandle(sessionWorkflowId(childId), firstRunId).fetchHistory();
    return events!.some(isNotice) && events!;
  }, { what: 'the notice to the root' });
  const notice = events.find(isNotice)!;
  const toolEnded = events.filter((e) => id(e) <= lengthBefore && e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).at(-1)!;
  expect(notice && toolEnded).toBeTruthy();
  expect(events.filter((e) => id(e) > id(toolEnded) && id(e) < id(notice) && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toHaveLength(1);
  const recorded = events.find((e) => e.eventType === EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED && id(e) > id(notice));
  return { root, child, childId, firstRunId, events, notice, recorded, lengthBefore };
}

test('a steer that reaches a child while it waits for a notice to the root before continuing-as-new returns its receipt, merged once', async () => {
  let steer: Promise<unknown> = Promise.resolve();
  const { root, childId, events, recorded } = await childAtContinueWithNoticeInFlight(async (child) => {
    steer = child.executeUpdate(steerUpdate, { args: [{ content: 'also list the tools' }] });
    steer.catch(() => undefined);
    await eventually(async () => (await child.fetchHistory()).events!.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes), { intervalMs: 20, what: 'the steer to be accepted' });
  });
  const accepted = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes)!;
  expect(accepted).toBeTruthy();
  // Accepted by the run before it learned its notice was recorded.
  if (recorded) expect(Number(accepted.eventId)).toBeLessThan(Number(recorded.eventId));

  await expect(steer).resolves.toMatchObject({ mergedAtTurn: expect.any(Number) });
  const state = await settled(client, (await root.query(stateQuery)).sessionId, 120_000);
  expect(state.children[0]).toMatchObject({ childSessionId: childId, status: 'completed' });
  const merged = (await sessionTranscript(client, childId)).filter((m) => m.role === 'user' && m.content === 'also list the tools');
  expect(merged).toHaveLength(1);
  await root.terminate();
}, 240_000);

test('a child cancelled while it waits for a notice to the root before continuing-as-new ends cancelled', async () => {
  const { root, child, childId, firstRunId, events, recorded, lengthBefore } = await childAtContinueWithNoticeInFlight(async (first) => {
    await first.cancel();
  });
  const cancelAsked = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED && Number(e.eventId) > lengthBefore);
  expect(cancelAsked).toBeTruthy();
  if (recorded) expect(Number(cancelAsked!.eventId)).toBeLessThan(Number(recorded.eventId));

  // The run the cancel reached is the last: it reported cancelled, and nothing continued.
  const state = await eventually(async () => {
    const s = await sessionState(client, (await root.query(stateQuery)).sessionId);
    return s.children[0]?.status !== 'running' && s;
  }, { timeoutMs: 120_000, what: 'the root to hear of its child' });
  expect(state.children[0]).toMatchObject({ childSessionId: childId, status: 'cancelled' });
  expect((await child.describe()).runId).toBe(firstRunId);
  await root.terminate();
}, 240_000);
