/**
 * `bamboo cluster up`: brings every component of the cluster to running, and leaves alone what
 * already runs — as `docker compose up` does. On a new directory (or one whose processes all
 * stopped) it starts everything on fresh ports; on a cluster of which some processes still run
 * it keeps those and starts the rest on the recorded ports, which the running ones use.
 *
 * Each process is recorded in the state file as soon as it starts. A failed `up` stops what it
 * started, and only that, before it throws.
 */
import { Client, type Connection } from '@temporalio/client';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage } from '../../common';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { buildWorkflowBundle } from '../../worker/bundle';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { ensureClusterBinaries, SERVER_VERSION, type ClusterBinaries } from './binaries';
import { componentStatuses, POSTGRES, runningProcesses, stillRunning, stopComponents, UI, workerName } from './components';
import { TEMPORAL_SERVICES, writeServerConfig, writeUiConfig, type ServicePorts, type TemporalService } from './config';
import { ensureTemporalRole, findPostgresBin, initPostgres, makeReachableForPostgres, pathTo, runningPostmaster, startPostgres } from './postgres';
import { freePort, isListening, stopProcess } from './processes';
import { setUpSchemas } from './schema';
import { connectFrontend, ensureNamespace, retrying, startTemporalService, startUi, startWorker, waitForPort, waitForWorkers } from './services';
import { readState, removeState, writeState, type ClusterState, type ProcessRecord } from './state';

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

/** What `up` did, by component name (`status`'s names). */
export interface UpReport {
  state: ClusterState;
  /** Started by this `up`, in start order. */
  started: string[];
  /** Already running, left as they were. */
  kept: string[];
  /** Workers beyond `--workers` that were running, stopped. */
  stopped: string[];
}

