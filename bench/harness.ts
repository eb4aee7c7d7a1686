/** Bench plumbing: the dev server, the bundle, worker processes, histories, percentiles. */
import type { Client } from '@temporalio/client';
import type { SessionOptionsInput, SpawnJob } from '../common';
import { startSession } from '../client/root-sessions';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildWorkflowBundle } from '../worker/bundle';

const ROOT = resolve(__dirname, '..');

/**
 * `bamboo`: the product's workflows (workflows/), as a Bamboo worker runs them; `baseline`: the
 * bare baseline alone, so its workflows do not pay for evaluating Bamboo's modules (the SDK
 * evaluates a bundle's modules once per workflow run); `both`: one bundle with both.
 */
export type BenchBundle = 'bamboo' | 'baseline' | 'both';

const BUNDLE_ENTRY: Record<BenchBundle, string> = {
  bamboo: require.resolve('../workflows'),
  baseline: require.resolve('./workflows/baseline'),
  both: require.resolve('./workflows'),
};

export async function buildBenchBundle(kind: BenchBundle = 'both'): Promise<string> {
  const noop = () => undefined;
  const code = await buildWorkflowBundle({
    workflowsPath: BUNDLE_ENTRY[kind],
    encodeFailures: false,
    logger: { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop },
  });
  mkdirSync(join(ROOT, 'test-output'), { recursive: true });
  const path = join(ROOT, 'test-output', `bench-bundle-${kind}.js`);
  writeFileSync(path, code);
  return path;
}

export interface WorkerProcess {
  pid: number;
  rssMb(): number;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSecs(): number;
  /** The main thread's process.memoryUsage(), reported twice a second (heap: activities, not workflows). */
  mainThreadMemory(): NodeJS.MemoryUsage | undefined;
  stop(): Promise<void>;
}

export async function startWorkers(count: number, env: Record<string, string>): Promise<WorkerProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(env)));
}

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  // BENCH_WORKER_NODE_ARGS: extra node flags for the worker (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it).
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/worker-main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let mainThread: NodeJS.MemoryUsage | undefined;
  await new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.includes('bench worker ready')) ready();
        if (line.startsWith('mem ')) mainThread = JSON.parse(line.slice(4)) as NodeJS.MemoryUsage;
      }
    });
    child.once('exit', (code) => fail(new Error(`bench worker exited (${code})`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pid: child.pid!,
    rssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    cpuSecs: () => processCpuSecs(child.pid!),
    mainThreadMemory: () => mainThread,
    async stop() {
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

export function eventMs(event: HistoryEvent): number {
  return Number(event.eventTime!.seconds) * 1000 + Math.floor((event.eventTime!.nanos ?? 0) / 1e6);
}

export function percentiles(values: number[]): { p50: number; p95: number; p99: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return { p50: at(50), p95: at(95), p99: at(99), n: sorted.length };
}

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s on Linux). */
export function processCpuSecs(pid: number): number {
  return statCpuSecs(`/proc/${pid}/stat`);
}

/** User + system CPU seconds from a /proc `stat` file (a process's, or a thread's under task/). */
export function statCpuSecs(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Waits until visibility lists all `expected` runs of `query` and none of them is running (it is eventually consistent). */
/**
 * Waits until the `expected` runs matching `query` have closed. Visibility is polled only until
 * they all exist; then each run's result is long-polled, as a side that holds its runs' handles
 * waits (the baseline's): polling visibility counts every 250 ms while the runs stream cost the
 * dev server more CPU than the runs themselves, and that CPU was counted as the runs'.
 */
export async function untilAllClosed(client: Client, query: string, expected: number): Promise<void> {
  const pause = () => new Promise((r) => setTimeout(r, 250));
  while ((await client.workflow.count(query)).count < expected) await pause();
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const run of client.workflow.list({ query })) runs.push(run);
  await mapLimit(runs, 200, (run) => client.workflow.getHandle(run.workflowId, run.runId).result().catch(() => undefined));
  // Visibility catches up with the closes a moment later.
  while ((await client.workflow.count(`${query} AND ExecutionStatus = 'Running'`)).count > 0) await pause();
}

/** One bench child run's job: session `<parent>-<n>` with one user message, on the scripted provider. */
export function benchChildJob(parentSessionId: string, n: number, prompt: string): SpawnJob {
  const id = `${parentSessionId}-${n}`;
  return {
    parentSessionId,
    childSessionId: id,
    model: 'bench',
    session: { id, kind: 'child', parentSessionId, rootSessionId: parentSessionId, spawnDepth: 1, model: 'bench', metadata: {}, messages: [{ id: 'u', role: 'user', content: prompt, createdAt: new Date().toISOString() }] },
  };
}

/** Starts root sessions `ids` on the bench model, each with the one user message `prompt`. */
export async function startBenchRoots(client: Client, taskQueue: string, ids: string[], prompt: string, maxRunningChildren: number, extra: SessionOptionsInput = {}): Promise<void> {
  await Promise.all(
    ids.map((id) =>
      startSession(
        client,
        {
          session: { id, kind: 'root', rootSessionId: id, spawnDepth: 0, model: 'bench', metadata: {}, messages: [{ id: 'u', role: 'user', content: prompt, createdAt: new Date().toISOString() }] },
          options: { maxRunningChildren, ...extra },
        },
        { taskQueue },
      ),
    ),
  );
}
