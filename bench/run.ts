/**
 * `npm run bench`: the cost of durability, measured against bare Temporal on the same
 * ephemeral dev server in one run (so ratios hold on a noisy machine). Writes
 * bench/results/bench.json and the "bench" section of bench/RESULTS.md.
 * Sizes via env: BENCH_PARENTS (25), BENCH_CHILDREN (20), BENCH_MEMORY_CHILDREN (1000),
 * BENCH_TURNS (1,10,100,1000), BENCH_RAMP (200,600); BENCH_ONLY=throughput runs
 * just the first comparison, BENCH_ONLY=memory just the worker-memory phase on a fresh
 * worker (for quick A/B of a change; they record nothing). Then tracing on against off
 * (bench/tracing-overhead.ts, its own section) unless BENCH_TRACING=0.
 */
import { Client, Connection } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startDevServer } from '../src/temporal/dev-server';
import { buildBenchBundle, startWorkers } from './harness';
import { measure as historyGrowth, type Row as HistoryRow } from './history-growth';
import { serverRamp, workerMemory, type MemoryResult } from './memory';
import { recordResults } from './results';
import { baselineThroughput, bambooThroughput, type ThroughputResult } from './throughput';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map(Number);

async function main(): Promise<void> {
  const parents = num('BENCH_PARENTS', 25);
  const children = num('BENCH_CHILDREN', 20);
  const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  log('starting the dev server and bundling workflows');
  const [server, bundle] = await Promise.all([startDevServer(), buildBenchBundle()]);
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const env = (queue: string) => ({ TEMPORAL_ADDRESS: server.address, BENCH_TASK_QUEUE: queue, BENCH_BUNDLE: bundle });

  let workers = await startWorkers(1, env('bench-1'));
  if (process.env.BENCH_ONLY === 'memory') {
    const memoryChildren = num('BENCH_MEMORY_CHILDREN', 1000);
    log(`worker memory with ${memoryChildren} children open at once (fresh worker)`);
    log(JSON.stringify(await workerMemory(client, 'bench-1', workers[0], memoryChildren, 20)));
    await Promise.all(workers.map((w) => w.stop()));
    await client.connection.close();
    await server.stop();
    return;
  }

  log(`throughput with 1 worker: baseline then bamboo, ${parents} parents × ${children} children`);
  const baseline = await baselineThroughput(client, 'bench-1', parents, children);
  log(JSON.stringify(baseline));
  const bamboo = await bambooThroughput(client, 'bench-1', parents, children);
  log(JSON.stringify(bamboo));

  if (process.env.BENCH_ONLY === 'throughput') {
    // Quick A/B of a change: throughput and latency only, nothing recorded.
    await Promise.all(workers.map((w) => w.stop()));
    await client.connection.close();
    await server.stop();
    return;
  }

  const memoryChildren = num('BENCH_MEMORY_CHILDREN', 1000);
  log(`worker memory with ${memoryChildren} children open at once`);
  const memory = await workerMemory(client, 'bench-1', workers[0], memoryChildren, 20);
  log(JSON.stringify(memory));

  log('history growth per model turn (default continue-as-new budget)');
  const growth: HistoryRow[] = [];
  for (const turns of list('BENCH_TURNS', '1,10,100,1000')) {
    growth.push(await historyGrowth(client, turns, { taskQueue: 'bench-1' }));
    log(JSON.stringify(growth.at(-1)));
  }

  log('dev server ramp: plain child runs at growing batch sizes');
  const ramp = await serverRamp(client, 'bench-1', list('BENCH_RAMP', '200,600'));
  log(JSON.stringify(ramp));
  await Promise.all(workers.map((w) => w.stop()));

  log('scale-out: bamboo throughput with 2 worker processes');
  workers = await startWorkers(2, env('bench-2'));
  const bamboo2 = await bambooThroughput(client, 'bench-2', parents, children);
  const baseline2 = await baselineThroughput(client, 'bench-2', parents, children);
  log(JSON.stringify({ bamboo2, baseline2 }));
  await Promise.all(workers.map((w) => w.stop()));

  const data = { parents, children, baseline, bamboo, memory, growth, ramp, scaleOut: { bamboo2, baseline2 } };
  recordResults('bench', 'npm run bench — Bamboo against bare Temporal', report(data), data);
  log('results written to bench/RESULTS.md');
  await client.connection.close();
  await server.stop();
  if (process.env.BENCH_TRACING !== '0') {
    // Tracing on against off (its own section; BENCH_TRACING=0 skips it): a fresh process, as
    // `npm run bench:tracing` runs it, since OpenTelemetry installs once per process.
    log('tracing overhead (npm run bench:tracing)');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/tracing-overhead.ts'], { stdio: 'inherit', cwd: resolve(__dirname, '..') });
    if (run.status !== 0) throw new Error(`bench:tracing exited ${run.status ?? run.signal}`);
  }
}