export async function clusterUp(options: UpOptions): Promise<UpReport> {
  const { log } = options;
  const dir = resolve(options.dir);
  const previous = readState(dir);
  const resumed = previous !== undefined && runningProcesses(previous).length > 0 ? previous : undefined;
  if (resumed) checkUnchangeable(resumed, options);
  prepareClusterDir(dir, log);
  const binaries = ensureClusterBinaries({ ui: options.uiPort !== undefined, log });
  // A fresh start begins its logs afresh; a resumed cluster's running processes still write to theirs.
  if (!resumed) rmSync(join(dir, 'logs'), { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const state = resumed ? { ...resumed, logLevel: options.logLevel } : await newState(dir, options, binaries);
  const report: UpReport = { state, started: [], kept: [], stopped: [] };
  try {
    await bringUp(report, options, binaries, resumed !== undefined);
  } catch (error) {
    log(`bamboo cluster up failed: ${errorMessage(error)}\nstopping what this up started…`);
    await stopComponents(state, (name) => report.started.includes(name), log);
    if (report.kept.length === 0) removeState(dir);
    else writeState(state);
    throw error;
  }
  const pids = new Map(componentStatuses(state).map((c) => [c.name, c.pid]));
  const named = (names: string[]) => names.map((name) => `${name} (pid ${pids.get(name)})`).join(', ');
  log(`started: ${named(report.started) || 'none'}`);
  if (report.kept.length > 0) log(`kept: ${named(report.kept)}`);
  if (report.stopped.length > 0) log(`stopped: ${report.stopped.join(', ')} (beyond --workers ${options.workers})`);
  return report;
}

/**
 * Settings a running cluster cannot take without restarting what runs: `up` refuses them, naming
 * each, rather than leave half the cluster on the old settings. (The CLI defaults every flag not
 * given to the running cluster's, so only flags given explicitly can differ.)
 */
export function checkUnchangeable(running: ClusterState, options: UpOptions): void {
  const differences: string[] = [];
  const port = Number(running.address.split(':').pop());
  if (options.port !== 0 && options.port !== port) differences.push(`its frontend listens on ${port}, not --port ${options.port}`);
  if (options.namespace !== running.namespace) differences.push(`its namespace is ${running.namespace}, not ${options.namespace}`);
  if (options.taskQueue !== running.taskQueue) differences.push(`its workers poll task queue ${running.taskQueue}, not ${options.taskQueue}`);
  if (stillRunning(running.ui)) {
    const uiPort = Number(new URL(running.ui.url).port);
    if (options.uiPort === undefined) differences.push(`its Web UI runs on ${uiPort} (--no-ui)`);
    else if (options.uiPort !== uiPort) differences.push(`its Web UI runs on ${uiPort}, not --ui-port ${options.uiPort}`);
  }
  if (differences.length > 0) {
    throw new Error(
      `the cluster in ${running.dir} is partly running with other settings: ${differences.join('; ')}. ` +
        'Run `bamboo cluster up` without those flags to start what is down, or `bamboo cluster down` first to change them.',
    );
  }
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

/** A cluster not started yet: fresh free ports (PostgreSQL's own, should one already serve the data directory). */
async function newState(dir: string, options: UpOptions, binaries: ClusterBinaries): Promise<ClusterState> {
  const port = options.port === 0 ? await freePort() : options.port;
  for (const [what, p] of [['frontend', port], ['Web UI', options.uiPort]] as const) {
    if (p !== undefined && (await isListening(p))) throw new Error(`port ${p} (${what}) is in use; choose another (--port, --ui-port) or 0 for any`);
  }
  const postgresBin = findPostgresBin();
  const dataDir = join(dir, 'pgdata');
  return {
    version: 1,
    dir,
    startedAt: new Date().toISOString(),
    serverVersion: SERVER_VERSION,
    address: `127.0.0.1:${port}`,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    historyShards: options.historyShards,
    logLevel: options.logLevel,
    server: { binary: binaries.server, root: dir, env: 'cluster' },
    postgres: { port: runningPostmaster(dataDir)?.port ?? (await freePort()), bin: postgresBin, dataDir, log: join(dir, 'logs', 'postgresql.log'), marker: join(postgresBin, 'postgres') },
    services: {},
    workers: [],
  };
}

/** Each component in order, kept when it runs, else started; the state file written after each start. */
async function bringUp(report: UpReport, options: UpOptions, binaries: ClusterBinaries, resumed: boolean): Promise<void> {
  const { state } = report;
  const { log } = options;
  const startedPostgres = await ensurePostgres(report, log);
  if (startedPostgres || !resumed) {
    ensureTemporalRole(state.postgres.bin, state.postgres.port);
    setUpSchemas({ sqlTool: binaries.sqlTool, postgresSchemaDir: binaries.postgresSchemaDir, postgresBin: state.postgres.bin, port: state.postgres.port, log });
  }
  state.historyShards = pinnedShardCount(state.dir, options.historyShards, log);

  const ports = await servicePorts(state);
  writeServerConfig(state.dir, { postgresPort: state.postgres.port, ports, historyShards: state.historyShards, logLevel: options.logLevel });
  // One after the other: each process writes the cluster metadata as it starts, and four at once
  // race on its version ("SaveClusterMetadata encountered version mismatch") when it changed.
  for (const name of TEMPORAL_SERVICES) await ensureService(report, name, ports[name]);
  log(`Temporal ${SERVER_VERSION}: ${TEMPORAL_SERVICES.map((n) => `${n} ${ports[n].grpc} (pid ${state.services[n]!.pid})`).join(', ')}`);

  const connection = await connectFrontend(state.address);
  try {
    await ensureNamespace(connection, state.namespace);
    const client = new Client({ connection, namespace: state.namespace });
    const added = await retrying('search attributes', 60_000, () => ensureSearchAttributes(client, state.namespace));
    log(`namespace ${state.namespace}: search attributes ${added.length ? `registered ${added.join(', ')}` : 'already registered'}`);
    await ensureUi(report, options, binaries);
    await ensureWorkers(report, options, connection);
  } finally {
    await connection.close();
  }
  writeState(state);
}

/** The PostgreSQL of the data directory, whoever started it, or a new one (initdb first if needed). Returns true when it started one. */
async function ensurePostgres(report: UpReport, log: (line: string) => void): Promise<boolean> {
  const { state } = report;
  const pg = { bin: state.postgres.bin, dataDir: state.postgres.dataDir, logFile: state.postgres.log };
  const postmaster = runningPostmaster(pg.dataDir);
  if (postmaster) {
    if (postmaster.port !== state.postgres.port) {
      throw new Error(`the PostgreSQL of ${pg.dataDir} (pid ${postmaster.pid}) listens on port ${postmaster.port}, but the cluster's services use ${state.postgres.port}: stop it (pg_ctl -D ${pg.dataDir} stop -m fast) and run up again`);
    }
    state.postgres.pid = postmaster.pid;
    report.kept.push(POSTGRES);
    return false;
  }
  if (initPostgres(pg)) {
    log(`PostgreSQL: initialised ${pg.dataDir}`);
    rmSync(join(state.dir, 'history-shards'), { force: true }); // a new database takes the shard count asked for
  }
  report.started.push(POSTGRES); // before it is up: a failed start is stopped by its data directory
  state.postgres.pid = await startPostgres(pg, state.postgres.port);
  writeState(state);
  log(`PostgreSQL: 127.0.0.1:${state.postgres.port} (pid ${state.postgres.pid})`);
  return true;
}

/** Each service's ports: the recorded ones, which running services use; fresh ones for a service never started. */
async function servicePorts(state: ClusterState): Promise<Record<TemporalService, ServicePorts>> {
  const ports = {} as Record<TemporalService, ServicePorts>;
  for (const name of TEMPORAL_SERVICES) {
    const recorded = state.services[name]?.ports;
    if (recorded) ports[name] = recorded;
    else if (name === 'frontend') ports[name] = { grpc: Number(state.address.split(':').pop()), membership: await freePort(), http: await freePort() };
    else ports[name] = { grpc: await freePort(), membership: await freePort() };
  }
  return ports;
}

async function ensureService(report: UpReport, name: TemporalService, ports: ServicePorts): Promise<void> {
  const { state } = report;
  if (stillRunning(state.services[name])) {
    report.kept.push(name);
    return;
  }
  for (const port of [ports.grpc, ports.membership, ports.http]) {
    if (port !== undefined && (await isListening(port))) {
      throw new Error(`port ${port} of the ${name} service is taken by another process; \`bamboo cluster down\`, then \`up\` picks free ports`);
    }
  }
  const record = startTemporalService(state, name);
  state.services[name] = { ...record, ports };
  report.started.push(name);
  writeState(state);
  // The internal worker serves no gRPC of its own: it is up once it has joined the membership ring.
  await waitForPort(name, record, name === 'worker' ? ports.membership : ports.grpc);
}

async function ensureUi(report: UpReport, options: UpOptions, binaries: ClusterBinaries): Promise<void> {
  const { state } = report;
  if (stillRunning(state.ui)) {
    report.kept.push(UI);
    return;
  }
  state.ui = undefined;
  if (options.uiPort === undefined || !binaries.ui) return;
  if (await isListening(options.uiPort)) throw new Error(`port ${options.uiPort} (Web UI) is in use; choose another (--ui-port)`);
  const root = writeUiConfig(state.dir, { port: options.uiPort, frontendAddress: state.address, codecEndpoint: process.env.TEMPORAL_CODEC_ENDPOINT });
  state.ui = { ...startUi(binaries.ui, root, state.dir), url: `http://localhost:${options.uiPort}`, binary: binaries.ui, root };
  report.started.push(UI);
  writeState(state);
  await waitForPort('Web UI', state.ui, options.uiPort);
  options.log(`Web UI: ${state.ui.url}`);
}

/** Workers 1..N kept or started (the workflows bundled once if any starts); running workers beyond N stopped. */
async function ensureWorkers(report: UpReport, options: UpOptions, connection: Connection): Promise<void> {
  const { state } = report;
  const starting: ProcessRecord[] = [];
  for (let i = 0; i < options.workers; i++) {
    if (stillRunning(state.workers[i])) {
      report.kept.push(workerName(i));
      continue;
    }
    if (starting.length === 0) {
      state.workerBundle = join(state.dir, 'workflow-bundle.js');
      writeFileSync(state.workerBundle, await buildWorkflowBundle({ workflowsPath: WORKFLOWS_PATH, encodeFailures: Boolean(process.env.BAMBOO_ENCRYPTION_KEY), logger: quietLogger() }));
    }
    state.workers[i] = startWorker(state, i + 1);
    starting.push(state.workers[i]);
    report.started.push(workerName(i));
    writeState(state);
  }
  for (const [i, worker] of state.workers.entries()) {
    if (i >= options.workers && (await stopProcess(worker.pid, worker.marker, 30_000)) !== 'not running') report.stopped.push(workerName(i));
  }
  state.workers = state.workers.slice(0, options.workers);
  writeState(state);
  if (starting.length > 0) await waitForWorkers(connection, state, starting);
  if (state.workers.length > 0) options.log(`bamboo workers: ${state.workers.length} polling task queue ${state.taskQueue} (pids ${state.workers.map((w) => w.pid).join(', ')})`);
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

function quietLogger() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
}
