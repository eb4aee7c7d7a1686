/**
 * `bamboo cluster up|down|status`: the production topology on one machine — PostgreSQL, the
 * Temporal services as four processes (history, matching, frontend, internal worker) from the
 * server's own configuration, the `default` namespace with Bamboo's search attributes, the Web UI
 * and N Bamboo workers — the shape docker-compose.yml deploys (docs/production-topology.md).
 *
 * Every process is recorded in the state file as soon as it starts. `up` (./up.ts) starts what
 * does not run and keeps what does; `down` stops exactly what the state file names — PostgreSQL
 * by its data directory, so that one an operator restarted with `pg_ctl` is stopped too.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../common';
import { componentStatuses, stopComponents, type ComponentStatus } from './components';
import { stopPostgres } from './postgres';
import { connectFrontend, pollerPids } from './services';
import { readState, removeState, type ClusterState } from './state';

export { runningProcesses, type ComponentStatus } from './components';
export { clusterUp, type UpOptions, type UpReport } from './up';

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
    await stopComponents(state, () => true, options.log);
    removeState(options.dir);
  } else {
    // No state file (removed, or an `up` killed before it wrote one): a PostgreSQL still serving
    // the data directory is stopped all the same, before --purge deletes its files.
    const postgres = await stopPostgres(join(options.dir, 'pgdata'));
    if (postgres.pid !== undefined) options.log(`  postgresql (pid ${postgres.pid}): ${postgres.outcome}`);
    else options.log(`no cluster state in ${options.dir}: nothing to stop`);
  }
  if (options.purge) {
    rmSync(options.dir, { recursive: true, force: true });
    options.log(`removed ${options.dir}`);
  }
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
  const components = componentStatuses(state);
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
