/**
 * The cluster's long-lived processes: started detached (each in its own process group, output to
 * a log file) so they outlive `bamboo cluster up`, and stopped by the pid recorded in the state
 * file — only after checking that the pid still runs the program we started (pids are reused).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { connect, createServer } from 'node:net';

export interface DaemonOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr go here (appended). */
  logFile: string;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
}

/** Starts a program in its own process group, detached from this one; returns its pid. */
export function spawnDaemon(command: string, args: string[], options: DaemonOptions): number {
  const out = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
      uid: options.uid,
      gid: options.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.on('error', () => undefined); // reported through isRunning / the log
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** The program a pid runs, from /proc (undefined when it is gone or a zombie). */
function commandLine(pid: number): string[] | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(status)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and its command line contains `marker` (the binary or script we started). */
export function isRunning(pid: number | undefined, marker: string): boolean {
  if (!pid) return false;
  const argv = commandLine(pid);
  return argv !== undefined && argv.some((arg) => arg.includes(marker));
}

/**
 * Stops a process we started: `signal` (SIGTERM) to its group, SIGKILL after `graceMs`; resolves once it is
 * gone. A pid that no longer runs `marker` is left alone.
 */
export function stopProcess(
  pid: number | undefined,
  marker: string,
  graceMs = 15_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<'stopped' | 'killed' | 'not running'> {
  return terminate(pid, () => isRunning(pid, marker), graceMs, signal);
}

/**
 * Stops `pid` while `alive()` says it is still the process meant: `signal` to its group, SIGKILL
 * after `graceMs`; resolves once `alive()` is false.
 */
export async function terminate(
  pid: number | undefined,
  alive: () => boolean,
  graceMs: number,
  signal: NodeJS.Signals,
): Promise<'stopped' | 'killed' | 'not running'> {
  if (!pid || !alive()) return 'not running';
  signalGroup(pid, signal);
  if (await waitUntil(() => !alive(), graceMs)) return 'stopped';
  signalGroup(pid, 'SIGKILL');
  await waitUntil(() => !alive(), 10_000);
  return 'killed';
}

/** True when `pid` is alive (not a zombie) and works in `dir` — as a postmaster works in its data directory. */
export function runsIn(pid: number, dir: string): boolean {
  if (commandLine(pid) === undefined) return false;
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dir);
  } catch {
    return false; // gone, or the directory is
  }
}

/** Sends a signal to the process group a daemon leads (and to the pid, should it have left it). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const taken = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, below Linux's ephemeral range (so no
 * outgoing connection takes it meanwhile) and below 32768 (the server stores membership ports as
 * a PostgreSQL smallint).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port) || !(await canListen(port))) continue;
    taken.add(port);
    return port;
  }
  throw new Error('no free port in 20000-31999 on 127.0.0.1');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    // `on`, not `once`: a socket destroyed by the timeout may still report an error, and an
    // 'error' with no listener left would crash the launcher.
    socket.on('error', () => done(false));
  });
}

/**
 * What a log says about a failed start: the server's JSON lines at level error or fatal (message
 * and error only, no stack traces), else the last `bytes` of the file.
 */
export function logTail(path: string, bytes = 3000): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  const errors = text
    .split('\n')
    .filter((line) => line.startsWith('{') && /"level":"(error|fatal|dpanic|panic)"/.test(line))
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return `${entry.level}: ${entry.msg}${entry.error ? ` — ${entry.error}` : ''}`;
      } catch {
        return line.slice(0, 300);
      }
    });
  return errors.length > 0 ? errors.slice(-5).join('\n') : text.slice(-bytes).trim();
}
