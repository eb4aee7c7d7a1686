/**
 * A parent watches the close of every child run it holds no handle for (children adopted
 * across continue-as-new, starts waiting for an open run) with `awaitSessionRunClose`, for as
 * long as that run is open — hours. Issue 25: as a running activity, each watch held one of
 * the worker's activity slots that long, and a few roots with many children starved every
 * model and tool call on the worker.
 *
 * Measured here with a worker of WATCHED activity slots and as many adopted children, each
 * waiting for a person (no activity of its own): the root's next model call must still run,
 * and once the children report, the watches the root stops must end — by the heartbeat's
 * answer when the run they watch stays open.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { sessionWorkflowId, respondUpdate, stateQuery } from '../../common';
import { sendUserMessage, startSession } from '../../client/root-sessions';
import { sessionState, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { activityOutcomes } from '../helpers/history-text';
import { withTestWorker } from '../helpers/temporal';
import { LATE_CLOSE_TITLE } from '../workflows/late-close';

const WATCHED = 3;
const HEARTBEAT_MS = 2000;
const tw = withTestWorker({
  deps: { toolPolicy: { tools: { get_current_time: 'ask' } }, closeWatches: { heartbeatMs: HEARTBEAT_MS } },
  tuning: { maxConcurrentActivityTaskExecutions: WATCHED },
  // Child runs titled "Late closer <n>s" stay open n seconds after reporting.
  workflowsPath: require.resolve('../workflows/late-close'),
});

const closeWatches = async (handle: WorkflowHandle) => ((await handle.describe()).raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'awaitSessionRunClose');

test(`${WATCHED} adopted children's close watches leave a worker of ${WATCHED} activity slots free for the root's model call`, async () => {
  const spawns = Array.from({ length: WATCHED }, (_, i) => `[[spawn:Asker ${i}|[[tool:get_current_time|{}]] what time is it]]`).join(' ');
  const session = rootSession(spawns);
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 30 } }, { taskQueue: tw.taskQueue });
  // Every child waits for a person; the root continues-as-new and watches each through an activity.
  await eventually(async () => ((await handle.query(stateQuery)).pendingRequests?.length ?? 0) === WATCHED, { timeoutMs: 60_000, what: `${WATCHED} pending requests` });
  const current = tw.client.workflow.getHandle(handle.workflowId);
  const watchingRun = await eventually(async () => {
    const { runId } = await current.describe();
    return runId !== handle.firstExecutionRunId && (await closeWatches(current)).length === WATCHED ? runId : undefined;
  }, { timeoutMs: 60_000, what: `the root to continue-as-new and watch its ${WATCHED} children` });

  // The run that watches takes the message. Its model call must run while every watch holds on
  // (it may continue-as-new after the turn, its history past the budget: not what this is about).
  await sendUserMessage(tw.client, session.id, 'are you still there?');
  const watching = tw.client.workflow.getHandle(handle.workflowId, watchingRun);
  const events = await eventually(async () => {
    const history = await watching.fetchHistory();
    return activityOutcomes(history, 'callModel').some((o) => o.outcome === 'completed') ? (history.events ?? []) : undefined;
  }, { timeoutMs: 30_000, what: "the root's model call with every watch in place" });
  const typeOf = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]));
  const closedBefore = (name: string, upTo: number) =>
    events.slice(0, upTo).filter((e) => {
      const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      return closed && typeOf.get(String(closed.scheduledEventId)) === name;
    }).length;
  const callDone = events.findIndex((e) => e.activityTaskCompletedEventAttributes && typeOf.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) === 'callModel');
  expect(closedBefore('awaitSessionRunClose', callDone)).toBe(0);
  expect([...typeOf.values()].filter((name) => name === 'awaitSessionRunClose')).toHaveLength(WATCHED);

  // The children are approved and report: the root stops their watches, which end (cancelled) at their next heartbeat.
  for (const request of (await current.query(stateQuery)).pendingRequests ?? []) {
    await current.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  }
  await settled(tw.client, session.id, 60_000);
  await eventually(async () => (await closeWatches(current)).length === 0, { timeoutMs: 45_000, what: 'the stopped watches to end' });
  await current.terminate();
}, 150_000);

test('a watch the parent stops while its run stays open (the child reported, its run still closing) ends at its next heartbeat', async () => {
  // A sleeper keeps the root waiting (policy `all`), so the root's run that watches goes on.
  const session = rootSession(`[[spawn:${LATE_CLOSE_TITLE} 60s|[[sleep:4]] slow draft]] [[spawn:Sleeper|[[sleep:120]] long]]`);
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 20 } }, { taskQueue: tw.taskQueue });
  // The root continues-as-new while the children work, and watches both adopted runs through activities.
  const current = tw.client.workflow.getHandle(handle.workflowId);
  const watchingRun = await eventually(async () => {
    const { runId } = await current.describe();
    return runId !== handle.firstExecutionRunId && (await closeWatches(current)).length === 2 ? runId : undefined;
  }, { timeoutMs: 60_000, what: 'the root to continue-as-new and watch its children' });
  // The late closer reports and stays open: the root stops its watch, which ends on its heartbeat's answer, not on the close.
  const childId = await eventually(async () => (await sessionState(tw.client, session.id)).children.find((c) => c.status === 'completed')?.childSessionId, {
    timeoutMs: 60_000,
    what: 'the late closer to report',
  });
  await eventually(async () => (await closeWatches(current)).length === 1, { timeoutMs: 20_000, what: 'the stopped watch to end' });
  // It ended while the run it watched is still open, so not on the close: cancelled, its
  // heartbeat carrying the cancellation; the Sleeper's watch goes on.
  expect((await tw.client.workflow.getHandle(sessionWorkflowId(childId)).describe()).status.name).toBe('RUNNING');
  expect((await current.describe()).runId).toBe(watchingRun);
  const watches = activityOutcomes(await tw.client.workflow.getHandle(handle.workflowId, watchingRun).fetchHistory(), 'awaitSessionRunClose');
  expect(watches.map((w) => w.outcome).sort()).toEqual(['cancelled', 'open']);
  for (const child of (await sessionState(tw.client, session.id)).children) await tw.client.workflow.getHandle(sessionWorkflowId(child.childSessionId)).terminate().catch(() => undefined);
  await current.terminate();
});
