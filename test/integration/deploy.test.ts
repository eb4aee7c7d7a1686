/**
 * Deploying under running sessions (issue 29), on a real server with Worker Versioning: two
 * builds of the workers live at once, the second with an incompatible child-workflow change
 * and no patched(). The replay gate (`bamboo deploy check`) names the open runs build 2 would
 * break; a tree started on build 1 finishes its child on build 1 while new roots start on
 * build 2; the root moves to build 2 at its next turn (continue-as-new, AUTO_UPGRADE); a
 * rollback sends new roots back to build 1; no workflow task fails anywhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { startSession } from '../../client/root-sessions';
import { respondUpdate, sessionWorkflowId, stateQuery } from '../../common';
import { createBambooWorker } from '../../worker/create-worker';
import { bamboo } from '../helpers/cli';
import { eventually } from '../helpers/eventually';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { connectTestClient, testServer } from '../helpers/temporal';
import { startWorkerProcess } from '../helpers/worker-process';

const DEPLOYMENT = `bamboo-test-${randomBytes(4).toString('hex')}`;
const TASK_QUEUE = `deploy-${DEPLOYMENT}`;
const POLICY = { tools: { get_current_time: 'ask' as const } };
const V2 = require.resolve('../workflows-v2');
let client: Client;
let connection: NativeConnection;
const workers: { worker: Worker; running: Promise<void> }[] = [];

async function startBuild(buildId: string, code: { workflowBundlePath: string } | { workflowsPath: string }): Promise<void> {
  const worker = await createBambooWorker({ connection, client, namespace: testServer().namespace, taskQueue: TASK_QUEUE, ...code, deps: { toolPolicy: POLICY }, deployment: { name: DEPLOYMENT, buildId } });
  workers.push({ worker, running: worker.run() });
}

/** The build ids that completed the run's workflow tasks, in order, without repeats. */
async function buildsOf(workflowId: string, runId?: string): Promise<string[]> {
  const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const builds = (events ?? []).flatMap((e) => {
    const done = e.workflowTaskCompletedEventAttributes;
    return done ? [done.deploymentVersion?.buildId ?? done.workerDeploymentVersion?.split(':')[1] ?? '(unversioned)'] : [];
  });
  return builds.filter((b, i) => b !== builds[i - 1]);
}

async function taskFailures(workflowId: string): Promise<number> {
  let failed = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const { events } = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    failed += (events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
  }
  return failed;
}

const deploy = (...args: string[]) => bamboo(['deploy', ...args]);

beforeAll(async () => {
  client = await connectTestClient();
  connection = await NativeConnection.connect({ address: testServer().address });
  await startBuild('build-1', { workflowBundlePath: testServer().bundlePath });
  await startBuild('build-2', { workflowsPath: V2 });
  // A version is known to the server once its worker has polled: build 1 becomes current.
  await eventually(async () => (await deploy('promote', 'build-1', '--deployment', DEPLOYMENT)).code === 0 || undefined, { timeoutMs: 60_000, what: 'build 1 to be known' });
}, 180_000);

afterAll(async () => {
  for (const w of workers) w.worker.shutdown();
  await Promise.all(workers.map((w) => w.running.catch(() => undefined)));
  await connection?.close();
  await client?.connection.close();
});

