/**
 * What a streaming model call sends the server (issue 30): every heartbeat that reaches it is a
 * billable action on Temporal Cloud. By default the SDK sends one at most every 80 % of the
 * heartbeat timeout (24 s for a model call), whatever the stream's pace; BAMBOO_HEARTBEAT_THROTTLE
 * (here its worker option) buys a faster cancel with more of them. Counted from the server's
 * own record of the call: each heartbeat it records moves the pending activity's
 * `lastHeartbeatTime`.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startSession } from '../../client/root-sessions';
import { rootSession } from '../helpers/session-fixtures';
import { startTestWorker, type TestWorker } from '../helpers/temporal';
import { eventually } from '../helpers/eventually';

const workers: TestWorker[] = [];
afterAll(async () => {
  for (const w of workers) await w.stop();
});

/** Distinct heartbeat times the server recorded for the run's model call, watched for `secs` seconds. */
async function heartbeatsRecorded(handle: WorkflowHandle, secs: number): Promise<number> {
  const seen = new Set<string>();
  const until = Date.now() + secs * 1000;
  while (Date.now() < until) {
    const call = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'callModel');
    const at = call?.lastHeartbeatTime;
    if (at) seen.add(`${String(at.seconds)}.${at.nanos ?? 0}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return seen.size;
}

async function streamingRoot(client: Client, taskQueue: string): Promise<WorkflowHandle> {
  const handle = await startSession(client, { session: rootSession('[[sleep:60]] a long answer'), options: {} }, { taskQueue });
  await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'callModel'), { intervalMs: 100, what: 'the model call' });
  return handle;
}

test('a 20 s stretch of a streaming call records at most 2 heartbeats by default and about 10 with a 2 s throttle; a cancel still reaches the call', async () => {
  const sdkDefault = await startTestWorker({ tuning: { maxHeartbeatThrottleInterval: undefined, defaultHeartbeatThrottleInterval: undefined } });
  const twoSeconds = await startTestWorker({ tuning: { maxHeartbeatThrottleInterval: '2s', defaultHeartbeatThrottleInterval: '2s' } });
  workers.push(sdkDefault, twoSeconds);
  const [quiet, chatty] = await Promise.all([streamingRoot(sdkDefault.client, sdkDefault.taskQueue), streamingRoot(twoSeconds.client, twoSeconds.taskQueue)]);

  const [few, many] = await Promise.all([heartbeatsRecorded(quiet, 20), heartbeatsRecorded(chatty, 20)]);
  console.log(`heartbeats recorded in 20 s of streaming: ${few} with the SDK's throttle, ${many} with a 2 s throttle`);
  expect(few).toBeGreaterThanOrEqual(1); // liveness: the server hears from the call
  expect(few).toBeLessThanOrEqual(2);
  expect(many).toBeGreaterThanOrEqual(8);

  // Cancellation travels in a heartbeat's response: with the default it takes up to the
  // throttle interval, and the call still stops before its stream would have ended.
  await Promise.all([quiet.cancel(), chatty.cancel()]);
  const [quietEnd, chattyEnd] = await Promise.all([quiet.result(), chatty.result()]);
  expect(quietEnd.status).toBe('cancelled');
  expect(chattyEnd.status).toBe('cancelled');
}, 120_000);
