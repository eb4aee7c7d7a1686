/**
 * The scale curve: N child runs started at once (10, 100, 1,000, 5,000 by default) on the
 * embedded default, Bamboo against the bare baseline, each on its own worker process (both
 * runs: one activity, then a completion signal to a parent that does not exist). For each
 * N: throughput (first start → last close), each run's latency (its start → its close, from
 * visibility), and what it cost: worker CPU, dev-server CPU, worker peak RSS. Where the curve
 * bends is read from those columns (bench/RESULTS.md).
 */
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { startChildRun } from '../client/child-runs';
import { BambooParentSessionId } from '../common';
import { benchChildJob, mapLimit, percentiles, processCpuSecs, untilAllClosed, type WorkerProcess } from './harness';

export interface ScaleRow {
  label: 'baseline' | 'bamboo';
  concurrent: number;
  seconds: number;
  runsPerSec: number;
  latencyMs: ReturnType<typeof percentiles>;
  workerCpuSecs: number;
  serverCpuSecs: number;
  workerPeakRssMb: number;
  failed: number;
}

interface Side {
  label: ScaleRow['label'];
  taskQueue: string;
  worker: WorkerProcess;
  /** Starts run `i` of the batch whose runs all carry `BambooParentSessionId = batch`. */
  start(client: Client, batch: string, i: number): Promise<unknown>;
}

export const bambooSide = (taskQueue: string, worker: WorkerProcess): Side => ({
  label: 'bamboo',
  taskQueue,
  worker,
  start: (client, batch, i) => startChildRun(client, benchChildJob(batch, i, `scale ${i}`), { taskQueue }),
});

export const baselineSide = (taskQueue: string, worker: WorkerProcess): Side => ({
  label: 'baseline',
  taskQueue,
  worker,
  start: (client, batch, i) =>
    client.workflow.start('baselineLoneChildWorkflow', {
      taskQueue,
      workflowId: `${batch}-${i}`,
      args: [`${batch}-parent`],
      typedSearchAttributes: [{ key: BambooParentSessionId, value: batch }],
    }),
});

export async function scaleCurve(client: Client, side: Side, sizes: number[], serverPid: number | undefined, log: (line: string) => void): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const concurrent of sizes) {
    rows.push(await measureBatch(client, side, concurrent, serverPid));
    log(JSON.stringify(rows.at(-1)));
  }
  return rows;
}

async function measureBatch(client: Client, side: Side, concurrent: number, serverPid: number | undefined): Promise<ScaleRow> {
  const batch = `scale-${side.label}-${concurrent}-${randomUUID().slice(0, 6)}`;
  const query = `${BambooParentSessionId.name} = '${batch}'`;
  const cpu0 = side.worker.cpuSecs();
  const server0 = serverPid ? processCpuSecs(serverPid) : 0;
  let peakRssMb = side.worker.rssMb();
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, side.worker.rssMb())), 250);
  try {
    await mapLimit(Array.from({ length: concurrent }, (_, i) => i), 100, (i) => side.start(client, batch, i));
    await untilAllClosed(client, query, concurrent);
  } finally {
    clearInterval(sampler);
  }
  const latencies: number[] = [];
  let first = Infinity;
  let last = 0;
  let failed = 0;
  for await (const run of client.workflow.list({ query, pageSize: 1000 })) {
    const start = run.startTime.getTime();
    const close = run.closeTime?.getTime() ?? start;
    first = Math.min(first, start);
    last = Math.max(last, close);
    latencies.push(close - start);
    if (run.status.name !== 'COMPLETED') failed += 1;
  }
  const seconds = (last - first) / 1000;
  return {
    label: side.label,
    concurrent,
    seconds,
    runsPerSec: latencies.length / seconds,
    latencyMs: percentiles(latencies),
    workerCpuSecs: side.worker.cpuSecs() - cpu0,
    serverCpuSecs: serverPid ? processCpuSecs(serverPid) - server0 : NaN,
    workerPeakRssMb: peakRssMb,
    failed,
  };
}
