/** Worker RSS while N child runs are open at once (scripted `[[sleep:S]]`, one model call each). */
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { startChildRun } from '../client/child-runs';
import type { WorkerProcess } from './harness';
import { benchChildJob, mapLimit } from './harness';

export interface MemoryResult {
  children: number;
  idleRssMb: number;
  peakRssMb: number;
  perChildKb: number;
  allCompleted: boolean;
  seconds: number;
  /** At the RSS peak: the main thread's V8 heap (activities, SDK bridge) and its external/ArrayBuffer memory, MB. */
  mainHeapUsedMb: number;
  mainExternalMb: number;
}

/** Bamboo: N child runs, each streaming a scripted `[[sleep:S]]` (one token and one heartbeat a second). */
export async function workerMemory(client: Client, taskQueue: string, worker: WorkerProcess, children: number, sleepSecs: number): Promise<MemoryResult> {
  const parent = `mem-${randomUUID().slice(0, 8)}`;
  return sampleMemory(worker, children, async () => {
    const handles = await mapLimit(Array.from({ length: children }, (_, i) => i), 50, (i) => startChildRun(client, benchChildJob(parent, i, `[[sleep:${sleepSecs}]] run ${i}`), { taskQueue }));
    const results = await Promise.all(handles.map((h) => h.result()));
    return results.every((r) => r.status === 'completed');
  });
}

/** The bare baseline: N child runs, each holding one activity open that heartbeats once a second for S seconds. */
export async function baselineWorkerMemory(client: Client, taskQueue: string, worker: WorkerProcess, children: number, sleepSecs: number): Promise<MemoryResult> {
  const prefix = `base-mem-${randomUUID().slice(0, 8)}`;
  return sampleMemory(worker, children, async () => {
    const handles = await mapLimit(Array.from({ length: children }, (_, i) => i), 50, (i) =>
      client.workflow.start('baselineStreamingChildWorkflow', { taskQueue, workflowId: `${prefix}-${i}`, args: [sleepSecs] }),
    );
    await Promise.all(handles.map((h) => h.result()));
    return true;
  });
}

async function sampleMemory(worker: WorkerProcess, children: number, run: () => Promise<boolean>): Promise<MemoryResult> {
  const idleRssMb = worker.rssMb();
  const idleMain = worker.mainThreadMemory();
  let peakRssMb = idleRssMb;
  let atPeak = idleMain;
  const sampler = setInterval(() => {
    const rss = worker.rssMb();
    if (rss > peakRssMb) [peakRssMb, atPeak] = [rss, worker.mainThreadMemory()];
  }, 500);
  const started = Date.now();
  const allCompleted = await run();
  clearInterval(sampler);
  return {
    children,
    idleRssMb,
    peakRssMb,
    perChildKb: ((peakRssMb - idleRssMb) * 1024) / children,
    allCompleted,
    seconds: (Date.now() - started) / 1000,
    mainHeapUsedMb: ((atPeak?.heapUsed ?? 0) - (idleMain?.heapUsed ?? 0)) / 2 ** 20,
    mainExternalMb: ((atPeak?.external ?? 0) - (idleMain?.external ?? 0)) / 2 ** 20,
  };
}

/** Plain child runs started as fast as the client can, at growing batch sizes: where does the server flatten? */
export async function serverRamp(client: Client, taskQueue: string, sizes: number[]): Promise<{ runs: number; seconds: number; runsPerSec: number; errors: number }[]> {
  const rows = [];
  for (const size of sizes) {
    const parent = `ramp-${randomUUID().slice(0, 8)}`;
    const started = Date.now();
    let errors = 0;
    await mapLimit(Array.from({ length: size }, (_, i) => i), 100, async (i) => {
      try {
        const handle = await startChildRun(client, benchChildJob(parent, i, `ramp ${i}`), { taskQueue });
        await handle.result();
      } catch {
        errors += 1;
      }
    });
    const seconds = (Date.now() - started) / 1000;
    rows.push({ runs: size, seconds, runsPerSec: size / seconds, errors });
  }
  return rows;
}
