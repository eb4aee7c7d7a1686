/**
 * `bamboo cluster up|down|status`: the production topology on one machine — PostgreSQL, the
 * Temporal services as four processes (history, matching, frontend, internal worker) from the
 * server's own configuration, the `default` namespace with Bamboo's search attributes, the Web UI
 * and N Bamboo workers — the shape docker-compose.yml deploys (docs/production-topology.md).
 *
 * Every process is recorded in the state file as soon as it starts; a failed `up` stops what it
 * started before it throws, and `down` stops exactly what the state file names — PostgreSQL by
 * its data directory, so that one an operator restarted with `pg_ctl` is stopped too.
 */
import { Client } from '@temporalio/client';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage } from '../../common';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { buildWorkflowBundle } from '../worker/bundle';
import { WORKFLOWS_PATH } from '../worker/create-worker';
import { ensureClusterBinaries, SERVER_VERSION } from './binaries';
import { TEMPORAL_SERVICES, writeServerConfig, writeUiConfig, type ServicePorts, type TemporalService } from './config';
import { ensureTemporalRole, findPostgresBin, initPostgres, makeReachableForPostgres, pathTo, runningPostmaster, startPostgres, stopPostgres } from './postgres';
import { freePort, isListening, isRunning, stopProcess } from './processes';
import { setUpSchemas } from './schema';
import { connectFrontend, ensureNamespace, pollerPids, retrying, startTemporalService, startUi, startWorker, waitForPort, waitForWorkers } from './services';
import { readState, removeState, writeState, type ClusterState } from './state';

export interface UpOptions {
  dir: string;
  /** Bamboo worker processes (default 2, as compose's replicas). */
  workers: number;
  /** Frontend gRPC port; 0 for any free port. */
  port: number;
  /** Web UI port; undefined for no UI. */
  uiPort?: number;
  historyShards: number;
  namespace: string;
  taskQueue: string;
  logLevel: string;
  log: (line: string) => void;
}

export async function clusterUp(options: UpOptions): Promise<ClusterState> {
  const { log } = options;
  const dir = resolve(options.dir);
  const previous = readState(dir);
  if (previous && runningProcesses(previous).length > 0) {
    throw new Error(`a cluster is already up in ${dir} (frontend ${previous.address}); \`bamboo cluster status\` or \`bamboo cluster down\``);
  }
  prepareClusterDir(dir, log);
  const binaries = ensureClusterBinaries({ ui: options.uiPort !== undefined, log });
  rmSync(join(dir, 'logs'), { recursive: true, force: true }); // each `up` starts its logs afresh
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const port = options.port === 0 ? await freePort() : options.port;
  for (const [what, p] of [['frontend', port], ['Web UI', options.uiPort]] as const) {
    if (p !== undefined && (await isListening(p))) throw new Error(`port ${p} (${what}) is in use; choose another (--port, --ui-port) or 0 for any`);
  }
  const ports = await servicePorts(port);
  const postgresBin = findPostgresBin();
  const state: ClusterState = {
    version: 1,
    dir,
    startedAt: new Date().toISOString(),
    serverVersion: SERVER_VERSION,
    address: `127.0.0.1:${port}`,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    historyShards: options.historyShards,
    server: { binary: binaries.server, root: dir, env: 'cluster' },
    postgres: { port: await freePort(), bin: postgresBin, dataDir: join(dir, 'pgdata'), log: join(dir, 'logs', 'postgresql.log'), marker: join(postgresBin, 'postgres') },
    services: {},
    workers: [],
  };
  try {
    await startEverything(state, options, binaries, ports);
    return state;
  } catch (error) {
    log(`bamboo cluster up failed: ${errorMessage(error)}\nstopping what was started…`);
    await clusterDown({ dir, log });
    throw error;
  }
}

