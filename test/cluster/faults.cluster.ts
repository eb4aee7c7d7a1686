/**
 * Reliability on the production topology (`bamboo cluster up`: PostgreSQL, history, matching,
 * frontend and the internal worker as separate processes, three Bamboo worker processes):
 * trees of root sessions whose children are running when one part of the cluster fails. Every
 * child must reach a terminal status and report to its parent exactly once, every parent must
 * resume exactly once, no workflow task may fail, each root's usage ledger must be exact
 * (expectTreesKept, shared with the reliability suite). The cluster's Web UI lists them after.
 *
 *   npx jest -c test/cluster/jest.config.json     (about 4 minutes with the server built)
 *
 * Counts per scenario go to test-output/cluster-faults/summary.json.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdirSync, rmSync } from 'node:fs';
import { UP_DEFAULTS } from '../../cli/cluster/config';
import { clusterDown, clusterUp, runningProcesses } from '../../cli/cluster/launcher';
import { freePort } from '../../cli/cluster/processes';
import { pollerPids } from '../../cli/cluster/services';
import { readState, type ClusterState } from '../../cli/cluster/state';
import { runScenario } from '../reliability/support/scenario';
import { beginScenario, type ScenarioRecord } from '../reliability/support/summary';
import { auditFindings, checkTrees, childrenInFlight, expectTreesKept, summarizeReport } from '../reliability/support/trees';
import { randomInt, sleep } from '../reliability/support/util';
import { CLUSTER_OUT, crashAndRestartPostgres, killService, killWorker, restartService, treesInFlight, writeFaultSummary } from './support';

const ROOTS = 3;
const CHILDREN_PER_ROOT = 5;
/** Longer than the children's 30 s idle watchdog. */
const LONG_OUTAGE_SECS = 40;

let state: ClusterState;
let client: Client;
let connection: Connection;
const records: ScenarioRecord[] = [];

beforeAll(async () => {
  await clusterDown({ dir: CLUSTER_OUT, purge: true, log: () => undefined }); // a cluster left by an interrupted run
  mkdirSync(CLUSTER_OUT, { recursive: true });
  ({ state } = await clusterUp({ ...UP_DEFAULTS, dir: CLUSTER_OUT, workers: 3, port: 0, uiPort: await freePort(), log: (line) => console.log(line) }));
  connection = await Connection.connect({ address: state.address });
  client = new Client({ connection, namespace: state.namespace });
}, 600_000);

afterAll(async () => {
  await connection?.close();
  console.log(writeFaultSummary(records));
  await clusterDown({ dir: CLUSTER_OUT, log: () => undefined });
  rmSync(`${CLUSTER_OUT}/pgdata`, { recursive: true, force: true });
});

/** Trees in flight, then `fault`, then the engine's promise checked; the record counts it all. */
async function faultScenario(id: string, title: string, fault: (record: ScenarioRecord) => Promise<string>): Promise<void> {
  const record = beginScenario(id, title);
  records.push(record);
  await runScenario(record, async ({ terminateAtEnd }) => {
    const tree = await treesInFlight(client, state.taskQueue, ROOTS, CHILDREN_PER_ROOT, id);
    terminateAtEnd(client, tree.rootIds);
    record.runs = ROOTS + ROOTS * CHILDREN_PER_ROOT;
    const before = await childrenInFlight(client, tree.rootIds);
    expect(before.running).toBeGreaterThan(0); // a fault that hits an idle tree proves nothing
    const startedAt = Date.now();
    const note = await fault(record);
    record.faults += 1;
    record.details.fault = { childrenRunning: before.running, childrenFinished: before.terminal, recoveredSecs: Math.round((Date.now() - startedAt) / 100) / 10 };
    await expectTreesKept(client, tree, record, ROOTS * CHILDREN_PER_ROOT, note);
  });
}

test('history SIGKILLed while children run, started again: nothing lost, nothing doubled', async () => {
  await faultScenario('history-sigkill', `history service SIGKILLed mid-run (${ROOTS * CHILDREN_PER_ROOT} children)`, async () => {
    await killService(state, 'history');
    await sleep(randomInt(3000, 6000));
    await restartService(state, 'history');
    return 'history killed with SIGKILL (no shutdown, shards not released) and started again on its ports';
  });
});

test('PostgreSQL crashed (immediate shutdown) while children run, started again: nothing lost, nothing doubled', async () => {
  await faultScenario('postgres-restart', `PostgreSQL immediate shutdown mid-run (${ROOTS * CHILDREN_PER_ROOT} children)`, async () => {
    await crashAndRestartPostgres(state, randomInt(3000, 6000));
    return 'PostgreSQL stopped in immediate mode (SIGQUIT: crash recovery at the next start); the Temporal services kept running and reconnected';
  });
});

