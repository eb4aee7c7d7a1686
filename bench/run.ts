/**
 * `npm run bench`: the cost of durability, measured against bare Temporal on the same
 * ephemeral dev server in one run (so ratios hold on a noisy machine). Writes
 * bench/results/bench.json and the "bench" section of bench/RESULTS.md.
 * Sizes via env: BENCH_PARENTS (25), BENCH_CHILDREN (20), BENCH_MEMORY_CHILDREN (1000),
 * BENCH_TURNS (1,10,100,1000), BENCH_RAMP (200,600), BENCH_SCALE (10,100,1000,5000),
 * BENCH_ROUNDS (3: throughput rounds of each side, in turn; one round's runs/s swings by a
 * quarter on this machine, so the median round is reported, with CPU per run beside it);
 * BENCH_ONLY=throughput runs just the first comparison, BENCH_ONLY=memory just the
 * worker-memory phase on fresh workers (for quick A/B of a change; they record nothing).
 * BENCH_WORKER_NODE_ARGS passes node flags to the workers (e.g. --cpu-prof). Then tracing on against off
 * (bench/tracing-overhead.ts, its own section) unless BENCH_TRACING=0.
 */
import { Client, Connection } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startDevServer } from '../cli/temporal/dev-server';
import { buildBenchBundle, startWorkers, type WorkerProcess } from './harness';
import { measure as historyGrowth, type Row as HistoryRow } from './history-growth';
import { baselineWorkerMemory, serverRamp, workerMemory, type MemoryResult } from './memory';
import { bambooSide, baselineSide, scaleCurve, type ScaleRow } from './scale';
import { recordResults } from './results';
import { baselineThroughput, bambooThroughput, type ThroughputResult } from './throughput';
import { cpuProbe, type CpuPerRun } from './cpu';

type Rounds = { baseline: ThroughputResult[]; bamboo: ThroughputResult[] };

/** The round with the median runs/s (its latencies are the ones reported). */
function medianRound(results: ThroughputResult[]): ThroughputResult {
  return [...results].sort((a, b) => a.runsPerSec - b.runsPerSec)[Math.floor((results.length - 1) / 2)];
}

/** Mean CPU per child run over the rounds. */
function meanCpu(results: ThroughputResult[]): CpuPerRun {
  const mean = (key: keyof CpuPerRun) => results.reduce((sum, r) => sum + (r.cpu?.[key] ?? 0), 0) / results.length;
  return { serverMs: mean('serverMs'), workerMs: mean('workerMs'), workflowThreadMs: mean('workflowThreadMs'), mainThreadMs: mean('mainThreadMs') };
}

function roundsSummary(rounds: Rounds): string {
  const [base, bamboo] = [meanCpu(rounds.baseline), meanCpu(rounds.bamboo)];
  const total = (c: CpuPerRun) => c.serverMs + c.workerMs;
  return `median runs/s ${medianRound(rounds.baseline).runsPerSec.toFixed(1)} vs ${medianRound(rounds.bamboo).runsPerSec.toFixed(1)} (${(medianRound(rounds.bamboo).runsPerSec / medianRound(rounds.baseline).runsPerSec).toFixed(2)}x); CPU ms per child run ${total(base).toFixed(1)} vs ${total(bamboo).toFixed(1)} (${(total(bamboo) / total(base)).toFixed(2)}x): server ${base.serverMs.toFixed(1)} vs ${bamboo.serverMs.toFixed(1)}, worker ${base.workerMs.toFixed(1)} vs ${bamboo.workerMs.toFixed(1)} (workflow thread ${base.workflowThreadMs.toFixed(1)} vs ${bamboo.workflowThreadMs.toFixed(1)})`;
}

/** maxCachedWorkflows of the memory phase's third worker, so its workflows are evicted between tasks. */
const SMALL_CACHE = 20;
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map(Number);

