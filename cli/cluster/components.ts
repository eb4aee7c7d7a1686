/**
 * The cluster's components under the names `status` shows — `postgresql`, the four Temporal
 * services, `ui`, `bamboo-worker-<n>` — whether each runs now, and stopping them. `up`, `down`
 * and `status` all speak of them by these names.
 *
 * A process recorded in the state file runs while its pid still runs the program started there
 * (pids are reused). PostgreSQL is found by its data directory instead, so that a postmaster an
 * operator restarted with `pg_ctl` counts as the cluster's.
 */
import { TEMPORAL_SERVICES } from './config';
import { runningPostmaster, stopPostgres } from './postgres';
import { isRunning, stopProcess } from './processes';
import type { ClusterState, ProcessRecord } from './state';

export interface ComponentStatus {
  name: string;
  pid?: number;
  port?: number;
  running: boolean;
}

export const POSTGRES = 'postgresql';
export const UI = 'ui';
export const workerName = (index: number) => `bamboo-worker-${index + 1}`;

/** Every component the state file names, in the order `up` starts them. */
export function componentStatuses(state: ClusterState): ComponentStatus[] {
  const postmaster = runningPostmaster(state.postgres.dataDir);
  return [
    { name: POSTGRES, pid: postmaster?.pid ?? state.postgres.pid, port: postmaster?.port ?? state.postgres.port, running: postmaster !== undefined },
    ...TEMPORAL_SERVICES.map((name) => {
      const svc = state.services[name];
      return { name, pid: svc?.pid, port: svc?.ports.grpc, running: stillRunning(svc) };
    }),
    ...(state.ui ? [{ name: UI, pid: state.ui.pid, port: Number(new URL(state.ui.url).port), running: stillRunning(state.ui) }] : []),
    ...state.workers.map((w, i) => ({ name: workerName(i), pid: w.pid, running: stillRunning(w) })),
  ];
}

/** The pids of the components that run now. */
export function runningProcesses(state: ClusterState): number[] {
  return componentStatuses(state)
    .filter((c) => c.running)
    .map((c) => c.pid!);
}

/** Whether a recorded process still runs the program it was started with. */
export const stillRunning = (record: ProcessRecord | undefined): record is ProcessRecord => isRunning(record?.pid, record?.marker ?? '?');

/**
 * Stops the components `which` selects, in the reverse of the order `up` starts them (workers, UI,
 * frontend, internal worker, matching, history, PostgreSQL), logging each one's outcome.
 */
export async function stopComponents(state: ClusterState, which: (name: string) => boolean, log: (line: string) => void): Promise<void> {
  const report = (name: string, pid: number | undefined, outcome: string) => log(`  ${name}${pid ? ` (pid ${pid})` : ''}: ${outcome}`);
  await Promise.all(
    state.workers.map(async (w, i) => {
      if (which(workerName(i))) report(workerName(i), w.pid, await stopProcess(w.pid, w.marker, 30_000));
    }),
  );
  if (state.ui && which(UI)) report(UI, state.ui.pid, await stopProcess(state.ui.pid, state.ui.marker));
  for (const name of [...TEMPORAL_SERVICES].reverse()) {
    const svc = state.services[name];
    if (svc && which(name)) report(name, svc.pid, await stopProcess(svc.pid, svc.marker));
  }
  if (which(POSTGRES)) {
    const postgres = await stopPostgres(state.postgres.dataDir, state.postgres.pid);
    report(POSTGRES, postgres.pid, postgres.outcome);
  }
}
