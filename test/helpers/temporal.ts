/** Test helpers: real workers and clients against the dev server started by global setup. */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { ActivityDeps } from '../../worker/activities';
import { createBambooWorker, type BambooWorkerOptions } from '../../worker/create-worker';
import { sessionWorkflowId } from '../../common';
import { startDevServer, type DevServer } from '../../cli/temporal/dev-server';
import type { recordingParentWorkflow } from '../workflows/recording-parent';

let runtimeInstalled = false;

export function testServer() {
  const address = process.env.BAMBOO_TEST_TEMPORAL_ADDRESS;
  const namespace = process.env.BAMBOO_TEST_NAMESPACE ?? 'default';
  const bundlePath = process.env.BAMBOO_TEST_WORKFLOW_BUNDLE;
  if (!address || !bundlePath) throw new Error('the jest global setup did not start a Temporal dev server');
  return { address, namespace, bundlePath };
}

export interface TestWorker {
  client: Client;
  worker: Worker;
  taskQueue: string;
  stop(): Promise<void>;
}

/** Starts a real worker in this process on a fresh task queue. */
export async function startTestWorker(
  options: {
    taskQueue?: string;
    deps?: Partial<Omit<ActivityDeps, 'client'>>;
    /** Workflows bundled for this worker instead of the shared test bundle (test/workflows). */
    workflowsPath?: string;
    tuning?: BambooWorkerOptions['tuning'];
  } = {},
): Promise<TestWorker> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const { address, namespace, bundlePath } = testServer();
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const client = await connectTestClient();
  const connection = await NativeConnection.connect({ address });
  const worker = await createBambooWorker({
    connection,
    client,
    namespace,
    taskQueue,
    ...(options.workflowsPath ? { workflowsPath: options.workflowsPath } : { workflowBundlePath: bundlePath }),
    deps: options.deps,
    tuning: withTestHeartbeats(options.tuning),
  });
  const running = worker.run();
  return {
    client,
    worker,
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}

/**
 * Test workers flush heartbeats every 2 s, so a cancel reaches a streaming call within 2 s and
 * tests that cancel do not wait 24 s. A test that sets the throttle to undefined gets the SDK's
 * default (test/integration/heartbeats.test.ts).
 */
function withTestHeartbeats(tuning: BambooWorkerOptions['tuning'] = {}): BambooWorkerOptions['tuning'] {
  const out: NonNullable<BambooWorkerOptions['tuning']> = { maxHeartbeatThrottleInterval: '2s', defaultHeartbeatThrottleInterval: '2s', ...tuning };
  for (const key of ['maxHeartbeatThrottleInterval', 'defaultHeartbeatThrottleInterval'] as const) if (out[key] === undefined) delete out[key];
  return out;
}

export async function connectTestClient(): Promise<Client> {
  const { address, namespace } = testServer();
  return new Client({ connection: await Connection.connect({ address }), namespace });
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export type RecordingParentHandle = WorkflowHandle<typeof recordingParentWorkflow>;

/** Starts the test parent that records every completion it receives. */
export function startRecordingParent(client: Client, taskQueue: string, parentSessionId = uniqueId('parent')) {
  return client.workflow.start<typeof recordingParentWorkflow>('recordingParentWorkflow', {
    taskQueue,
    workflowId: sessionWorkflowId(parentSessionId),
  });
}

/**
 * A test file's real worker: started before its tests, stopped after. Its fields are read
 * inside tests and hooks (they exist once the worker has started).
 */
export function withTestWorker(options: Parameters<typeof startTestWorker>[0] = {}): TestWorker {
  let tw: TestWorker | undefined;
  beforeAll(async () => {
    tw = await startTestWorker(options);
  });
  afterAll(async () => {
    await tw?.stop();
  });
  const started = () => {
    if (!tw) throw new Error('the test worker starts in beforeAll: use it inside a test or a hook');
    return tw;
  };
  return {
    get client() {
      return started().client;
    },
    get worker() {
      return started().worker;
    },
    get taskQueue() {
      return started().taskQueue;
    },
    stop: () => started().stop(),
  };
}

/**
 * A dev server of the test's own with the Web UI on a free port. A port taken between picking
 * and binding is the product's to handle (`startDevServer` retries on fresh ports), not the test's.
 */
export function startDevServerWithUi(): Promise<DevServer> {
  return startDevServer({ uiPort: 'free' });
}
