/**
 * The operator's paths through `bamboo cluster`, as real processes typed as a new user types
 * them (issue 25, item 8), on one cluster shared by the tests in order:
 *
 * 1. `up` in a directory `mktemp -d` made (0700, root's) while PostgreSQL must run as the
 *    `postgres` user — and, under a 0700 directory that is not the cluster's, a refusal at once
 *    that names that directory and what to do, leaving its mode alone;
 * 2. `up` again after the matching service and one worker were killed: it starts those two only,
 *    keeps the rest (their pids unchanged), says which is which, and the cluster serves a
 *    session; `up` once more, without flags, starts nothing;
 * 3. PostgreSQL restarted by the operator with `pg_ctl` (a new postmaster pid, not the one
 *    recorded): `status` sees it, `down` stops it — nothing of that data directory runs after.
 *
 *   npx jest -c test/cluster/jest.config.json test/cluster/operator.cluster.ts
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runningProcesses } from '../../cli/cluster/launcher';
import { isRunning, signalGroup, waitUntil } from '../../cli/cluster/processes';
import type { ClusterState } from '../../cli/cluster/state';
import { ROOT, runCommand, userEnv, type CommandResult } from '../helpers/processes';

const BAMBOO = join(ROOT, 'bin', 'bamboo.js');

/** `bamboo <args>` as a user runs it, to its end. */
function bamboo(args: string[], timeoutMs = 300_000): Promise<CommandResult> {
  return runCommand(process.execPath, [BAMBOO, ...args], userEnv(), timeoutMs);
}