test('matching SIGKILLed while children run, started again: nothing lost, nothing doubled', async () => {
  await faultScenario('matching-sigkill', `matching service SIGKILLed mid-run (${ROOTS * CHILDREN_PER_ROOT} children)`, async () => {
    await killService(state, 'matching');
    await sleep(randomInt(3000, 6000));
    await restartService(state, 'matching');
    return 'matching killed with SIGKILL (its in-memory task queues lost) and started again on its ports';
  });
});

test('frontend SIGKILLed while children run, started again: workers and clients reconnect, nothing lost', async () => {
  await faultScenario('frontend-sigkill', `frontend service SIGKILLed mid-run (${ROOTS * CHILDREN_PER_ROOT} children)`, async () => {
    await killService(state, 'frontend');
    await sleep(randomInt(3000, 6000));
    await restartService(state, 'frontend');
    return 'frontend killed with SIGKILL (every worker poll and client call cut) and started again on its port';
  });
});

test('history down longer than the idle watchdog: every child still ends, reported once; every parent resumes once', async () => {
  const record = beginScenario('history-long-outage', `history service down ${LONG_OUTAGE_SECS} s, longer than the 30 s idle watchdog (${ROOTS * CHILDREN_PER_ROOT} children)`);
  records.push(record);
  await runScenario(record, async ({ terminateAtEnd }) => {
    const tree = await treesInFlight(client, state.taskQueue, ROOTS, CHILDREN_PER_ROOT, 'history-long-outage');
    terminateAtEnd(client, tree.rootIds);
    record.runs = ROOTS + ROOTS * CHILDREN_PER_ROOT;
    const before = await childrenInFlight(client, tree.rootIds);
    expect(before.running).toBeGreaterThan(0); // an outage that hits an idle tree proves nothing
    await killService(state, 'history');
    await sleep(LONG_OUTAGE_SECS * 1000);
    await restartService(state, 'history');
    record.faults += 1;
    // Whatever each child ended as (it may have finished, or its idle watchdog fired once history
    // came back), the promise is the same: terminal, reported exactly once, each parent resumed once.
    const report = await checkTrees(client, tree, 300_000);
    record.lost = report.lost.length;
    record.duplicated = report.duplicated.length;
    record.details = { ...record.details, ...summarizeReport(report) };
    record.notes.push('statuses are whatever the runs ended as; the check is terminal + reported once + resumed once');
    const findings = auditFindings(report, record);
    expect(report.problems).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(report.duplicated).toEqual([]);
    expect(findings).toEqual([]); // Temporal's records agree with the engine's view
    expect(report.children).toBe(ROOTS * CHILDREN_PER_ROOT);
    expect(report.rootsResumed).toBe(ROOTS);
    expect(report.resumeMessages).toBe(ROOTS);
  });
});

test('one of three Bamboo workers SIGKILLed while children run: the other two finish every tree', async () => {
  await faultScenario('worker-sigkill', `one of three Bamboo workers SIGKILLed mid-run (${ROOTS * CHILDREN_PER_ROOT} children)`, async (record) => {
    const killed = await killWorker(state, 0);
    const survivors = state.workers.slice(1).map((w) => w.pid);
    record.details.workers = { killed, survivors };
    return `worker ${killed} killed with SIGKILL and not restarted; workers ${survivors.join(', ')} took over`;
  });
  const polling = await pollerPids(connection, state.namespace, state.taskQueue);
  expect(polling).toEqual(expect.arrayContaining(state.workers.slice(1).map((w) => w.pid)));
});

test("the cluster's Web UI lists the sessions by Bamboo's search attributes, through the restarted services", async () => {
  const url = new URL(state.ui!.url);
  const query = encodeURIComponent('BambooSessionKind = "root"');
  const response = await fetch(`http://127.0.0.1:${url.port}/api/v1/namespaces/${state.namespace}/workflows?query=${query}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { executions?: { type?: { name?: string } }[] };
  // Every scenario's roots (terminated at its end) are listed, and only roots.
  expect(body.executions?.length ?? 0).toBeGreaterThanOrEqual(records.length * ROOTS);
  expect(new Set(body.executions?.map((e) => e.type?.name))).toEqual(new Set(['sessionWorkflow']));
});

test('bamboo cluster down stops every process the cluster started, restarted ones included', async () => {
  const recorded = readState(CLUSTER_OUT)!;
  expect(recorded.services.history?.pid).toBe(state.services.history?.pid); // the restarted one
  await clusterDown({ dir: CLUSTER_OUT, log: () => undefined });
  expect(runningProcesses(recorded)).toEqual([]);
  expect(readState(CLUSTER_OUT)).toBeUndefined();
});
