/**
 * `npx tsx bench/cluster.ts`: child-run throughput and latency on the production topology
 * (`bamboo cluster up`: PostgreSQL + four Temporal service processes) beside the embedded dev
 * server (SQLite file), in the same run, with 1, 2 and 3 bench worker processes; the targets are
 * interleaved so that other load on the machine hits both alike. Per child run it also reports
 * the server's CPU (the dev server process; the four services and every PostgreSQL process) and
 * the workers' CPU, both sampled from /proc, and PostgreSQL's rows, history bytes and WAL bytes.
 * Writes bench/results/cluster.json and prints a Markdown table (docs/production-topology.md).
 * Sizes via env: BENCH_PARENTS (10), BENCH_CHILDREN (20), BENCH_WORKERS (1,2,3).
 */
import { Client, Connection } from '@temporalio/client';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { UP_DEFAULTS } from '../cli/cluster/config';
import { clusterDown, clusterUp } from '../cli/cluster/launcher';
import { psql } from '../cli/cluster/postgres';
import type { ClusterState } from '../cli/cluster/state';
import { startDevServer } from '../cli/temporal/dev-server';
import { buildBenchBundle, startWorkers } from './harness';
import { machineFacts } from './results';
import { bambooThroughput, type ThroughputResult } from './throughput';

