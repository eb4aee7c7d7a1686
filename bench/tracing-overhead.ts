/**
 * `npm run bench:tracing`: what tracing costs. The same workload — parents × children through
 * Bamboo on one `bamboo worker` process — with traces off and on (OTLP/HTTP protobuf to a
 * receiver in this process that accepts and drops), interleaved off, on, off, on… on one dev
 * server, so a noisy machine hits both alike. Per round: child runs/s (server timestamps, as
 * `npm run bench`), the worker's CPU time per child run (/proc), spans exported.
 * Writes bench/results/tracing-overhead.json and the "tracing-overhead" section of RESULTS.md.
 * Sizes via env: BENCH_PARENTS (10), BENCH_CHILDREN (10), BENCH_ROUNDS (2 per mode).
 */
import { Client, Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startDevServer } from '../cli/temporal/dev-server';
import { recordResults } from './results';
import { bambooThroughput, type ThroughputResult } from './throughput';

const ROOT = resolve(__dirname, '..');
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const log = (line: string) => console.log(`[bench:tracing ${new Date().toISOString().slice(11, 19)}] ${line}`);

type Mode = 'off' | 'on';
interface Round {
  mode: Mode;
  throughput: ThroughputResult;
  workerCpuMsPerRun: number;
  exportRequests: number;
  exportBytes: number;
}

async function main(): Promise<void> {
  const parents = num('BENCH_PARENTS', 10);
  const children = num('BENCH_CHILDREN', 10);
  const rounds = num('BENCH_ROUNDS', 2);
  const sink = await startSink();
  log('starting the dev server');
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const results: Round[] = [];
  try {
    for (let i = 0; i < rounds; i += 1) {
      for (const mode of ['off', 'on'] as const) {
        const taskQueue = `tracing-${mode}-${i}`;
        const worker = await startWorker(server.address, taskQueue, mode === 'on' ? sink.endpoint : undefined);
        try {
          const before = { cpu: cpuMs(worker.pid), ...sink.counts() };
          const throughput = await bambooThroughput(client, taskQueue, parents, children);
          await new Promise((r) => setTimeout(r, 1500)); // the last batch of spans (200 ms schedule delay below)
          const after = { cpu: cpuMs(worker.pid), ...sink.counts() };
          results.push({
            mode,
            throughput,
            workerCpuMsPerRun: (after.cpu - before.cpu) / throughput.runs,
            exportRequests: after.requests - before.requests,
            exportBytes: after.bytes - before.bytes,
          });
          log(`${mode}: ${throughput.runsPerSec.toFixed(2)} runs/s, ${results.at(-1)!.workerCpuMsPerRun.toFixed(1)} worker CPU ms/run, ${results.at(-1)!.exportBytes} bytes exported`);
        } finally {
          await worker.stop();
        }
      }
    }
  } finally {
    await client.connection.close();
    await server.stop();
    sink.close();
  }
  const data = { parents, children, rounds: results };
  recordResults('tracing-overhead', 'npm run bench:tracing — tracing on against off', report(data), data);
  log('recorded in bench/RESULTS.md');
}

/** `bamboo worker` as users run it; traces to `endpoint` when given. Metrics stay off in both modes. */
async function startWorker(address: string, taskQueue: string, endpoint: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: address, BAMBOO_TASK_QUEUE: taskQueue, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint ?? '', BAMBOO_METRICS_PORT: '' };
  delete env.BAMBOO_WORKFLOW_BUNDLE; // both modes bundle at start, alike
  if (endpoint) env.OTEL_BSP_SCHEDULE_DELAY = '200';
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'worker'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('bamboo worker:') && ready());
    child.once('exit', (code) => fail(new Error(`worker exited (${code})`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pid: child.pid!,
    async stop() {
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** User + system CPU time of a process so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** An OTLP/HTTP endpoint that accepts every export and keeps only counts. */
async function startSink() {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ requests, bytes }),
    close: () => server.close(),
  };
}

function report({ parents, children, rounds }: { parents: number; children: number; rounds: Round[] }): string {
  const mean = (mode: Mode, pick: (r: Round) => number) => {
    const values = rounds.filter((r) => r.mode === mode).map(pick);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const rows = rounds.map(
    (r) =>
      `| ${r.mode} | ${r.throughput.runs} | ${r.throughput.runsPerSec.toFixed(2)} | ${r.workerCpuMsPerRun.toFixed(1)} | ${r.throughput.spawnToFirstActivityMs.p50} / ${r.throughput.spawnToFirstActivityMs.p95} | ${r.throughput.completionToParentMs.p50} / ${r.throughput.completionToParentMs.p95} | ${r.exportRequests} | ${(r.exportBytes / r.throughput.runs / 1024).toFixed(1)} |`,
  );
  const throughputRatio = mean('on', (r) => r.throughput.runsPerSec) / mean('off', (r) => r.throughput.runsPerSec);
  const cpuRatio = mean('on', (r) => r.workerCpuMsPerRun) / mean('off', (r) => r.workerCpuMsPerRun);
  return [
    `${parents} parents × ${children} children per round, one \`bamboo worker\` process per round, the same dev server; rounds interleaved off, on, off, on. Traces on: OTLP/HTTP protobuf, batched (200 ms schedule delay), to a local endpoint that drops them; the bench client itself does not trace. Latencies in ms (p50 / p95) from server-side history timestamps.`,
    '',
    '| tracing | child runs | runs/s | worker CPU ms per child run | spawn → first activity started | completion sent → delivered | export requests | KiB exported per child run |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `**Ratio (on / off, means of the rounds):** throughput ${throughputRatio.toFixed(2)}×, worker CPU per child run ${cpuRatio.toFixed(2)}×.`,
  ].join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
