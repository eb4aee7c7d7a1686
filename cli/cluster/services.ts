/**
 * Starting the cluster's processes one at a time — a Temporal service, the Web UI, a Bamboo
 * worker — and waiting until what they serve answers. `up` uses these in order; the reliability
 * scenarios use them to bring back a service they killed.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { isAbsolute, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { errorMessage } from '../../common';
import type { TemporalService } from './config';
import { isListening, isRunning, logTail, spawnDaemon, waitUntil } from './processes';
import type { ClusterState, ProcessRecord } from './state';

const BAMBOO_BIN = join(PACKAGE_ROOT, 'bin', 'bamboo.js');

/** `server --root <dir> --config config --env cluster --allow-no-auth start --service <name>`. */
export function startTemporalService(state: ClusterState, name: TemporalService): ProcessRecord {
  const log = join(state.dir, 'logs', `${name}.log`);
  const args = ['--root', state.server.root, '--config', 'config', '--env', state.server.env, '--allow-no-auth', 'start', '--service', name];
  const pid = spawnDaemon(state.server.binary, args, { logFile: log, cwd: state.dir });
  return { pid, marker: state.server.binary, log };
}

/** Waits until a service's gRPC port accepts connections; fails early, with its log, if it exits. */
export async function waitForPort(name: string, record: ProcessRecord, port: number, timeoutMs = 90_000): Promise<void> {
  const up = await waitUntil(async () => {
    if (!isRunning(record.pid, record.marker)) throw new Error(`${name} exited while starting:\n${logTail(record.log)}`);
    return isListening(port);
  }, timeoutMs, 300);
  if (!up) throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s:\n${logTail(record.log)}`);
}

/** The Web UI server (temporalio/ui's binary) on the frontend. */
export function startUi(binary: string, root: string, dir: string): ProcessRecord {
  const log = join(dir, 'logs', 'ui.log');
  const pid = spawnDaemon(binary, ['--root', root, '--config', 'config', '--env', 'cluster', 'start'], { logFile: log, cwd: root });
  return { pid, marker: binary, log };
}

/**
 * How a cluster worker is started: in the caller's folder, so that it finds the caller's
 * `./bamboo.config.json` as `bamboo worker` run there would, and with BAMBOO_CONFIG made absolute
 * when it was given relative to that folder.
 */
export function workerLaunch(state: ClusterState, extraEnv: NodeJS.ProcessEnv = {}, cwd: string = process.cwd()): { env: NodeJS.ProcessEnv; cwd: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: state.address,
    TEMPORAL_NAMESPACE: state.namespace,
    BAMBOO_TASK_QUEUE: state.taskQueue,
    ...(state.workerBundle ? { BAMBOO_WORKFLOW_BUNDLE: state.workerBundle } : {}),
    ...extraEnv,
  };
  if (env.BAMBOO_CONFIG && !isAbsolute(env.BAMBOO_CONFIG)) env.BAMBOO_CONFIG = resolve(cwd, env.BAMBOO_CONFIG);
  return { env, cwd };
}

/** One `bamboo worker` process on the cluster (the compose file's bamboo-worker service). */
export function startWorker(state: ClusterState, index: number, extraEnv: NodeJS.ProcessEnv = {}): ProcessRecord {
  const log = join(state.dir, 'logs', `bamboo-worker-${index}.log`);
  const { env, cwd } = workerLaunch(state, extraEnv);
  const pid = spawnDaemon(process.execPath, [BAMBOO_BIN, 'worker'], { logFile: log, env, cwd });
  return { pid, marker: BAMBOO_BIN, log };
}

export const WORKER_MARKER = BAMBOO_BIN;

/** Connects to the frontend once it answers GetSystemInfo. */
export async function connectFrontend(address: string, timeoutMs = 90_000): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 5000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`the frontend at ${address} did not answer within ${timeoutMs / 1000} s: ${errorMessage(last)}`);
}

/** Registers the namespace (24 h retention, as auto-setup did) unless it exists; waits until it is served. */
export async function ensureNamespace(connection: Connection, namespace: string, timeoutMs = 60_000): Promise<void> {
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('24h') });
  } catch (error) {
    if ((error as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw error;
  }
  await retrying(`namespace ${namespace}`, timeoutMs, () => connection.workflowService.describeNamespace({ namespace }));
}

/** Retries `body` until it succeeds (the namespace and search-attribute caches fill within seconds). */
export async function retrying<T>(what: string, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await body();
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`${what}: ${errorMessage(error)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The pids of the processes polling a task queue for workflow tasks (SDK identities are `<pid>@<host>`). */
export async function pollerPids(connection: Connection, namespace: string, taskQueue: string): Promise<number[]> {
  const response = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (response.pollers ?? []).map((p) => Number(/^(\d+)@/.exec(p.identity ?? '')?.[1])).filter((pid) => pid > 0);
}

/** Waits until every worker polls; fails early, with its log, when one exits. */
export async function waitForWorkers(connection: Connection, state: ClusterState, workers: ProcessRecord[], timeoutMs = 120_000): Promise<void> {
  const ok = await waitUntil(async () => {
    for (const worker of workers) {
      if (!isRunning(worker.pid, worker.marker)) throw new Error(`bamboo worker ${worker.pid} exited while starting:\n${logTail(worker.log)}`);
    }
    const polling = new Set(await pollerPids(connection, state.namespace, state.taskQueue).catch(() => []));
    return workers.every((w) => polling.has(w.pid));
  }, timeoutMs, 500);
  if (!ok) throw new Error(`bamboo workers did not poll task queue ${state.taskQueue} within ${timeoutMs / 1000} s (logs in ${join(state.dir, 'logs')})`);
}