const OUT = resolve(__dirname, '..', 'test-output', 'bench-cluster');
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const log = (line: string) => console.log(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${line}`);
const TICK_MS = 1000 / 100; // /proc/<pid>/stat counts CPU in clock ticks of 10 ms

// ---- CPU from /proc ------------------------------------------------------------------------

function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
  } catch {
    return 0;
  }
}

/** The pid and every live child of it (PostgreSQL's backends are the postmaster's children). */
function withChildren(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

interface Sample {
  at: number;
  groups: Record<string, number>;
}

/** Samples cumulative CPU per group twice a second (backends that exit between samples are missed: a lower bound). */
function cpuSampler(groups: Record<string, () => number[]>) {
  const samples: Sample[] = [];
  const take = () => samples.push({ at: Date.now(), groups: Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids().reduce((sum, pid) => sum + cpuMs(pid), 0)])) });
  take();
  const timer = setInterval(take, 500);
  return {
    stop: () => clearInterval(timer),
    /** CPU ms per group between two wall-clock times (nearest samples). */
    between(from: number, to: number): Record<string, number> {
      take();
      const nearest = (t: number) => samples.reduce((best, s) => (Math.abs(s.at - t) < Math.abs(best.at - t) ? s : best));
      const a = nearest(from);
      const b = nearest(to);
      return Object.fromEntries(Object.keys(groups).map((name) => [name, b.groups[name] - a.groups[name]]));
    },
  };
}

// ---- PostgreSQL counters -------------------------------------------------------------------------

interface PgCounters {
  rowsWritten: number;
  historyNodes: number;
  historyBytes: number;
  walBytes: number;
  databaseBytes: number;
}

function pgCounters(state: ClusterState): PgCounters {
  const q = (db: string, sql: string) => {
    const result = psql(state.postgres.bin, state.postgres.port, db, sql);
    if (!result.ok) throw new Error(`psql: ${result.output}`);
    return result.output.split('|').map(Number);
  };
  const rows = (db: string) => q(db, 'SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables')[0];
  const [historyNodes, historyBytes] = q('temporal', 'SELECT count(*), coalesce(sum(length(data)), 0) FROM history_node');
  return {
    rowsWritten: rows('temporal') + rows('temporal_visibility'),
    historyNodes,
    historyBytes,
    walBytes: q('postgres', "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")[0],
    databaseBytes: q('postgres', "SELECT pg_database_size('temporal') + pg_database_size('temporal_visibility')")[0],
  };
}

// ---- one measurement ----------------------------------------------------------------------------------

interface Row extends ThroughputResult {
  target: 'dev server' | 'cluster';
  workers: number;
  serverCpuMsPerRun: number;
  serverCpu: Record<string, number>;
  workerCpuMsPerRun: number;
  serverCoresBusy: number;
  postgres?: Record<keyof PgCounters, number>;
  loadAverage: number;
}

async function measure(target: Row['target'], address: string, workers: number, bundle: string, groups: Record<string, () => number[]>, parents: number, children: number, state?: ClusterState): Promise<Row> {
  const queue = `bench-${target === 'cluster' ? 'cluster' : 'dev'}-${workers}-${Date.now()}`;
  const procs = await startWorkers(workers, { TEMPORAL_ADDRESS: address, BENCH_TASK_QUEUE: queue, BENCH_BUNDLE: bundle });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const sampler = cpuSampler({ ...groups, workers: () => procs.map((p) => p.pid) });
  try {
    const pgBefore = state ? pgCounters(state) : undefined;
    const started = Date.now();
    const result = await bambooThroughput(client, queue, parents, children);
    const cpu = sampler.between(started, started + result.seconds * 1000);
    let postgres: Row['postgres'];
    if (state && pgBefore) {
      await new Promise((r) => setTimeout(r, 11_000)); // idle backends flush their table statistics within 10 s
      const after = pgCounters(state);
      postgres = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k as keyof PgCounters] - pgBefore[k as keyof PgCounters]) / result.runs])) as Row['postgres'];
    }
    const serverCpu = Object.fromEntries(Object.entries(cpu).filter(([name]) => name !== 'workers'));
    const serverMs = Object.values(serverCpu).reduce((a, b) => a + b, 0);
    return {
      ...result,
      target,
      workers,
      serverCpu: Object.fromEntries(Object.entries(serverCpu).map(([k, v]) => [k, Math.round(v / result.runs)])),
      serverCpuMsPerRun: serverMs / result.runs,
      workerCpuMsPerRun: cpu.workers / result.runs,
      serverCoresBusy: serverMs / (result.seconds * 1000),
      postgres,
      loadAverage: loadavg()[0],
    };
  } finally {
    sampler.stop();
    await client.connection.close();
    await Promise.all(procs.map((p) => p.stop()));
  }
}

function table(rows: Row[]): string {
  const lines = [
    '| target | workers | child runs/s | spawn → first activity p50 / p95 ms | completion → parent p50 / p95 ms | server CPU ms / run | worker CPU ms / run | PG rows / run | history bytes / run | WAL bytes / run | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.target} | ${r.workers} | ${r.runsPerSec.toFixed(1)} | ${r.spawnToFirstActivityMs.p50} / ${r.spawnToFirstActivityMs.p95} | ${r.completionToParentMs.p50} / ${r.completionToParentMs.p95} | ${r.serverCpuMsPerRun.toFixed(0)} | ${r.workerCpuMsPerRun.toFixed(0)} | ${r.postgres ? r.postgres.rowsWritten.toFixed(1) : '—'} | ${r.postgres ? r.postgres.historyBytes.toFixed(0) : '—'} | ${r.postgres ? r.postgres.walBytes.toFixed(0) : '—'} | ${r.loadAverage.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const parents = num('BENCH_PARENTS', 10);
  const children = num('BENCH_CHILDREN', 20);
  const workerCounts = (process.env.BENCH_WORKERS ?? '1,2,3').split(',').map(Number);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  log('bundling; starting the dev server (SQLite file) and the cluster (PostgreSQL, four services)');
  const bundle = await buildBenchBundle();
  const dev = await startDevServer({ dbFilename: join(OUT, 'dev.sqlite') });
  const { state } = await clusterUp({ ...UP_DEFAULTS, dir: join(OUT, 'cluster'), workers: 0, port: 0, log });
  const devGroups = { 'dev server': () => [dev.pid!] };
  const clusterGroups: Record<string, () => number[]> = {
    ...Object.fromEntries(Object.entries(state.services).map(([name, svc]) => [name, () => [svc.pid]])),
    postgresql: () => withChildren(state.postgres.pid!),
  };
  const rows: Row[] = [];
  try {
    log('warm-up: 2 parents × 5 children on each');
    await measure('dev server', dev.address, 1, bundle, devGroups, 2, 5);
    await measure('cluster', state.address, 1, bundle, clusterGroups, 2, 5, state);
    for (const workers of workerCounts) {
      for (const [target, address, groups, s] of [['dev server', dev.address, devGroups, undefined], ['cluster', state.address, clusterGroups, state]] as const) {
        log(`${target}, ${workers} worker process(es): ${parents} parents × ${children} children`);
        const row = await measure(target, address, workers, bundle, groups, parents, children, s);
        log(`  ${row.runsPerSec.toFixed(1)} child runs/s, server ${row.serverCpuMsPerRun.toFixed(0)} CPU ms/run ${JSON.stringify(row.serverCpu)}, workers ${row.workerCpuMsPerRun.toFixed(0)} CPU ms/run${row.postgres ? `, PG ${JSON.stringify(row.postgres)}` : ''}`);
        rows.push(row);
      }
    }
  } finally {
    await dev.stop();
    await clusterDown({ dir: join(OUT, 'cluster'), purge: true, log: () => undefined });
  }
  const markdown = table(rows);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'cluster.json'), `${JSON.stringify({ name: 'cluster', at: new Date().toISOString(), machine: machineFacts(), cores: cpus().length, parents, children, historyShards: state.historyShards, rows }, null, 2)}\n`);
  console.log(`\n${markdown}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
