/**
 * Faults on a running `bamboo cluster`: a Temporal service SIGKILLed and started again on its
 * ports, PostgreSQL shut down in immediate mode (crash recovery at the next start) and started
 * again, a Bamboo worker SIGKILLed. Each updates the state file, so `bamboo cluster down` still
 * stops exactly what runs.
 */
import type { Client } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TemporalService } from '../../cli/cluster/config';
import { startPostgres } from '../../cli/cluster/postgres';
import { isRunning, signalGroup, stopProcess, waitUntil } from '../../cli/cluster/processes';
import { startTemporalService, waitForPort } from '../../cli/cluster/services';
import { writeState, type ClusterState } from '../../cli/cluster/state';
import { eventuallyOrUndefined } from '../helpers/eventually';
import type { ScenarioRecord } from '../reliability/support/summary';
import { childrenInFlight, startTrees, type StartedTree } from '../reliability/support/trees';
import { randomInt, sleep } from '../reliability/support/util';

export const CLUSTER_OUT = join(__dirname, '..', '..', 'test-output', 'cluster-faults');

/** SIGKILLs a service's process group; resolves once it is gone. */
export async function killService(state: ClusterState, name: TemporalService): Promise<void> {
  const svc = state.services[name]!;
  signalGroup(svc.pid, 'SIGKILL');
  await waitUntil(() => !isRunning(svc.pid, svc.marker), 10_000);
}

/** Starts a service again on the same ports (the config file is unchanged). */
export async function restartService(state: ClusterState, name: TemporalService): Promise<void> {
  const svc = state.services[name]!;
  const record = startTemporalService(state, name);
  state.services[name] = { ...record, ports: svc.ports };
  writeState(state);
  await waitForPort(name, record, name === 'worker' ? svc.ports.membership : svc.ports.grpc);
}

/** Immediate shutdown (SIGQUIT: no checkpoint, crash recovery at the next start), then a start on the same port. */
export async function crashAndRestartPostgres(state: ClusterState, outageMs: number): Promise<void> {
  const pg = state.postgres;
  await stopProcess(pg.pid, pg.marker, 30_000, 'SIGQUIT');
  await sleep(outageMs);
  state.postgres.pid = await startPostgres({ bin: pg.bin, dataDir: pg.dataDir, logFile: pg.log }, pg.port);
  writeState(state);
}

export async function killWorker(state: ClusterState, index: number): Promise<number> {
  const worker = state.workers[index];
  signalGroup(worker.pid, 'SIGKILL');
  await waitUntil(() => !isRunning(worker.pid, worker.marker), 10_000);
  return worker.pid;
}

/**
 * Roots whose children sleep 4–10 s, returned once every child has started and a random
 * 0–3 s later: startTreesInFlight's trees, with a 30 s idle watchdog instead of 10 s, so that an
 * outage of the server itself (a restart takes seconds) is not mistaken for an idle child.
 */
export async function treesInFlight(client: Client, taskQueue: string, roots: number, childrenPerRoot: number, label: string): Promise<StartedTree> {
  const options = { budget: { maxSessions: childrenPerRoot, maxTokens: 10_000_000 } };
  const metadata = { 'child_watchdog.max_idle_secs': '30' };
  const tree = await startTrees(client, taskQueue, { roots, childrenPerRoot, sleepSecs: [4, 10], metadata, options }, label);
  await eventuallyOrUndefined(async () => (await childrenInFlight(client, tree.rootIds)).known >= roots * childrenPerRoot, { timeoutMs: 120_000, intervalMs: 500 });
  await sleep(randomInt(0, 3000));
  return tree;
}

/** The counts of every scenario, as the reliability suite's summary has them, into test-output/cluster-faults/summary.json. */
export function writeFaultSummary(records: ScenarioRecord[]): string {
  const totals = records.reduce(
    (t, r) => ({ runs: t.runs + r.runs, faults: t.faults + r.faults, lost: t.lost + r.lost, duplicated: t.duplicated + r.duplicated, serverErrors: t.serverErrors + r.serverErrors }),
    { runs: 0, faults: 0, lost: 0, duplicated: 0, serverErrors: 0 },
  );
  const file = join(CLUSTER_OUT, 'summary.json');
  writeFileSync(file, `${JSON.stringify({ finishedAt: new Date().toISOString(), totals, scenarios: records }, null, 2)}\n`);
  const rows = records.map((r) => `${r.status.padEnd(7)} ${r.id.padEnd(22)} runs ${String(r.runs).padStart(3)}  faults ${r.faults}  lost ${r.lost}  duplicated ${r.duplicated}  failed tasks ${r.serverErrors}  ${Math.round(r.durationMs / 1000)} s`);
  return [...rows, `totals: ${JSON.stringify(totals)}`].join('\n');
}
