/**
 * Real processes in tests: long-running ones a test starts, watches and kills (workers, dev
 * servers, agents), commands run to their end the way a user runs them, and ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { eventuallyOrUndefined } from './eventually';

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

/** Runs a command to its end (in the project directory, or `cwd`) and returns its exit code and output. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000, cwd = ROOT): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
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

/** A long-running process a test started: its output so far, whether it runs, how to end it. */
export interface ManagedProcess {
  label: string;
  child: ChildProcess;
  pid: number;
  /** Its stdout and stderr so far, interleaved. */
  output(): string;
  alive(): boolean;
  exited: Promise<ProcessExit>;
  /** Resolves once the output contains `marker`; fails if the process ends first or after `timeoutMs`. */
  waitForOutput(marker: string | RegExp, timeoutMs: number): Promise<void>;
  /**
   * Sends `signal` and waits for the process to end: to its process group if it was started in
   * one of its own (as Ctrl-C reaches a whole terminal job), else to the process itself.
   */
  kill(signal: NodeJS.Signals): Promise<ProcessExit>;
}

export interface StartProcessOptions {
  /** Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** In a process group of its own, like a job started in a terminal (default: no). */
  ownGroup?: boolean;
  /** Default: the project directory. */
  cwd?: string;
}

const started: ManagedProcess[] = [];

/** Starts `command` in the project directory (or `options.cwd`), its output captured; remembered by `startedProcesses()`. */
export function startProcess(label: string, command: string, args: string[], options: StartProcessOptions = {}): ManagedProcess {
  const ownGroup = options.ownGroup ?? false;
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<ProcessExit>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const pid = child.pid ?? -1;
  const managed: ManagedProcess = {
    label,
    child,
    pid,
    output: () => output,
    alive,
    exited,
    async waitForOutput(marker, timeoutMs) {
      const printed = () => (typeof marker === 'string' ? output.includes(marker) : marker.test(output));
      const seen = await eventuallyOrUndefined(async () => (printed() ? 'printed' : !alive() && 'exited'), { timeoutMs, intervalMs: 100 });
      if (seen === 'exited') throw new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before printing ${String(marker)}:\n${output.slice(-4000)}`);
      if (!seen) throw new Error(`${label} did not print ${String(marker)} within ${timeoutMs} ms:\n${output.slice(-4000)}`);
    },
    async kill(signal) {
      try {
        if (ownGroup) process.kill(-pid, signal);
        else if (alive()) child.kill(signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      return exited;
    },
  };
  started.push(managed);
  return managed;
}

/** Every process this test file (or suite) started with `startProcess`, in order. */
export function startedProcesses(): readonly ManagedProcess[] {
  return started;
}

/** SIGKILLs every process this test file started that is still running (an `afterAll`). */
export async function killStartedProcesses(): Promise<void> {
  await Promise.all(started.map((p) => p.kill('SIGKILL')));
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

/** A TCP port free right now on 127.0.0.1. */
export { freePort } from '../../cli/temporal/dev-server';
