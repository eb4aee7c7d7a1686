/**
 * Durability: a worker SIGKILLed in the middle of a child's model call. Another worker
 * picks the run up, retries the interrupted call, finishes the run, and the parent gets
 * exactly one completion.
 */
import { startChildRun } from '../../client/child-runs';
import { sessionIdFromWorkflowId } from '../../common';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { caughtUp } from '../helpers/caught-up';
import { startRecordingParent, startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';
import { killStartedProcesses } from '../helpers/processes';
import { startWorkerProcess } from '../helpers/worker-process';

let tw: TestWorker;

beforeAll(async () => {
  tw = await startTestWorker(); // hosts the recording parent only
});
afterAll(async () => {
  await killStartedProcesses();
  await tw?.stop();
});

/**
 * A child run streaming on a worker process that is SIGKILLed mid-call, with a fresh worker on
 * the same queue; `completions()` waits for the parent's first completion, then until no
 * duplicate can still arrive (caught-up.ts).
 */
async function killWorkerMidCall(prompt: string, metadata: Record<string, string>) {
  const childQueue = uniqueId('crash-queue');
  const parent = await startRecordingParent(tw.client, tw.taskQueue);
  const first = await startWorkerProcess({ taskQueue: childQueue });
  const session = childSession(prompt, { parentSessionId: sessionIdFromWorkflowId(parent.workflowId)!, metadata });
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: childQueue });
  await eventually(async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'callModel' && a.heartbeatDetails);
  }, { timeoutMs: 30_000, what: 'the model call to stream on the first worker' });
  await first.kill('SIGKILL');
  await startWorkerProcess({ taskQueue: childQueue });
  const completions = async () => {
    await eventually(async () => (await parent.query(receivedCompletionsQuery)).length > 0, { timeoutMs: 10_000 });
    await caughtUp(tw.client, parent.workflowId, [handle.workflowId]);
    return parent.query(receivedCompletionsQuery);
  };
  return { parent, session, handle, completions };
}

test('a worker killed mid-run: a new worker finishes it and the parent gets one completion', async () => {
  const { parent, session, handle, completions } = await killWorkerMidCall('[[sleep:6]] survived', { 'child_watchdog.max_idle_secs': '5' });

  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toContain('echo: survived');

  // The interrupted call was retried (attempt 2) rather than ending the run.
  const history = await handle.fetchHistory();
  const started = history.events?.filter((e) => e.activityTaskStartedEventAttributes) ?? [];
  expect(started.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)).toBe(true);

  expect(await completions()).toEqual([expect.objectContaining({ childSessionId: session.id, status: 'completed' })]);
  await parent.terminate();
});

test('a worker killed mid-call past the total budget: the run still times out, once, with no workflow timer', async () => {
  // History shape 2 sets no timer beside a model call: the attempt stops itself at the run's
  // deadline. Killing the worker takes that clock away; the retry on another worker (or the
  // call's schedule-to-close) must still end the run on time.
  const { parent, session, handle, completions } = await killWorkerMidCall('[[sleep:60]] never finishes', {
    'child_watchdog.max_total_secs': '6',
    'child_watchdog.max_idle_secs': '3',
  });

  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(result.error).toMatch(/^Child session timed out after \d+ seconds \(max_total_secs=6\)$/);
  const events = (await handle.fetchHistory()).events ?? [];
  expect(events.some((e) => e.timerStartedEventAttributes)).toBe(false);
  expect(await completions()).toEqual([expect.objectContaining({ childSessionId: session.id, status: 'timeout' })]);
  await parent.terminate();
});
