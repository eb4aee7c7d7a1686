/**
 * The pieces of `bamboo cluster` that need no Temporal server: the server configuration it
 * writes, its state file, and how it starts and stops processes (only the ones it started).
 * The cluster itself runs in CI (`.ci/run`: the integration core against `bamboo cluster up`).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upSettings } from '../../cli/cluster/command';
import { DYNAMIC_CONFIG_FILE, serverConfig, UP_DEFAULTS, TEMPORAL_SERVICES, type ServicePorts, type TemporalService } from '../../cli/cluster/config';
import { runningPostmaster, stopPostgres } from '../../cli/cluster/postgres';
import { freePort, isRunning, logTail, runsIn, spawnDaemon, stopProcess } from '../../cli/cluster/processes';
import { ClusterStateSchema, readState, writeState, type ClusterState } from '../../cli/cluster/state';
import { checkUnchangeable, type UpOptions } from '../../cli/cluster/up';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-cluster-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function ports(): Promise<Record<TemporalService, ServicePorts>> {
  const out = {} as Record<TemporalService, ServicePorts>;
  for (const name of TEMPORAL_SERVICES) out[name] = { grpc: await freePort(), membership: await freePort(), ...(name === 'frontend' ? { http: await freePort() } : {}) };
  return out;
}

test('the server config puts every service on its own loopback ports, on PostgreSQL with the shared dynamic config', async () => {
  const p = await ports();
  const config = serverConfig({ postgresPort: 25432, ports: p, historyShards: 4, logLevel: 'warn' });
  const used = Object.values(config.services).flatMap((s) => [s.rpc.grpcPort, s.rpc.membershipPort, ...('httpPort' in s.rpc ? [s.rpc.httpPort] : [])]);
  expect(new Set(used).size).toBe(used.length);
  // Membership ports are stored in a PostgreSQL smallint.
  for (const port of used) expect(port).toBeLessThan(32768);
  expect(Object.values(config.services).every((s) => s.rpc.bindOnIP === '127.0.0.1')).toBe(true);
  expect(config.persistence.numHistoryShards).toBe(4);
  for (const store of Object.values(config.persistence.datastores)) expect(store.sql).toMatchObject({ pluginName: 'postgres12', connectAddr: '127.0.0.1:25432' });
  expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe(`127.0.0.1:${p.frontend.grpc}`);
  expect(config.dynamicConfigClient.filepath).toBe(DYNAMIC_CONFIG_FILE);
  expect(existsSync(DYNAMIC_CONFIG_FILE)).toBe(true);
});

function recordedState(): ClusterState {
  return ClusterStateSchema.parse({
    version: 1,
    dir,
    startedAt: new Date().toISOString(),
    serverVersion: 'v1.29.1',
    address: '127.0.0.1:7233',
    namespace: 'default',
    taskQueue: 'bamboo',
    historyShards: 4,
    server: { binary: '/x/server', root: dir, env: 'cluster' },
    postgres: { port: 25432, bin: '/usr/lib/postgresql/15/bin', dataDir: join(dir, 'pgdata'), log: join(dir, 'pg.log'), marker: 'postgres', pid: 123 },
    services: { history: { pid: 124, marker: '/x/server', log: join(dir, 'history.log'), ports: { grpc: 20001, membership: 20002 } } },
    workers: [{ pid: 125, marker: 'bamboo.js', log: join(dir, 'w.log') }],
  });
}

test('the state file round-trips, and a damaged one fails naming the field', () => {
  const state = recordedState();
  writeState(state);
  expect(readState(dir)).toEqual(state);
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ ...state, address: 7233 }));
  expect(() => readState(dir)).toThrow(/address/);
  rmSync(join(dir, 'cluster.json'));
  expect(readState(dir)).toBeUndefined();
});

test('a daemon outlives its start, is found by its marker, and is stopped by its pid', async () => {
  const log = join(dir, 'sleep.log');
  const pid = spawnDaemon('sleep', ['300'], { logFile: log });
  expect(isRunning(pid, 'sleep')).toBe(true);
  // A reused pid (one that runs something else) is left alone.
  expect(isRunning(pid, 'postgres')).toBe(false);
  expect(await stopProcess(pid, 'postgres')).toBe('not running');
  expect(isRunning(pid, 'sleep')).toBe(true);
  expect(await stopProcess(pid, 'sleep', 5000)).toBe('stopped');
  expect(isRunning(pid, 'sleep')).toBe(false);
});

test('a daemon that ignores SIGTERM is killed after the grace period', async () => {
  const pid = spawnDaemon('sh', ['-c', 'trap "" TERM; while :; do sleep 1; done'], { logFile: join(dir, 'stubborn.log') });
  await new Promise((r) => setTimeout(r, 200));
  expect(await stopProcess(pid, 'sh', 500)).toBe('killed');
  expect(isRunning(pid, 'sh')).toBe(false);
});

test("a failed start is explained by the server's error lines, without their stack traces", () => {
  const log = join(dir, 'history.log');
  writeFileSync(
    log,
    [
      '2026/01/01 Loading config files=[x]',
      JSON.stringify({ level: 'info', msg: 'started' }),
      JSON.stringify({ level: 'fatal', msg: 'unable to initialize membership heartbeats', error: 'pq: value "46043" is out of range for type smallint', stacktrace: 'go.temporal.io/…' }),
    ].join('\n'),
  );
  expect(logTail(log)).toBe('fatal: unable to initialize membership heartbeats — pq: value "46043" is out of range for type smallint');
  writeFileSync(log, 'plain text\nlast line');
  expect(logTail(log)).toBe('plain text\nlast line');
});

test("a data directory's PostgreSQL is the pid its postmaster.pid names while that pid works there, and is stopped by it whoever started it", async () => {
  const dataDir = join(dir, 'pgdata-fake');
  mkdirSync(dataDir);
  // A stand-in postmaster: a process working in the data directory, as a postmaster does, that up did not record.
  const postmaster = spawnDaemon('sleep', ['300'], { logFile: join(dir, 'postmaster.log'), cwd: dataDir });
  const elsewhere = spawnDaemon('sleep', ['300'], { logFile: join(dir, 'elsewhere.log'), cwd: dir });
  await new Promise((r) => setTimeout(r, 100));
  const pidFile = (pid: number) => writeFileSync(join(dataDir, 'postmaster.pid'), `${pid}\n${dataDir}\n1700000000\n25432\n\n127.0.0.1\n  1234  5678\nready   \n`);

  expect(runningPostmaster(dataDir)).toBeUndefined(); // no postmaster.pid
  pidFile(elsewhere); // left by a crash, its pid since reused by a process working elsewhere
  expect(runningPostmaster(dataDir)).toBeUndefined();
  expect(await stopPostgres(dataDir, elsewhere)).toEqual({ pid: elsewhere, outcome: 'not running' });
  expect(isRunning(elsewhere, 'sleep')).toBe(true);

  pidFile(postmaster);
  expect(runningPostmaster(dataDir)).toEqual({ pid: postmaster, port: 25432 });
  // The recorded pid is another (the operator restarted it): the one serving the data directory is stopped.
  expect(await stopPostgres(dataDir, 999_999)).toEqual({ pid: postmaster, outcome: 'stopped' });
  expect(runsIn(postmaster, dataDir)).toBe(false);
  expect(runningPostmaster(dataDir)).toBeUndefined();
  await stopProcess(elsewhere, 'sleep', 5000);
});

describe('bamboo cluster up on a cluster of which some processes run', () => {
  const flags = { workers: 2, port: 7233, uiPort: 8080, ui: true, historyShards: 4, logLevel: 'warn' };
  const running = () => ({ ...recordedState(), address: '127.0.0.1:25001', workers: [1, 2, 3].map((pid) => ({ pid, marker: 'bamboo.js', log: 'w.log' })), logLevel: 'info' });

  test("takes the running cluster's settings for every flag not given, so the first up's flags or none start only what is down", () => {
    const none = () => false;
    expect(upSettings(flags, none, undefined, {})).toEqual({ workers: 2, port: 7233, uiPort: 8080, historyShards: 4, logLevel: 'warn', namespace: 'default', taskQueue: UP_DEFAULTS.taskQueue });
    expect(upSettings(flags, none, running(), {})).toEqual({ workers: 3, port: 25001, uiPort: undefined, historyShards: 4, logLevel: 'info', namespace: 'default', taskQueue: 'bamboo' });
    const given = new Set(['workers', 'ui']);
    expect(upSettings({ ...flags, workers: 1, ui: false }, (flag) => given.has(flag), running(), {})).toMatchObject({ workers: 1, port: 25001, uiPort: undefined });
    expect(upSettings(flags, (flag) => flag === 'uiPort', running(), { namespace: 'other' })).toMatchObject({ uiPort: 8080, namespace: 'other' });
  });

  test('refuses, naming each, the settings that would need what runs restarted', () => {
    const wanted: UpOptions = { dir, workers: 2, port: 25001, historyShards: 4, namespace: 'default', taskQueue: 'bamboo', logLevel: 'warn', log: () => undefined };
    expect(() => checkUnchangeable(running(), wanted)).not.toThrow();
    expect(() => checkUnchangeable(running(), { ...wanted, port: 0, workers: 5 })).not.toThrow(); // any port; workers scale
    expect(() => checkUnchangeable(running(), { ...wanted, port: 7233, namespace: 'other' })).toThrow(
      /its frontend listens on 25001, not --port 7233; its namespace is default, not other\. .*`bamboo cluster down` first/,
    );
  });
});