async function startEverything(state: ClusterState, options: UpOptions, binaries: ReturnType<typeof ensureClusterBinaries>, ports: Record<TemporalService, ServicePorts>) {
  const { log } = options;
  const pg = { bin: state.postgres.bin, dataDir: state.postgres.dataDir, logFile: state.postgres.log };
  if (initPostgres(pg)) {
    log(`PostgreSQL: initialised ${pg.dataDir}`);
    rmSync(join(state.dir, 'history-shards'), { force: true }); // a new database takes the shard count asked for
  }
  state.postgres.pid = await startPostgres(pg, state.postgres.port);
  writeState(state);
  log(`PostgreSQL: 127.0.0.1:${state.postgres.port} (pid ${state.postgres.pid})`);
  ensureTemporalRole(pg.bin, state.postgres.port);
  setUpSchemas({ sqlTool: binaries.sqlTool, postgresSchemaDir: binaries.postgresSchemaDir, postgresBin: pg.bin, port: state.postgres.port, log });
  state.historyShards = pinnedShardCount(state.dir, options.historyShards, log);

  writeServerConfig(state.dir, { postgresPort: state.postgres.port, ports, historyShards: state.historyShards, logLevel: options.logLevel });
  // One after the other: each process writes the cluster metadata as it starts, and four at once
  // race on its version ("SaveClusterMetadata encountered version mismatch") when it changed.
  for (const name of TEMPORAL_SERVICES) {
    const record = startTemporalService(state, name);
    state.services[name] = { ...record, ports: ports[name] };
    writeState(state);
    // The internal worker serves no gRPC of its own: it is up once it has joined the membership ring.
    await waitForPort(name, record, name === 'worker' ? ports[name].membership : ports[name].grpc);
  }
  log(`Temporal ${SERVER_VERSION}: ${TEMPORAL_SERVICES.map((n) => `${n} ${ports[n].grpc} (pid ${state.services[n]!.pid})`).join(', ')}`);

  const connection = await connectFrontend(state.address);
  try {
    await ensureNamespace(connection, state.namespace);
    const client = new Client({ connection, namespace: state.namespace });
    const added = await retrying('search attributes', 60_000, () => ensureSearchAttributes(client, state.namespace));
    log(`namespace ${state.namespace}: search attributes ${added.length ? `registered ${added.join(', ')}` : 'already registered'}`);

    if (options.uiPort !== undefined && binaries.ui) {
      const root = writeUiConfig(state.dir, { port: options.uiPort, frontendAddress: state.address, codecEndpoint: process.env.TEMPORAL_CODEC_ENDPOINT });
      state.ui = { ...startUi(binaries.ui, root, state.dir), url: `http://localhost:${options.uiPort}`, binary: binaries.ui, root };
      writeState(state);
      await waitForPort('Web UI', state.ui, options.uiPort);
      log(`Web UI: ${state.ui.url}`);
    }

    if (options.workers > 0) {
      state.workerBundle = join(state.dir, 'workflow-bundle.js');
      writeFileSync(state.workerBundle, await buildWorkflowBundle({ workflowsPath: WORKFLOWS_PATH, encodeFailures: Boolean(process.env.BAMBOO_ENCRYPTION_KEY), logger: quietLogger() }));
      for (let i = 1; i <= options.workers; i++) {
        state.workers.push(startWorker(state, i));
        writeState(state);
      }
      await waitForWorkers(connection, state, state.workers);
      log(`bamboo workers: ${state.workers.length} polling task queue ${state.taskQueue} (pids ${state.workers.map((w) => w.pid).join(', ')})`);
    }
  } finally {
    await connection.close();
  }
  writeState(state);
}

/**
 * Creates the cluster's directory (and those missing above it) and, as root, opens the ones it
 * owns to the postgres user — before anything starts, so that a directory it may not change
 * fails `up` at once, naming it, and leaves nothing behind.
 */
function prepareClusterDir(dir: string, log: (line: string) => void): void {
  const firstCreated = mkdirSync(dir, { recursive: true });
  const path = pathTo(dir);
  const own = firstCreated === undefined ? [dir] : path.slice(path.indexOf(firstCreated));
  try {
    for (const opened of makeReachableForPostgres(dir, own)) log(`${opened}: search permission for others (o+x), so that PostgreSQL, run as the postgres user, reaches its data`);
  } catch (error) {
    if (firstCreated !== undefined) rmSync(firstCreated, { recursive: true, force: true });
    throw error;
  }
}

/** The shard count is fixed when the database is created: a later `up` with another count keeps the first. */
function pinnedShardCount(dir: string, wanted: number, log: (line: string) => void): number {
  const file = join(dir, 'history-shards');
  if (!existsSync(file)) {
    writeFileSync(file, `${wanted}\n`);
    return wanted;
  }
  const pinned = Number.parseInt(readFileSync(file, 'utf8'), 10);
  if (pinned !== wanted) log(`history shards: keeping ${pinned} (the database was created with it; \`bamboo cluster down --purge\` to change)`);
  return pinned;
}

async function servicePorts(frontendPort: number): Promise<Record<TemporalService, ServicePorts>> {
  const ports = {} as Record<TemporalService, ServicePorts>;
  for (const name of TEMPORAL_SERVICES) {
    ports[name] = { grpc: name === 'frontend' ? frontendPort : await freePort(), membership: await freePort(), ...(name === 'frontend' ? { http: await freePort() } : {}) };
  }
  return ports;
}

