/** `bamboo cluster up|down|status` (docs/production-topology.md). */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CliError, ExitCode, print, type GlobalOptions } from '../context';
import { UP_DEFAULTS } from './config';
import { clusterDown, clusterStatus, clusterUp, runningProcesses, type UpOptions } from './launcher';
import { DEFAULT_CLUSTER_DIR, readState, type ClusterState } from './state';

function parseCount(value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`expected an integer >= ${min}, got ${value}`, ExitCode.usage);
  return n;
}

const dirOption = ['--dir <dir>', 'where the cluster keeps data, config, logs and its state file (default: BAMBOO_CLUSTER_DIR, else .cache/cluster in a checkout or ./.bamboo/.cache/cluster where the package is installed)'] as const;
const clusterDir = (dir?: string) => resolve(dir ?? process.env.BAMBOO_CLUSTER_DIR ?? DEFAULT_CLUSTER_DIR);

interface UpFlags {
  dir?: string;
  workers: number;
  port: number;
  uiPort: number;
  ui: boolean;
  historyShards: number;
  logLevel: string;
}

/** The recorded cluster in `dir` when some of its processes still run. */
function runningCluster(dir: string): ClusterState | undefined {
  const state = readState(dir);
  return state && runningProcesses(state).length > 0 ? state : undefined;
}

/**
 * `up`'s settings: the flags given, and for each flag not given the running cluster's setting
 * (so that a second `up`, with the first one's flags or none, starts what is down without asking
 * to change what runs), else the default.
 */
export function upSettings(
  flags: UpFlags,
  given: (flag: keyof UpFlags) => boolean,
  running: ClusterState | undefined,
  env: { namespace?: string; taskQueue?: string },
): Omit<UpOptions, 'dir' | 'log'> {
  const recorded = <T>(flag: keyof UpFlags, fromFlag: T, fromRunning: (state: ClusterState) => T): T => (running && !given(flag) ? fromRunning(running) : fromFlag);
  const uiGiven = given('ui') || given('uiPort');
  return {
    workers: recorded('workers', flags.workers, (s) => s.workers.length),
    port: recorded('port', flags.port, (s) => Number(s.address.split(':').pop())),
    uiPort: running && !uiGiven ? (running.ui ? Number(new URL(running.ui.url).port) : undefined) : flags.ui ? flags.uiPort : undefined,
    historyShards: recorded('historyShards', flags.historyShards, (s) => s.historyShards),
    logLevel: recorded('logLevel', flags.logLevel, (s) => s.logLevel ?? flags.logLevel),
    namespace: env.namespace ?? running?.namespace ?? UP_DEFAULTS.namespace,
    taskQueue: env.taskQueue ?? running?.taskQueue ?? UP_DEFAULTS.taskQueue,
  };
}

export function registerClusterCommand(program: Command, globals: () => GlobalOptions): void {
  const cluster = program
    .command('cluster')
    .description('the production topology on this machine: PostgreSQL, the Temporal services as separate processes, the Web UI, N workers');

  cluster
    .command('up')
    .description('build (once) and start the cluster in the background, or start only what is down of a running one; returns when the workers poll')
    .option(...dirOption)
    .option('--workers <n>', 'Bamboo worker processes', (v) => parseCount(v, 0), UP_DEFAULTS.workers)
    .option('--port <port>', 'frontend gRPC port (0: any free port)', (v) => parseCount(v, 0), UP_DEFAULTS.port)
    .option('--ui-port <port>', 'Web UI port', (v) => parseCount(v, 1), 8080)
    .option('--no-ui', 'no Web UI')
    .option('--history-shards <n>', 'history shards (fixed when the database is created)', (v) => parseCount(v, 1), UP_DEFAULTS.historyShards)
    .option('--log-level <level>', 'Temporal server log level', UP_DEFAULTS.logLevel)
    .action(async (opts: UpFlags, command: Command) => {
      const g = globals();
      const dir = clusterDir(opts.dir);
      const { state, started, kept, stopped } = await clusterUp({
        ...upSettings(opts, (flag) => command.getOptionValueSource(flag) === 'cli', runningCluster(dir), {
          namespace: g.namespace,
          taskQueue: process.env.BAMBOO_TASK_QUEUE || undefined,
        }),
        dir,
        log: (line) => console.error(line),
      });
      print(g, { ...state, started, kept, stopped }, () =>
        [
          `cluster up in ${state.dir}`,
          `  TEMPORAL_ADDRESS=${state.address}  namespace ${state.namespace}  task queue ${state.taskQueue}`,
          ...(state.ui ? [`  Web UI ${state.ui.url}`] : []),
          '  bamboo cluster status · bamboo cluster down',
        ].join('\n'),
      );
    });

  cluster
    .command('down')
    .description('stop every process the cluster started (workers, UI, services, PostgreSQL)')
    .option(...dirOption)
    .option('--purge', 'also delete the data directory (the database, config and logs)')
    .action(async (opts: { dir?: string; purge?: boolean }) => {
      await clusterDown({ dir: clusterDir(opts.dir), purge: opts.purge, log: (line) => console.log(line) });
    });

  cluster
    .command('status')
    .description('each process of the cluster, and whether the frontend answers; exit 1 when something is down')
    .option(...dirOption)
    .action(async (opts: { dir?: string }) => {
      const dir = clusterDir(opts.dir);
      const status = await clusterStatus(dir);
      print(globals(), status, () => {
        if (!status.state) return `no cluster in ${dir}`;
        const rows = status.components.map((c) => `  ${c.name.padEnd(16)} ${(c.running ? 'running' : 'DOWN').padEnd(8)} pid ${String(c.pid ?? '-').padEnd(8)} ${c.port ? `port ${c.port}` : ''}`);
        const frontend = status.frontendError ? `frontend ${status.state.address}: ${status.frontendError}` : `frontend ${status.state.address}: ${status.pollers?.length ?? 0} workflow pollers on ${status.state.taskQueue}`;
        return [`cluster in ${dir} (Temporal ${status.state.serverVersion}, started ${status.state.startedAt})`, ...rows, `  ${frontend}`].join('\n');
      });
      if (!status.up) process.exitCode = ExitCode.failed;
    });
}