test('two builds live: the gate names what build 2 would break, pinned runs finish where they started, roots move at a turn, rollback works, no task fails', async () => {
  // A tree on build 1 whose child waits for a person: its run is open, pinned to build 1.
  const first = rootSession('[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] go');
  const firstHandle = await startSession(client, { session: first, options: {} }, { taskQueue: TASK_QUEUE });
  const request = await eventually(async () => (await firstHandle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'the child’s request' });
  const childId = request.sessionId;

  // The gate: build 2 would break the open child run; build 1's own code breaks nothing.
  const scope = `TaskQueue = '${TASK_QUEUE}'`;
  const gate = await deploy('check', V2, '--query', scope, '--json');
  expect(gate.code).toBe(1);
  const report = JSON.parse(gate.stdout) as { checked: number; failures: { sessionWorkflowId: string; workflowType: string; error: string }[] };
  expect(report.checked).toBe(2);
  expect(report.failures).toEqual([{ sessionWorkflowId: sessionWorkflowId(childId), runId: expect.any(String), workflowType: 'childSessionWorkflow', error: expect.stringMatching(/[Nn]ondetermin/) }]);
  const same = await deploy('check', testServer().bundlePath, '--query', scope);
  expect(same.code).toBe(0);
  expect(same.stdout).toContain('checked 2 open session runs');
  expect(same.stdout).toContain('none would break');

  // Build 2 becomes current; a new root starts there.
  expect((await deploy('promote', 'build-2', '--deployment', DEPLOYMENT)).code).toBe(0);
  const second = rootSession('hello from build 2');
  await startSession(client, { session: second, options: {} }, { taskQueue: TASK_QUEUE });
  await settled(client, second.id, 60_000);
  expect(await buildsOf(sessionWorkflowId(second.id))).toEqual(['build-2']);

  const status = JSON.parse((await deploy('status', '--deployment', DEPLOYMENT, '--json')).stdout) as { current: string; versions: { buildId: string; openRuns: Record<string, number> }[] };
  expect(status.current).toBe('build-2');
  expect(status.versions.find((v) => v.buildId === 'build-1')?.openRuns).toEqual({ sessionWorkflow: 1, childSessionWorkflow: 1 });

  // The person approves: the child finishes on build 1, where it started.
  const { runId: firstRunId } = await firstHandle.describe();
  await firstHandle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
  await settled(client, first.id, 90_000);
  expect(await buildsOf(sessionWorkflowId(childId))).toEqual(['build-1']);
  // The root resumed at a turn boundary: it continued-as-new onto build 2, which ran the turn.
  const { runId: nowRunId } = await firstHandle.describe();
  expect(nowRunId).not.toBe(firstRunId);
  expect(await buildsOf(sessionWorkflowId(first.id), firstRunId)).toEqual(['build-1']);
  expect(await buildsOf(sessionWorkflowId(first.id), nowRunId)).toEqual(['build-2']);
  const transcript = (await firstHandle.query(stateQuery)).messageCount;
  expect(transcript).toBeGreaterThan(3);

  // Rollback: new roots go to build 1 again.
  expect((await deploy('rollback', 'build-1', '--deployment', DEPLOYMENT)).code).toBe(0);
  const third = rootSession('hello after the rollback');
  await startSession(client, { session: third, options: {} }, { taskQueue: TASK_QUEUE });
  await settled(client, third.id, 60_000);
  expect(await buildsOf(sessionWorkflowId(third.id))).toEqual(['build-1']);

  // Not one workflow task failed: no nondeterminism anywhere.
  for (const id of [first.id, childId, second.id, third.id]) expect(await taskFailures(sessionWorkflowId(id))).toBe(0);
  for (const id of [first.id, second.id, third.id]) await client.workflow.getHandle(sessionWorkflowId(id)).terminate('done');
}, 300_000);

test('`bamboo worker` with BAMBOO_WORKER_VERSIONING=on: its build id is the package version and its bundle’s hash, a first deploy makes it current, sessions run on it, and a tree survives its SIGKILL on the same build', async () => {
  const deployment = `bamboo-host-${randomBytes(4).toString('hex')}`;
  const taskQueue = `deploy-host-${deployment}`;
  const config = join(mkdtempSync(join(tmpdir(), 'bamboo-deploy-')), 'bamboo.config.json');
  writeFileSync(config, JSON.stringify({ toolPolicy: POLICY }));
  const env = { BAMBOO_WORKER_VERSIONING: 'on', BAMBOO_DEPLOYMENT_NAME: deployment, BAMBOO_CONFIG: config };
  let worker = await startWorkerProcess({ taskQueue, env });
  try {
    // The bundle's hash, its inline source map left out (it names files by absolute path).
    const code = readFileSync(testServer().bundlePath, 'utf8').replace(/\n\/\/# sourceMappingURL=[^\n]*\s*$/, '\n');
    const buildId = createHash('sha256').update(code).digest('hex').slice(0, 12);
    await worker.waitForOutput(new RegExp(`worker versioning: on: deployment ${deployment}, build \\d+\\.\\d+\\.\\d+-${buildId}`), 30_000);
    await worker.waitForOutput(`worker deployment ${deployment} had no current version`, 60_000);
    const session = rootSession('[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] go');
    const handle = await startSession(client, { session, options: {} }, { taskQueue });
    const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'the child’s request' });

    // The worker dies while the tree waits for a person; a worker of the same build takes over.
    await worker.kill('SIGKILL');
    worker = await startWorkerProcess({ taskQueue, env });
    await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
    await settled(client, session.id, 90_000);
    const [child] = (await handle.query(stateQuery)).children;
    expect(child.status).toBe('completed');
    for (const id of [session.id, child.childSessionId]) {
      expect((await buildsOf(sessionWorkflowId(id))).every((b) => b.endsWith(`-${buildId}`))).toBe(true);
      expect(await taskFailures(sessionWorkflowId(id))).toBe(0);
    }
    await handle.terminate('done');
  } finally {
    await worker.kill('SIGTERM');
  }
}, 240_000);
