/**
 * A private PostgreSQL for the cluster: its own data directory (initdb once), listening on one
 * loopback port only (no Unix socket), run as the invoking user — or, when that is root, as the
 * `postgres` system user, since PostgreSQL refuses to run as root. Loopback connections are
 * trusted; the `temporal` role (superuser, password `temporal`) mirrors the compose file's
 * POSTGRES_USER, so the server and the schema tool connect the same way in both.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runsIn, spawnDaemon, terminate, waitUntil } from './processes';

export const POSTGRES_USER = 'temporal';
export const POSTGRES_PASSWORD = 'temporal';

export interface PostgresPaths {
  bin: string;
  dataDir: string;
  logFile: string;
}

/** The PostgreSQL binaries: PG_BIN, else the newest /usr/lib/postgresql/<n>/bin, else PATH. */
export function findPostgresBin(): string {
  const fromEnv = process.env.PG_BIN?.trim();
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
  }
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath.replace(/\/initdb$/, '');
  throw new Error('PostgreSQL not found: install it (e.g. the Debian package postgresql) or set PG_BIN to its bin directory');
}

/** Who runs PostgreSQL: this user, or `postgres` when this is root. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (it refuses root)');
  }
}

/**
 * Makes `dir` (where the data directory goes) reachable for the user PostgreSQL runs as: nothing
 * to do unless we are root, for then PostgreSQL runs as `postgres`, which needs search permission
 * on every directory down to its data. `mktemp -d` makes 0700 directories, so as root the
 * cluster's own directory usually blocks it.
 *
 * `ownDirs` — the cluster's directory and those `up` created for it — are given search permission
 * for others (`o+x`: a name inside can be opened, none can be listed). That gives a local user no
 * more than PostgreSQL's trusted loopback connections give already. Any other directory that
 * blocks is left as it is: this throws, naming it and what to do. Returns the directories it changed.
 */
export function makeReachableForPostgres(dir: string, ownDirs: string[]): string[] {
  const user = runAs();
  if (user.uid === undefined) return [];
  const changed: string[] = [];
  for (;;) {
    const blocked = firstUnreachable(dir, user);
    if (blocked === undefined) return changed;
    if (!ownDirs.includes(blocked) || changed.includes(blocked)) {
      throw new Error(
        `PostgreSQL runs as the postgres user (bamboo runs as root, which PostgreSQL refuses), and ${blocked} does not let it reach ${join(dir, 'pgdata')}. ` +
          `Give it search permission (chmod o+x ${blocked}, or setfacl -m u:postgres:x ${blocked}), or choose a --dir it can reach (e.g. under /tmp or /var/tmp).`,
      );
    }
    chmodSync(blocked, statSync(blocked).mode | 0o001);
    changed.push(blocked);
  }
}

/** The first directory on the way to `dir` (itself included) that `user` may not search, tried as that user (ACLs and all). */
function firstUnreachable(dir: string, user: { uid?: number; gid?: number }): string | undefined {
  const result = spawnSync('sh', ['-c', 'for d; do [ -x "$d" ] || { printf %s "$d"; exit 1; }; done', 'sh', ...pathTo(dir)], { encoding: 'utf8', ...user });
  if (result.status === 0) return undefined;
  if (result.stdout) return result.stdout;
  throw new Error(`could not check whether the postgres user can reach ${dir}: ${result.error?.message ?? result.stderr}`);
}

/** `/`, `/a`, `/a/b` for `/a/b`. */
export function pathTo(dir: string): string[] {
  const path: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    path.unshift(d);
    if (d === dirname(d)) return path;
  }
}

/** Creates the data directory with initdb unless it exists already. Returns true when it was created. */
export function initPostgres(paths: PostgresPaths): boolean {
  if (existsSync(join(paths.dataDir, 'PG_VERSION'))) return false;
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const user = runAs();
  if (user.uid !== undefined) chownSync(paths.dataDir, user.uid, user.gid!);
  const result = spawnSync(join(paths.bin, 'initdb'), ['-D', paths.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-instructions'], {
    encoding: 'utf8',
    ...user,
  });
  if (result.status !== 0) throw new Error(`initdb failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  return true;
}

/** Starts the postmaster in the background; resolves with its pid once it accepts connections. */
export async function startPostgres(paths: PostgresPaths, port: number, maxConnections = 300): Promise<number> {
  const pid = spawnDaemon(
    join(paths.bin, 'postgres'),
    ['-D', paths.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', `max_connections=${maxConnections}`],
    { logFile: paths.logFile, ...runAs() },
  );
  const ready = await waitUntil(() => psql(paths.bin, port, 'postgres', 'SELECT 1').ok, 60_000, 300);
  if (!ready) throw new Error(`PostgreSQL did not accept connections on 127.0.0.1:${port} within 60 s (log: ${paths.logFile})`);
  return pid;
}

/**
 * The postmaster serving a data directory, whoever started it (`up`, or an operator's `pg_ctl`):
 * the pid and port its postmaster.pid names, while that pid still works in the data directory
 * (a file left by a crash may name a pid reused since).
 */
export function runningPostmaster(dataDir: string): { pid: number; port: number } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const [pid, port] = [Number(lines[0]), Number(lines[3])];
  return Number.isInteger(pid) && pid > 0 && runsIn(pid, dataDir) ? { pid, port } : undefined;
}

/**
 * Stops the PostgreSQL of a data directory by fast shutdown (SIGINT: clients disconnected, no
 * recovery needed at the next start): the postmaster its postmaster.pid names, so that one an
 * operator restarted with `pg_ctl` is stopped too; else the pid `up` recorded, if it still works
 * there (the file was removed). Its backends end with it.
 */
export async function stopPostgres(dataDir: string, recordedPid?: number): Promise<{ pid?: number; outcome: 'stopped' | 'killed' | 'not running' }> {
  const pid = runningPostmaster(dataDir)?.pid ?? recordedPid;
  return { pid, outcome: await terminate(pid, () => runsIn(pid!, dataDir), 30_000, 'SIGINT') };
}

/** The role the server and the schema tool use, as compose's POSTGRES_USER (idempotent). */
export function ensureTemporalRole(bin: string, port: number): void {
  const sql = `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${POSTGRES_USER}') THEN CREATE ROLE ${POSTGRES_USER} LOGIN SUPERUSER PASSWORD '${POSTGRES_PASSWORD}'; END IF; END $$;`;
  const result = psql(bin, port, 'postgres', sql);
  if (!result.ok) throw new Error(`could not create the ${POSTGRES_USER} role: ${result.output}`);
}

/** Runs one statement with psql over TCP; the first column of the result rows, unaligned. */
export function psql(bin: string, port: number, database: string, sql: string, user = 'postgres'): { ok: boolean; output: string } {
  const result = spawnSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { ok: result.status === 0, output: (result.status === 0 ? result.stdout : result.stderr || result.stdout || '').trim() };
}