export interface DownOptions {
  dir: string;
  /** Also delete the data directory (PostgreSQL's data, logs, config). */
  purge?: boolean;
  log: (line: string) => void;
}

/** Stops every process the state file names — workers, UI, the four services — then the PostgreSQL of its data directory. */
export async function clusterDown(options: DownOptions): Promise<void> {
  const state = readState(options.dir);
  if (state) {
    const report = (name: string, pid: number | undefined, outcome: string) => options.log(`  ${name}${pid ? ` (pid ${pid})` : ''}: ${outcome}`);
    await Promise.all(state.workers.map(async (w, i) => report(`bamboo worker ${i + 1}`, w.pid, await stopProcess(w.pid, w.marker, 30_000))));
    if (state.ui) report('Web UI', state.ui.pid, await stopProcess(state.ui.pid, state.ui.marker));
    for (const name of ['frontend', 'worker', 'matching', 'history'] as const) {
      const svc = state.services[name];
      if (svc) report(name, svc.pid, await stopProcess(svc.pid, svc.marker));
    }
    const postgres = await stopPostgres(state.postgres.dataDir, state.postgres.pid);
    report('PostgreSQL', postgres.pid, postgres.outcome);
    removeState(options.dir);
  } else {
    // No state file (removed, or an `up` killed before it wrote one): a PostgreSQL still serving
    // the data directory is stopped all the same, before --purge deletes its files.
    const postgres = await stopPostgres(join(options.dir, 'pgdata'));
    if (postgres.pid !== undefined) options.log(`  PostgreSQL (pid ${postgres.pid}): ${postgres.outcome}`);
    else options.log(`no cluster state in ${options.dir}: nothing to stop`);
  }
  if (options.purge) {
    rmSync(options.dir, { recursive: true, force: true });
    options.log(`removed ${options.dir}`);
  }
}

export interface ComponentStatus {
  name: string;
  pid?: number;
  port?: number;
  running: boolean;
}

export interface ClusterStatus {
  up: boolean;
  state?: ClusterState;
  components: ComponentStatus[];
  /** Pids polling the task queue, when the frontend answers. */
  pollers?: number[];
  frontendError?: string;
}

export async function clusterStatus(dir: string): Promise<ClusterStatus> {
  const state = readState(dir);
  if (!state) return { up: false, components: [] };
  const components: ComponentStatus[] = [
    postgresStatus(state),
    ...TEMPORAL_SERVICES.map((name) => {
      const svc = state.services[name];
      return { name, pid: svc?.pid, port: svc?.ports.grpc, running: isRunning(svc?.pid, svc?.marker ?? '?') };
    }),
    ...(state.ui ? [{ name: 'ui', pid: state.ui.pid, port: Number(new URL(state.ui.url).port), running: isRunning(state.ui.pid, state.ui.marker) }] : []),
    ...state.workers.map((w, i) => ({ name: `bamboo-worker-${i + 1}`, pid: w.pid, running: isRunning(w.pid, w.marker) })),
  ];
  let pollers: number[] | undefined;
  let frontendError: string | undefined;
  try {
    const connection = await connectFrontend(state.address, 5000);
    try {
      pollers = await pollerPids(connection, state.namespace, state.taskQueue);
    } finally {
      await connection.close();
    }
  } catch (error) {
    frontendError = errorMessage(error);
  }
  return { up: components.every((c) => c.running) && !frontendError, state, components, pollers, frontendError };
}

/** PostgreSQL as it runs now: the postmaster of the data directory, whoever started it (an operator's `pg_ctl restart` too). */
function postgresStatus(state: ClusterState): ComponentStatus {
  const postmaster = runningPostmaster(state.postgres.dataDir);
  return { name: 'postgresql', pid: postmaster?.pid ?? state.postgres.pid, port: postmaster?.port ?? state.postgres.port, running: postmaster !== undefined };
}

/** Processes of a state file that still run (PostgreSQL: the postmaster of its data directory). */
export function runningProcesses(state: ClusterState): number[] {
  const records = [...Object.values(state.services), ...(state.ui ? [state.ui] : []), ...state.workers];
  const postmaster = runningPostmaster(state.postgres.dataDir)?.pid;
  return [...(postmaster !== undefined ? [postmaster] : []), ...records.filter((r) => isRunning(r.pid, r.marker)).map((r) => r.pid)];
}

function quietLogger() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
}
