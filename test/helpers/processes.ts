/** Real processes in tests: whether one is alive, and commands run the way a user runs them. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

/** Whether a process still exists: process.kill(pid, 0) throws ESRCH once it is gone (a zombie still exists). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (in the project directory) and returns its exit code and output. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(command, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The environment of a user's shell: this process's, without the test run's Temporal and
 * Bamboo settings, plus `extra`.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(BAMBOO_|TEMPORAL_)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running command, by default started like a terminal job: in its own process group. */
export interface JobProcess {
  label: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  alive(): boolean;
  exited: Promise<ProcessExit>;
  /** Resolves once the output contains `marker`; fails if the process ends first or after `timeoutMs`. */
  waitForOutput(marker: string | RegExp, timeoutMs: number): Promise<void>;
  /** Sends `signal` to its process group (SIGINT = Ctrl-C in its terminal) and waits for the command to end. */
  signalGroup(signal: NodeJS.Signals): Promise<ProcessExit>;
}

export function startJob(label: string, command: string, args: string[], env: NodeJS.ProcessEnv, options: { ownGroup?: boolean } = {}): JobProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.ownGroup ?? true });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<ProcessExit>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const pid = child.pid ?? -1;
  return {
    label,
    child,
    pid,
    output: () => output,
    alive,
    exited,
    async waitForOutput(marker, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (typeof marker === 'string' ? output.includes(marker) : marker.test(output)) return;
        if (!alive()) throw new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before printing ${String(marker)}:\n${output.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`${label} did not print ${String(marker)} within ${timeoutMs} ms:\n${output.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async signalGroup(signal) {
      try {
        process.kill(-pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      return exited;
    },
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