async function main(): Promise<void> {
  const parents = num('BENCH_PARENTS', 25);
  const children = num('BENCH_CHILDREN', 20);
  const memoryChildren = num('BENCH_MEMORY_CHILDREN', 1000);
  const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  log('starting the dev server and bundling workflows (Bamboo and the baseline, each its own bundle)');
  const [server, bambooBundle, baselineBundle] = await Promise.all([startDevServer(), buildBenchBundle('bamboo'), buildBenchBundle('baseline')]);
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const env = (queue: string, bundle: string) => ({ TEMPORAL_ADDRESS: server.address, BENCH_TASK_QUEUE: queue, BENCH_BUNDLE: bundle });
  // One worker process each, on its own task queue: the baseline's workflows run in a bundle of
  // their own, as bare Temporal's would (a bundle's modules are evaluated for every workflow run).
  const start = async () => ({ bamboo: (await startWorkers(1, env('bench-1', bambooBundle)))[0], baseline: (await startWorkers(1, env('bench-base-1', baselineBundle)))[0] });
  const stop = (w: { bamboo: WorkerProcess; baseline: WorkerProcess }) => Promise.all([w.bamboo.stop(), w.baseline.stop()]);
  const done = async () => {
    await client.connection.close();
    await server.stop();
  };

  let workers = await start();
  if (process.env.BENCH_ONLY === 'memory') {
    log(`worker memory with ${memoryChildren} children open at once (fresh workers)`);
    log(JSON.stringify({ baseline: await baselineWorkerMemory(client, 'bench-base-1', workers.baseline, memoryChildren, 20) }));
    log(JSON.stringify({ bamboo: await workerMemory(client, 'bench-1', workers.bamboo, memoryChildren, 20) }));
    await stop(workers);
    return done();
  }

  const rounds = num('BENCH_ROUNDS', 3);
  log(`throughput with 1 worker: ${rounds} rounds of baseline and bamboo in turn, ${parents} parents × ${children} children`);
  const probes = { baseline: cpuProbe(server.pid!, workers.baseline.pid), bamboo: cpuProbe(server.pid!, workers.bamboo.pid) };
  const throughputRounds: Rounds = { baseline: [], bamboo: [] };
  for (let round = 0; round < rounds; round++) {
    // Each goes first in turn: the server slows a little as it fills, and neither should always meet it fresher.
    for (const side of round % 2 === 0 ? (['baseline', 'bamboo'] as const) : (['bamboo', 'baseline'] as const)) {
      const result =
        side === 'baseline'
          ? await baselineThroughput(client, 'bench-base-1', parents, children, probes.baseline)
          : await bambooThroughput(client, 'bench-1', parents, children, probes.bamboo);
      throughputRounds[side].push(result);
      log(JSON.stringify(result));
    }
  }
  const baseline = medianRound(throughputRounds.baseline);
  const bamboo = medianRound(throughputRounds.bamboo);
  log(roundsSummary(throughputRounds));
  if (process.env.BENCH_ONLY === 'throughput') {
    // Quick A/B of a change: throughput and latency only, nothing recorded.
    await stop(workers);
    return done();
  }

  log(`worker memory with ${memoryChildren} children open at once: baseline then bamboo`);
  const [smallCache] = await startWorkers(1, { ...env('bench-small-cache', bambooBundle), BENCH_MAX_CACHED: String(SMALL_CACHE) });
  const memory = {
    baseline: await baselineWorkerMemory(client, 'bench-base-1', workers.baseline, memoryChildren, 20),
    bamboo: await workerMemory(client, 'bench-1', workers.bamboo, memoryChildren, 20),
    // The same runs on a worker that caches only SMALL_CACHE workflows: what is left is the activities' and the SDK's.
    bambooSmallCache: await workerMemory(client, 'bench-small-cache', smallCache, memoryChildren, 20),
  };
  await smallCache.stop();
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
  await stop(workers);

  // Fresh workers for the curve, so each size starts from the same place.
  log('scale curve: N child runs started at once, baseline then bamboo at each N');
  workers = await start();
  const scale: ScaleRow[] = [];
  for (const n of list('BENCH_SCALE', '10,100,1000,5000')) {
    scale.push(...(await scaleCurve(client, baselineSide('bench-base-1', workers.baseline), [n], server.pid, log)));
    scale.push(...(await scaleCurve(client, bambooSide('bench-1', workers.bamboo), [n], server.pid, log)));
  }
  await stop(workers);

  log('scale-out: throughput with 2 worker processes each');
  const [bamboo2Workers, baseline2Workers] = [await startWorkers(2, env('bench-2', bambooBundle)), await startWorkers(2, env('bench-base-2', baselineBundle))];
  const bamboo2 = await bambooThroughput(client, 'bench-2', parents, children);
  const baseline2 = await baselineThroughput(client, 'bench-base-2', parents, children);
  log(JSON.stringify({ bamboo2, baseline2 }));
  await Promise.all([...bamboo2Workers, ...baseline2Workers].map((w) => w.stop()));

  const data = { parents, children, baseline, bamboo, rounds: throughputRounds, memory, growth, ramp, scale, scaleOut: { bamboo2, baseline2 } };
  recordResults('bench', 'npm run bench — Bamboo against bare Temporal', report(data), data);
  log('results written to bench/RESULTS.md');
  await done();
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
  rounds: Rounds;
  memory: { baseline: MemoryResult; bamboo: MemoryResult; bambooSmallCache: MemoryResult };
  growth: HistoryRow[];
  scale: ScaleRow[];
  ramp: { runs: number; seconds: number; runsPerSec: number; errors: number }[];
  scaleOut: { bamboo2: ThroughputResult; baseline2: ThroughputResult };
}): string {
  const f = (n: number, digits = 1) => n.toFixed(digits);
  const ratio = (a: number, b: number) => f(a / b, 2);
  const lat = (p: ThroughputResult['spawnToFirstActivityMs']) => `${p.p50} / ${p.p95} / ${p.p99}`;
  const row = (r: ThroughputResult) =>
    `| ${r.label} | ${r.runs} | ${f(r.seconds)} | ${f(r.runsPerSec)} | ${f(r.eventsPerChild)} | ${lat(r.spawnToFirstActivityMs)} | ${lat(r.completionToParentMs)} | ${lat(r.lastCompletionToResumeMs)} |`;
  const cpu = { baseline: meanCpu(d.rounds.baseline), bamboo: meanCpu(d.rounds.bamboo) };
  const totalCpu = (c: CpuPerRun) => c.serverMs + c.workerMs;
  const cpuRow = (label: string, c: CpuPerRun) =>
    `| ${label} | ${f(c.serverMs)} | ${f(c.workerMs)} | ${f(c.workflowThreadMs)} | ${f(c.mainThreadMs)} | ${f(c.workerMs - c.workflowThreadMs - c.mainThreadMs)} | ${f(totalCpu(c))} |`;
  return [
    `${d.parents} parents × ${d.children} children, one worker process each (the baseline's with a bundle of its own), the same in-memory dev server, ${d.rounds.bamboo.length} rounds of each in turn. The table shows each side's median round (by runs/s); latencies in ms (p50 / p95 / p99) from server-side history timestamps.`,
    '',
    '| | child runs | seconds | runs/s | events per child | spawn → first activity started | completion sent → delivered to parent | last completion → parent resumed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row(d.baseline),
    row(d.bamboo),
    '',
    `Runs/s of every round: baseline ${d.rounds.baseline.map((r) => f(r.runsPerSec)).join(', ')}; bamboo ${d.rounds.bamboo.map((r) => f(r.runsPerSec)).join(', ')}.`,
    '',
    '**CPU per child run** (ms, mean over the rounds, from the first start until every child has reported; both processes share 2 cores, so this is what throughput is made of):',
    '',
    '| | dev server | worker | of which workflow thread | main thread | other threads | total |',
    '|---|---:|---:|---:|---:|---:|---:|',
    cpuRow('baseline', cpu.baseline),
    cpuRow('bamboo', cpu.bamboo),
    '',
    `**Ratios to the baseline:** throughput ${f(d.bamboo.runsPerSec / d.baseline.runsPerSec, 2)}× (median rounds); CPU per child run ${f(totalCpu(cpu.bamboo) / totalCpu(cpu.baseline), 2)}×; history events per child run ${f(d.bamboo.eventsPerChild / d.baseline.eventsPerChild, 2)}× (one search-attribute upsert at the end); spawn → first activity p50 ${ratio(d.bamboo.spawnToFirstActivityMs.p50, d.baseline.spawnToFirstActivityMs.p50)}× and p95 ${ratio(d.bamboo.spawnToFirstActivityMs.p95, d.baseline.spawnToFirstActivityMs.p95)}×; completion → parent resumed p95 ${ratio(d.bamboo.lastCompletionToResumeMs.p95, d.baseline.lastCompletionToResumeMs.p95)}×.`,
    '',
    '**Scale-out** (2 worker processes, same server, same 2 cores):',
    '',
    '| | runs/s with 1 worker | runs/s with 2 workers |',
    '|---|---:|---:|',
    `| baseline | ${f(d.baseline.runsPerSec)} | ${f(d.scaleOut.baseline2.runsPerSec)} |`,
    `| bamboo | ${f(d.bamboo.runsPerSec)} | ${f(d.scaleOut.bamboo2.runsPerSec)} |`,
    '',
    `**Worker memory**, ${d.memory.bamboo.children} child runs open at once, each holding one streamed call for 20 s (Bamboo: a scripted \`[[sleep:20]]\`, a token and a heartbeat a second; baseline: an activity heartbeating once a second), one worker process each:`,
    '',
    '| | RSS idle (MB) | RSS peak (MB) | per open run (KB) | main-thread heap growth (MB) | main-thread external growth (MB) | all completed | seconds |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...(['baseline', 'bamboo', 'bambooSmallCache'] as const).map((k) => {
      const m = d.memory[k];
      const label = k === 'bambooSmallCache' ? `bamboo, maxCachedWorkflows ${SMALL_CACHE}` : k;
      return `| ${label} | ${f(m.idleRssMb, 0)} | ${f(m.peakRssMb, 0)} | ${f(m.perChildKb, 0)} | ${f(m.mainHeapUsedMb)} | ${f(m.mainExternalMb)} | ${m.allCompleted} | ${f(m.seconds)} |`;
    }),
    '',
    `**Ratio:** a Bamboo run holds ${f(d.memory.bamboo.perChildKb / d.memory.baseline.perChildKb, 2)}× the baseline's worker memory per open run.`,
    '',
    '**Scale curve**: N child runs started at once (each: one activity — Bamboo\'s model call — then a completion signal to a parent that does not exist), one worker process each, the same dev server. Latency is each run\'s start → close (ms, p50 / p95); CPU in seconds over the batch.',
    '',
    '| N | | seconds | runs/s | latency p50 / p95 | worker CPU s | server CPU s | worker peak RSS (MB) | failed |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...d.scale.map((r) => `| ${r.concurrent} | ${r.label} | ${f(r.seconds)} | ${f(r.runsPerSec)} | ${r.latencyMs.p50} / ${r.latencyMs.p95} | ${f(r.workerCpuSecs)} | ${f(r.serverCpuSecs)} | ${f(r.workerPeakRssMb, 0)} | ${r.failed} |`),
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
