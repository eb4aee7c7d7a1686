/**
 * History shape 2 (SpawnJob.historyShape, issue 17): a child run that only calls activities
 * writes one event more than bare Temporal, and still shows the Web UI everything and keeps both
 * watchdogs. A run started without the field (an older starter) writes the first shape.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startChildRun } from '../../client/child-runs';
import {
  BambooCostUsd,
  BambooModel,
  BambooParentSessionId,
  BambooRootSessionId,
  BambooRunStatus,
  BambooSessionKind,
  BambooTokens,
  FailureTypes,
  sessionWorkflowId,
  type ChildRunResult,
} from '../../common';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { withRecordingParent } from '../helpers/recording-suite';
import { activityOutcomes } from '../helpers/history-text';
import { watchdogSeconds } from '../helpers/watchdog-text';

const suite = withRecordingParent();
const { EventType } = temporal.api.enums.v1;

async function eventsOf(handle: WorkflowHandle) {
  return (await handle.fetchHistory()).events ?? [];
}

const upsertedKeys = (events: Awaited<ReturnType<typeof eventsOf>>) =>
  events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).map((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!).sort());

test('a child run that calls the model once writes 17 events, one upsert at its end, and shows every attribute', async () => {
  const session = childSession('hello there', { parentSessionId: suite.parentSessionId });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('completed');

  const events = await eventsOf(handle);
  // Bare Temporal's parent/child (bench/workflows/baseline.ts) writes 16: Bamboo adds the final upsert.
  expect(events).toHaveLength(17);
  expect(upsertedKeys(events)).toEqual([[BambooCostUsd.name, BambooRunStatus.name, BambooTokens.name].sort()]);
  expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED)).toBe(false);
  expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)).toBe(false);

  // What the Web UI lists and filters by: set at start, the status and spend at the end.
  const attributes = (await handle.describe()).typedSearchAttributes;
  expect(attributes.get(BambooSessionKind)).toBe('child');
  expect(attributes.get(BambooParentSessionId)).toBe(suite.parentSessionId);
  expect(attributes.get(BambooRootSessionId)).toBe(session.rootSessionId);
  expect(attributes.get(BambooModel)).toBe(session.model);
  expect(attributes.get(BambooRunStatus)).toBe('completed');
  expect(attributes.get(BambooTokens)).toBeGreaterThan(0);
  expect(await suite.completionsFor(session.id)).toEqual([expect.objectContaining({ status: 'completed' })]);
});

test('a stalled call past max_total stops itself at the run deadline: timeout, no workflow timer', async () => {
  const session = childSession('[[stall:60]]', {
    parentSessionId: suite.parentSessionId,
    metadata: { 'child_watchdog.max_total_secs': '4', 'child_watchdog.max_idle_secs': '60' },
  });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(watchdogSeconds(result.error, 'total', 4)).toBeGreaterThanOrEqual(4);

  // Neither the 60 s stall nor max_idle ended it: the one attempt stopped its call at the run's
  // deadline and reported why (a dead worker would be stopped by schedule-to-close).
  expect(activityOutcomes(await handle.fetchHistory(), 'callModel')).toEqual([{ outcome: 'failed', failureType: FailureTypes.totalTimeout, attempt: 1 }]);
  const events = await eventsOf(handle);
  expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED)).toBe(false);
  const attributes = (await handle.describe()).typedSearchAttributes;
  expect(attributes.get(BambooRunStatus)).toBe('timeout');
  expect(await suite.completionsFor(session.id)).toEqual([expect.objectContaining({ status: 'timeout', error: result.error })]);
});

test('a child waiting for its own child past max_total is ended by the timer it starts for the wait', async () => {
  const session = childSession('[[spawn:Helper|[[sleep:60]] dig]] delegate', {
    parentSessionId: suite.parentSessionId,
    metadata: { 'child_watchdog.max_total_secs': '5' },
  });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session, { spawnOptions: { maxSpawnDepth: 2 } }), { taskQueue: suite.tw.taskQueue });
  const result: ChildRunResult = await handle.result();
  expect(result.status).toBe('timeout');
  expect(watchdogSeconds(result.error, 'total', 5)).toBeGreaterThanOrEqual(5);

  const events = await eventsOf(handle);
  // Started when the wait began (beside the wait's 6 h lease), for what was left of the 5 s, and fired.
  const deadline = events.find((e) => e.timerStartedEventAttributes && Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds) < 5);
  expect(deadline).toBeDefined();
  const firstActivity = events.find((e) => e.activityTaskScheduledEventAttributes)!;
  expect(Number(deadline!.eventId)).toBeGreaterThan(Number(firstActivity.eventId)); // no timer beside the model call
  expect(events.some((e) => e.timerFiredEventAttributes?.timerId === deadline!.timerStartedEventAttributes!.timerId)).toBe(true);
  // Its own child did not outlive it (it inherits the 5 s budget, so it may time out first).
  const grandchildId = events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)!.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!;
  const grandchild = (await suite.tw.client.workflow.getHandle(grandchildId).result()) as ChildRunResult;
  expect(['cancelled', 'timeout']).toContain(grandchild.status);
});

test('a run started without historyShape (an older starter) writes the first shape and completes', async () => {
  const session = childSession('from an older starter', { parentSessionId: suite.parentSessionId });
  const handle = await suite.tw.client.workflow.start('childSessionWorkflow', {
    taskQueue: suite.tw.taskQueue,
    workflowId: sessionWorkflowId(session.id),
    args: [spawnJobFor(session)],
  });
  const result = (await handle.result()) as ChildRunResult;
  expect(result.status).toBe('completed');
  const events = await eventsOf(handle);
  // Upserts at start (running; root and model), the total-time timer beside the call, status and usage at the end.
  expect(upsertedKeys(events)[0]).toContain(BambooRunStatus.name);
  expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED)).toBe(true);
  expect(events.length).toBeGreaterThan(17);
  expect((await handle.describe()).typedSearchAttributes.get(BambooRunStatus)).toBe('completed');
});
