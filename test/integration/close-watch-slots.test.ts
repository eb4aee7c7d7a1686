/**
 * A parent watches the close of every child run it holds no handle for (children adopted
 * across continue-as-new, starts waiting for an open run) with `awaitSessionRunClose`, for as
 * long as that run is open — hours. Issue 25: as a running activity, each watch held one of
 * the worker's activity slots that long, and a few roots with many children starved every
 * model and tool call on the worker.
 *
 * Measured here with a worker of WATCHED activity slots and as many adopted children, each
 * waiting for a person (no activity of its own): the root's next model call must still run,
 * and once the children report, the watches the root stops must end.
 */
import { respondUpdate, stateQuery } from '../../common/workflow-interface';
import { sendUserMessage, startSession } from '../../src/client/root-sessions';
import { sessionState, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';

const WATCHED = 3;
const tw = withTestWorker({
  deps: { toolPolicy: { tools: { get_current_time: 'ask' } } },
  tuning: { maxConcurrentActivityTaskExecutions: WATCHED },
});

test(`${WATCHED} adopted children's close watches leave a worker of ${WATCHED} activity slots free for the root's model call`, async () => {
  const spawns = Array.from({ length: WATCHED }, (_, i) => `[[spawn:Asker ${i}|[[tool:get_current_time|{}]] what time is it]]`).join(' ');
  const session = rootSession(spawns);
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 36 } }, { taskQueue: tw.taskQueue });
  // Every child waits for a person; the root continues-as-new and watches each through an activity.
  await eventually(async () => ((await handle.query(stateQuery)).pendingRequests?.length ?? 0) === WATCHED, { timeoutMs: 60_000, what: `${WATCHED} pending requests` });
  const current = tw.client.workflow.getHandle(handle.workflowId);
  const watchingRun = await eventually(async () => {
    const { runId, raw } = await current.describe();
    const watches = (raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'awaitSessionRunClose');
    return runId !== handle.firstExecutionRunId && watches.length === WATCHED ? runId : undefined;
  }, { timeoutMs: 60_000, what: `the root to continue-as-new and watch its ${WATCHED} children` });

  // One continue-as-new only (its budget is past the new run's history): no run ends and lets its watches go.
  const turnsBefore = (await sessionState(tw.client, session.id)).turn ?? 0;
  await sendUserMessage(tw.client, session.id, 'are you still there?');
  const answered = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return (s.turn ?? 0) > turnsBefore && s.phase !== 'running' ? s : undefined;
  }, { timeoutMs: 30_000, what: "the root's model call with every watch in place" });
  expect(answered.lastRunStatus).toBe('completed');
  expect((await current.describe()).runId).toBe(watchingRun);


  // The children are approved and report: the root stops their watches, which end (cancelled) at their next heartbeat.
  for (const request of (await current.query(stateQuery)).pendingRequests ?? []) {
    await current.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  }
  await settled(tw.client, session.id, 60_000);
  await eventually(async () => {
    const { raw } = await current.describe();
    return !(raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'awaitSessionRunClose');
  }, { timeoutMs: 45_000, what: 'the stopped watches to end' });
  await current.terminate();
}, 150_000);
