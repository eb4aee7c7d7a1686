/**
 * What a session costs in Temporal Cloud's billable actions (issue 30), counted by the server
 * itself: a dev server of this file's own with its `action` metric on, a worker with Bamboo's
 * defaults, nothing else on the namespace. The history-based count (`historyActions`) must agree.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startSession } from '../../client/root-sessions';
import { freePort, startDevServer, type DevServer } from '../../cli/temporal/dev-server';
import { createBambooWorker } from '../../worker/create-worker';
import { actionsBetween, historyActions, scrapeActions, totalActions } from '../../testing';
import { rootSession } from '../helpers/session-fixtures';
import { testServer } from '../helpers/temporal';

let server: DevServer;
let client: Client;
let metricsUrl: string;
let stopWorker: () => Promise<void>;
const TASK_QUEUE = 'billable-actions';

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const metricsPort = await freePort();
  server = await startDevServer({ metricsPort });
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createBambooWorker({ connection, client, namespace: 'default', taskQueue: TASK_QUEUE, workflowBundlePath: testServer().bundlePath });
  const running = worker.run();
  stopWorker = async () => {
    worker.shutdown();
    await running;
    await connection.close();
  };
}, 90_000);

afterAll(async () => {
  await stopWorker?.();
  await client?.connection.close();
  await server?.stop();
});

/** The server reports its metrics on an interval: a reading waits for the last report. */
async function settledActions() {
  await new Promise((r) => setTimeout(r, 5000));
  return scrapeActions(metricsUrl);
}

test('a session whose transcript is past the inline limit reads it through a query once, not once per model call, and the histories count what the server counted', async () => {
  const before = await settledActions();
  // Six rounds of a tool call over a 6 KB transcript: seven model calls, each past 4 KiB.
  const session = rootSession(`[[rounds:6|get_current_time|{}]] ${'a long brief '.repeat(500)}`);
  const handle = await startSession(client, { session, options: { idleTtlSecs: 1 } }, { taskQueue: TASK_QUEUE });
  const result = await handle.result();
  expect(result.status).toBe('idle_expired');
  const counted = actionsBetween(before, await settledActions());

  const { events } = await handle.fetchHistory();
  const calls = events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel').length;
  expect(calls).toBe(7);
  console.log(`actions for 7 model calls over a 6 KB transcript: ${JSON.stringify(counted)}`);
  // Before the worker cached transcripts: one query per call (7).
  expect(counted.grpc_QueryWorkflow ?? 0).toBeLessThanOrEqual(1);
  // The answer the model gave is the one for the whole transcript (the cache assembled it right).
  expect(result.session.messages.filter((m) => m.role === 'tool')).toHaveLength(6);
  // Heartbeats and queries are not in history; everything else is, and agrees — but for the
  // SDK's TemporalChangeVersion upserts beside patch markers, which the server's metric counts
  // and Temporal Cloud does not bill.
  const { grpc_QueryWorkflow: queries = 0, grpc_RecordActivityTaskHeartbeat: heartbeats = 0 } = counted;
  const changeVersionUpserts = events!.filter((e) => {
    const fields = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
    return fields.length > 0 && fields.every((f) => f === 'TemporalChangeVersion');
  }).length;
  expect(changeVersionUpserts).toBeGreaterThan(0);
  expect(totalActions(historyActions(events!)) + queries + heartbeats + changeVersionUpserts).toBe(totalActions(counted));
}, 120_000);
