/**
 * CPU per child run over a measured window, from /proc: the dev server's, and the worker's
 * split by thread (its main thread runs activities and the SDK's bridge; its busiest other
 * thread is the SDK's workflow thread; the rest are V8 helpers and the Rust core's runtime).
 * On a 2-core machine both processes share the CPU, so CPU per run is what throughput is made
 * of, and it varies far less from run to run than runs/s does.
 */
import { readdirSync } from 'node:fs';
import { processCpuSecs, statCpuSecs } from './harness';

export interface CpuPerRun {
  serverMs: number;
  workerMs: number;
  /** The worker's busiest thread besides its main one: the SDK's workflow thread. */
  workflowThreadMs: number;
  mainThreadMs: number;
}

interface Snapshot {
  server: number;
  threads: Map<number, number>;
}

/** CPU milliseconds per thread of a process. */
function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpuSecs(`/proc/${pid}/task/${tid}/stat`) * 1000);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

export function cpuProbe(serverPid: number, workerPid: number) {
  return {
    start(): Snapshot {
      return { server: processCpuSecs(serverPid) * 1000, threads: threadCpuMs(workerPid) };
    },
    perRun(from: Snapshot, runs: number): CpuPerRun {
      const server = processCpuSecs(serverPid) * 1000 - from.server;
      const used = [...threadCpuMs(workerPid)].map(([tid, ms]) => [tid, ms - (from.threads.get(tid) ?? 0)] as const);
      const worker = used.reduce((sum, [, ms]) => sum + ms, 0);
      const main = used.find(([tid]) => tid === workerPid)?.[1] ?? 0;
      const workflowThread = Math.max(0, ...used.filter(([tid]) => tid !== workerPid).map(([, ms]) => ms));
      return { serverMs: server / runs, workerMs: worker / runs, workflowThreadMs: workflowThread / runs, mainThreadMs: main / runs };
    },
  };
}

export type CpuProbe = ReturnType<typeof cpuProbe>;
