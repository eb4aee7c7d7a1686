/**
 * Numeric options and child_watchdog.* values above their maximum are rejected when the
 * session starts, with the field and the bound: by the client helpers before anything is
 * started, and by the workflow itself — failing at once, non-retryably, on its first workflow
 * task — when a raw start bypasses them (instead of a workflow task that throws RangeError on
 * an invalid date and retries forever).
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startChildRun } from '../../client/child-runs';
import { startSession } from '../../client/root-sessions';
import { sessionWorkflowId } from '../../common';
import { childSession, rootSession, spawnJobFor } from '../helpers/session-fixtures';
import { uniqueId, withTestWorker } from '../helpers/temporal';

jest.setTimeout(60_000);

const tw = withTestWorker();

/** The run's failure, and its history's workflow task failures and attempts. */
async function failureOf(handle: WorkflowHandle) {
  const error = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  const events = (await handle.fetchHistory()).events ?? [];
  return {
    message: cause!.message,
    nonRetryable: (cause as ApplicationFailure).nonRetryable,
    workflowTaskFailures: events.filter((e) => e.workflowTaskFailedEventAttributes).length,
    workflowTasksCompleted: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}

test('startSession refuses waitLeaseSecs 1e13, naming the option and its maximum, and starts nothing', async () => {
  const session = rootSession('[[spawn:A|hello]]');
  await expect(startSession(tw.client, { session, options: { waitLeaseSecs: 1e13 } }, { taskQueue: tw.taskQueue })).rejects.toThrow(
    'invalid session input: options.waitLeaseSecs: must be at most 31536000 (1 year)',
  );
  await expect(tw.client.workflow.getHandle(sessionWorkflowId(session.id)).describe()).rejects.toThrow(/not found/i);
});

test('a root session started raw with waitLeaseSecs 1e13 fails at once, non-retryably, with the option and its maximum', async () => {
  const session = rootSession('[[spawn:A|hello]]');
  const handle = await tw.client.workflow.start('sessionWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: sessionWorkflowId(session.id),
    args: [{ session, options: { waitLeaseSecs: 1e13 } }],
  });
  expect(await failureOf(handle)).toEqual({
    message: 'invalid session input: options.waitLeaseSecs: must be at most 31536000 (1 year)',
    nonRetryable: true,
    workflowTaskFailures: 0,
    workflowTasksCompleted: 1,
  });
});

test('a root session started raw with historyEventBudget above 50,000 fails at once with the bound', async () => {
  const session = rootSession('hello');
  const handle = await tw.client.workflow.start('sessionWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: sessionWorkflowId(session.id),
    args: [{ session, options: { historyEventBudget: 1_000_000 } }],
  });
  expect(await failureOf(handle)).toMatchObject({
    message: 'invalid session input: options.historyEventBudget: must be at most 50000 (Temporal ends a workflow at 51,200 history events)',
    workflowTaskFailures: 0,
  });
});

test('a child run whose snapshot has child_watchdog.max_total_secs 1e15 is an invalid SpawnJob naming the key and the bound', async () => {
  const session = childSession('hello', { parentSessionId: uniqueId('absent-parent'), metadata: { 'child_watchdog.max_total_secs': '1000000000000000' } });
  const expected = 'invalid SpawnJob: session.metadata.child_watchdog.max_total_secs: must be at most 31536000 (1 year)';
  // The client helper refuses it…
  await expect(startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue })).rejects.toThrow(expected);
  // …and so does the workflow, when started raw: at once, non-retryably.
  const handle = await tw.client.workflow.start('childSessionWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: sessionWorkflowId(session.id),
    args: [spawnJobFor(session)],
  });
  expect(await failureOf(handle)).toMatchObject({ message: expected, nonRetryable: true, workflowTaskFailures: 0 });
});

test('a child_watchdog value that does not count (not an integer > 0) is still ignored: the run completes with the defaults', async () => {
  const session = childSession('hello', { parentSessionId: uniqueId('absent-parent'), metadata: { 'child_watchdog.max_total_secs': '1e15' } });
  const result = await (await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue })).result();
  expect(result.status).toBe('completed');
});