/** Every process whose working directory is `dataDir`: a postmaster and its backends all run there. */
function processesIn(dataDir: string): number[] {
  const real = realpathSync(dataDir);
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === real;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** The pid in a data directory's postmaster.pid (its first line). */
const postmasterPid = (dataDir: string) => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

/** The result of a command that must succeed; fails with what it printed otherwise. */
function succeeded(result: CommandResult): CommandResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}:\n${result.stderr.slice(-3000)}${result.stdout.slice(-1000)}`);
  return result;
}

let dir: string;
let state: ClusterState;

beforeAll(() => {
  // What `mktemp -d` makes: mode 0700, owned by whoever runs the test (root in CI).
  dir = mkdtempSync(join(tmpdir(), 'bamboo-cluster-operator-'));
});

afterAll(async () => {
  // A failed test must not leave a cluster running.
  await bamboo(['cluster', 'down', '--dir', dir, '--purge']);
  rmSync(dir, { recursive: true, force: true });
});

const asRoot = process.getuid?.() === 0;

(asRoot ? test : test.skip)("as root, bamboo cluster up under a 0700 directory that is not the cluster's refuses at once, naming it and what to do", async () => {
  const parent = mkdtempSync(join(tmpdir(), 'bamboo-private-'));
  try {
    const up = await bamboo(['cluster', 'up', '--dir', join(parent, 'cluster'), '--port', '0', '--no-ui', '--workers', '1'], 60_000);
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain(parent);
    expect(up.stderr).toContain(`chmod o+x ${parent}`);
    expect(up.stderr).not.toContain('initdb failed');
    // A directory the cluster did not make is not opened up behind the user's back.
    expect(statSync(parent).mode & 0o777).toBe(0o700);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('bamboo cluster up starts in a directory made by mktemp -d (0700), PostgreSQL running as the postgres user when we are root', async () => {
  const up = succeeded(await bamboo(['--json', 'cluster', 'up', '--dir', dir, '--port', '0', '--no-ui', '--workers', '2']));
  state = JSON.parse(up.stdout) as ClusterState;
  // PostgreSQL, the four Temporal services and two workers.
  expect(runningProcesses(state)).toHaveLength(7);
});

/** What `bamboo --json cluster up` prints: the state, and which components it started and which it kept. */
type UpOutput = ClusterState & { started: string[]; kept: string[] };

test('bamboo cluster up again starts only what is down (a killed matching service and a killed worker), keeps the rest, and the cluster serves a session', async () => {
  const [matching, worker2] = [state.services.matching!, state.workers[1]];
  for (const killed of [matching, worker2]) {
    signalGroup(killed.pid, 'SIGKILL');
    expect(await waitUntil(() => !isRunning(killed.pid, killed.marker), 10_000)).toBe(true);
  }

  // The same command as the first time.
  const up = succeeded(await bamboo(['--json', 'cluster', 'up', '--dir', dir, '--port', '0', '--no-ui', '--workers', '2']));
  const again = JSON.parse(up.stdout) as UpOutput;
  expect(again.started).toEqual(['matching', 'bamboo-worker-2']);
  expect(again.kept).toEqual(['postgresql', 'history', 'frontend', 'worker', 'bamboo-worker-1']);
  expect(up.stderr).toMatch(/started: matching \(pid \d+\), bamboo-worker-2 \(pid \d+\)/);
  expect(up.stderr).toMatch(/kept: postgresql \(pid \d+\), history \(pid \d+\), frontend \(pid \d+\), worker \(pid \d+\), bamboo-worker-1 \(pid \d+\)/);
  expect(again.address).toBe(state.address);
  expect(again.postgres.pid).toBe(state.postgres.pid);
  for (const name of ['history', 'frontend', 'worker'] as const) expect(again.services[name]?.pid).toBe(state.services[name]?.pid);
  expect(again.workers[0].pid).toBe(state.workers[0].pid);
  expect([again.services.matching?.pid, again.workers[1].pid]).not.toContain(matching.pid);
  expect(runningProcesses(again)).toHaveLength(7);
  state = again;

  const run = succeeded(await runCommand(process.execPath, [BAMBOO, 'run', 'Plan the release. [[spawn:Scout|look around]]'], userEnv({ TEMPORAL_ADDRESS: state.address }), 180_000));
  expect(run.stdout).toMatch(/child \S+: completed/);
  expect(run.stdout).toMatch(/session \S+ is idle \(last turn completed\)/);

  // Once more, without flags: the recorded cluster is the default, and all of it runs.
  const noop = JSON.parse(succeeded(await bamboo(['--json', 'cluster', 'up', '--dir', dir])).stdout) as UpOutput;
  expect(noop.started).toEqual([]);
  expect(noop.kept).toHaveLength(7);
  expect(runningProcesses(noop).sort()).toEqual(runningProcesses(state).sort());
});

test('a PostgreSQL the operator restarted with pg_ctl is seen by bamboo cluster status and stopped by bamboo cluster down', async () => {
  const pgdata = state.postgres.dataDir;
  expect(processesIn(pgdata)).toContain(state.postgres.pid);
  // As an operator would; pg_ctl refuses root, so as the postgres user then. The restart reuses
  // the options of the running postmaster (postmaster.opts): the same port, no Unix socket.
  const pgCtl = [join(state.postgres.bin, 'pg_ctl'), '-D', pgdata, 'restart', '-m', 'fast', '-l', join(pgdata, 'pg_ctl.log')];
  const [command, ...args] = asRoot ? ['runuser', '-u', 'postgres', '--', ...pgCtl] : pgCtl;
  succeeded(await runCommand(command, args, userEnv(), 120_000));
  const restarted = postmasterPid(pgdata);
  expect(restarted).not.toBe(state.postgres.pid);

  const status = JSON.parse(succeeded(await bamboo(['--json', 'cluster', 'status', '--dir', dir])).stdout) as { components: { name: string; pid?: number; running: boolean }[] };
  expect(status.components.find((c) => c.name === 'postgresql')).toMatchObject({ pid: restarted, running: true });

  succeeded(await bamboo(['cluster', 'down', '--dir', dir]));
  expect(processesIn(pgdata)).toEqual([]);
  expect(runningProcesses(state)).toEqual([]);
});