function report(d: {
  parents: number;
  children: number;
  baseline: ThroughputResult;
  bamboo: ThroughputResult;
  memory: MemoryResult;
  growth: HistoryRow[];
  ramp: { runs: number; seconds: number; runsPerSec: number; errors: number }[];
  scaleOut: { bamboo2: ThroughputResult; baseline2: ThroughputResult };
}): string {
  const f = (n: number, digits = 1) => n.toFixed(digits);
  const lat = (p: ThroughputResult['spawnToFirstActivityMs']) => `${p.p50} / ${p.p95} / ${p.p99}`;
  const row = (r: ThroughputResult) =>
    `| ${r.label} | ${r.runs} | ${f(r.seconds)} | ${f(r.runsPerSec)} | ${f(r.eventsPerChild)} | ${lat(r.spawnToFirstActivityMs)} | ${lat(r.completionToParentMs)} | ${lat(r.lastCompletionToResumeMs)} |`;
  return [
    `${d.parents} parents × ${d.children} children, one worker process, the same in-memory dev server. Latencies in ms (p50 / p95 / p99) from server-side history timestamps.`,
    '',
    '| | child runs | seconds | runs/s | events per child | spawn → first activity started | completion sent → delivered to parent | last completion → parent resumed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row(d.baseline),
    row(d.bamboo),
    '',
    `**Ratio:** Bamboo runs ${f(d.bamboo.runsPerSec / d.baseline.runsPerSec, 2)}× the baseline's throughput; a Bamboo child run writes ${f(d.bamboo.eventsPerChild / d.baseline.eventsPerChild, 2)}× the baseline's history events (its model call, two timers, the search-attribute upserts).`,
    '',
    '**Scale-out** (2 worker processes, same server, same 2 cores):',
    '',
    '| | runs/s with 1 worker | runs/s with 2 workers |',
    '|---|---:|---:|',
    `| baseline | ${f(d.baseline.runsPerSec)} | ${f(d.scaleOut.baseline2.runsPerSec)} |`,
    `| bamboo | ${f(d.bamboo.runsPerSec)} | ${f(d.scaleOut.bamboo2.runsPerSec)} |`,
    '',
    `**Worker memory:** ${d.memory.children} child runs open at once (each streaming a scripted \`[[sleep:20]]\`): RSS ${f(d.memory.idleRssMb, 0)} MB idle → ${f(d.memory.peakRssMb, 0)} MB peak, about ${f(d.memory.perChildKb, 0)} KB per open run; all completed: ${d.memory.allCompleted} (${f(d.memory.seconds)} s).`,
    '',
    '**History growth** of a root session, one model turn per user message, default continue-as-new budget (10,000 events):',
    '',
    '| turns | runs in chain | events | bytes | events/turn | bytes/turn | largest ActivityTaskScheduled |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...d.growth.map((r) => `| ${r.turns} | ${r.runs} | ${r.events} | ${r.bytes} | ${f(r.eventsPerTurn)} | ${Math.round(r.bytesPerTurn)} | ${r.largestScheduleBytes} |`),
    '',
    '**Dev server ramp** (plain one-turn child runs, 100 in flight from the client):',
    '',
    '| runs | seconds | runs/s | errors |',
    '|---:|---:|---:|---:|',
    ...d.ramp.map((r) => `| ${r.runs} | ${f(r.seconds)} | ${f(r.runsPerSec)} | ${r.errors} |`),
  ].join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
