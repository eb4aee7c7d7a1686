/**
 * Records one history per childSessionWorkflow path into test/replay/histories/, for the
 * replay test. Run after changing workflow code deliberately (new paths, or a new version
 * behind patched()):  npm run record-histories
 * It starts its own dev server and worker; existing fixtures with the same name are replaced.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cancelSession, injectIntoSession, startChildRun } from '../../src/client/child-runs';
import { sessionWorkflowId, type Session, type SpawnJob } from '../../src/domain';
import { startDevServer } from '../../src/temporal/dev-server';
import { createBambooWorker } from '../../src/worker/create-worker';
import { childSession, spawnJobFor } from '../helpers/sessions';

const OUT_DIR = join(__dirname, 'histories');
const TASK_QUEUE = 'record-histories';
const PARENT = 'recording-parent';

interface Scenario {
  name: string;
  job: () => SpawnJob | Record<string, unknown>;
  /** Drives the run while it is in flight (cancel, inject). */
  during?: (client: Client, handle: WorkflowHandle) => Promise<void>;
}

const child = (prompt: string, metadata: Record<string, string> = {}, extra: Partial<Session> = {}) =>
  spawnJobFor(childSession(prompt, { parentSessionId: PARENT, metadata, ...extra }));

const SCENARIOS: Scenario[] = [
  { name: 'completed', job: () => child('hello') },
  { name: 'completed-tool-call', job: () => child('[[tool:get_current_time|{}]] what time is it') },
  { name: 'completed-after-retry', job: () => child('[[flaky:1]] try again') },
  { name: 'error-model-failure', job: () => child('[[fail:the model refused]]') },
  { name: 'error-not-found', job: () => ({ parentSessionId: PARENT, childSessionId: `missing-${Date.now()}`, model: 'm' }) },
  { name: 'error-not-kind-child', job: () => child('hi', {}, { kind: 'root' }) },
  {
    name: 'error-external-not-configured',
    job: () => child('hi', { 'runtime.kind': 'external', 'external.agent_id': 'a', 'external.protocol': 'a2a_jsonrpc' }),
  },
  {
    name: 'skipped',
    job: () => {
      const job = child('asked');
      job.session!.messages.push({ id: 'a', role: 'assistant', content: 'answered', createdAt: new Date().toISOString() });
      return job;
    },
  },
  { name: 'timeout-idle', job: () => child('[[stall:30]]', { 'child_watchdog.max_idle_secs': '2' }) },
  { name: 'timeout-total', job: () => child('[[sleep:30]]', { 'child_watchdog.max_total_secs': '3' }) },
  { name: 'cancelled', job: () => child('[[sleep:30]]'), during: (client, h) => afterStreaming(h, () => cancelSession(client, idOf(h))) },
  {
    name: 'completed-injected-message',
    job: () => child('[[sleep:2]] first'),
    during: (client, h) => afterStreaming(h, () => injectIntoSession(client, idOf(h), 'a follow-up')),
  },
  { name: 'failed-invalid-input', job: () => ({ parentSessionId: PARENT, childSessionId: 'bad-input', model: '' }) },
];

const idOf = (h: WorkflowHandle) => h.workflowId.replace(/^bamboo-session-/, '');

async function afterStreaming(handle: WorkflowHandle, act: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    if (pending.some((a) => a.heartbeatDetails)) return act();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.workflowId} never started streaming`);
}

async function main(): Promise<void> {
  const server = await startDevServer({ find: { log: console.log } });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createBambooWorker({
    connection,
    client,
    namespace: 'default',
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
  });
  mkdirSync(OUT_DIR, { recursive: true });
  await worker.runUntil(async () => {
    await client.workflow.start('recordingParentWorkflow', { taskQueue: TASK_QUEUE, workflowId: sessionWorkflowId(PARENT) });
    for (const scenario of SCENARIOS) {
      const job = scenario.job();
      const handle = job.model
        ? await startChildRun(client, job as SpawnJob, { taskQueue: TASK_QUEUE })
        : await client.workflow.start('childSessionWorkflow', {
            taskQueue: TASK_QUEUE,
            workflowId: sessionWorkflowId(String(job.childSessionId)),
            args: [job],
          });
      await scenario.during?.(client, handle);
      const outcome = await handle.result().then(
        (r: { status: string }) => r.status,
        (e: Error) => `failed: ${e.message}`,
      );
      const history = await handle.fetchHistory();
      writeFileSync(join(OUT_DIR, `child-${scenario.name}.json`), historyToJSON(temporal.api.history.v1.History.create(history)));
      console.log(`recorded child-${scenario.name}.json (${outcome}, ${history.events?.length} events)`);
    }
  });
  await connection.close();
  await client.connection.close();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
