/**
 * Real processes the reliability suite starts and kills: Bamboo workers (`bamboo worker`, as
 * test/helpers/worker-process.ts but against any server and with extra environment), a
 * Temporal dev server whose log the suite reads (for the load figures), and an A2A agent in its
 * own process (so it can be SIGKILLed). Every process started here is remembered by pid and
 * ended by `stopAllProcesses()`.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { BAMBOO_SEARCH_ATTRIBUTES } from '../../../common';
import { findTemporalCli } from '../../../src/temporal/cli-binary';
import { testServer } from '../../helpers/temporal';
import { ROOT } from './paths';
import { freePort, sleep } from './util';

export interface ManagedProcess {
  label: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  alive(): boolean;
  kill(signal: NodeJS.Signals): Promise<void>;
}

const started: ManagedProcess[] = [];

function manage(label: string, child: ChildProcess): ManagedProcess {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const managed: ManagedProcess = {
    label,
    child,
    pid: child.pid ?? -1,
    output: () => output,
    alive,
    async kill(signal) {
      if (alive()) child.kill(signal);
      await exited;
    },
  };
  started.push(managed);
  return managed;
}

async function waitForOutput(proc: ManagedProcess, marker: string | RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const out = proc.output();
    if (typeof marker === 'string' ? out.includes(marker) : marker.test(out)) return;
    if (!proc.alive()) throw new Error(`${proc.label} exited (${proc.child.exitCode ?? proc.child.signalCode}) before starting:\n${out.slice(-4000)}`);
    await sleep(100);
  }
  await proc.kill('SIGKILL');
  throw new Error(`${proc.label} did not start within ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
}

export interface WorkerTarget {
  address: string;
  namespace?: string;
  taskQueue: string;
  /** Extra environment (BAMBOO_CONFIG…). */
  env?: Record<string, string>;
  label?: string;
}

/** `bamboo worker` as a real process (node --import tsx: one process, so SIGKILL hits the worker itself). */
export async function startWorker(target: WorkerTarget): Promise<ManagedProcess> {
  const { namespace, bundlePath } = testServer();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: target.address,
      TEMPORAL_NAMESPACE: target.namespace ?? namespace,
      BAMBOO_TASK_QUEUE: target.taskQueue,
      BAMBOO_WORKFLOW_BUNDLE: bundlePath,
      ...target.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = manage(target.label ?? `worker(${target.taskQueue})`, child);
  await waitForOutput(proc, 'bamboo worker:', 90_000);
  return proc;
}

export interface LoggedDevServer {
  address: string;
  namespace: string;
  process: ManagedProcess;
  /** Server log lines at level ERROR (or worse). */
  errorLines(): string[];
  /** Server log lines at level WARN. */
  warnLines(): string[];
  stop(): Promise<void>;
}

/**
 * The Temporal CLI's dev server (the same binary and search attributes as the embedded
 * default), started directly so its log can be read. In memory unless `dbFilename`.
 */
export async function startLoggedDevServer(options: { dbFilename?: string } = {}): Promise<LoggedDevServer> {
  const cli = findTemporalCli({ build: false, allowDownload: false });
  if (cli.type !== 'existing-path') throw new Error('the Temporal CLI is not on this machine (run `npm run temporal-cli`)');
  const port = await freePort();
  const args = [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
    '--http-port', String(await freePort()), '--metrics-port', String(await freePort()),
    '--log-level', 'warn', '--log-format', 'json',
    ...BAMBOO_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
  ];
  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = manage(`dev-server:${port}`, child);
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      break;
    } catch (error) {
      if (!proc.alive() || Date.now() > deadline) {
        await proc.kill('SIGKILL');
        throw new Error(`dev server on ${address} did not start: ${String(error)}\n${proc.output().slice(-4000)}`);
      }
      await sleep(300);
    }
  }
  const lines = (level: RegExp) =>
    proc
      .output()
      .split('\n')
      .filter((line) => level.test(line));
  return {
    address,
    namespace: 'default',
    process: proc,
    errorLines: () => lines(/"level":"(error|dpanic|panic|fatal)"|level=(ERROR|FATAL)/i),
    warnLines: () => lines(/"level":"warn"|level=WARN/i),
    stop: () => proc.kill('SIGTERM'),
  };
}

/** The A2A test agent (test/helpers/a2a-server.ts) in a process of its own, so it can be SIGKILLed. */
export async function startA2AAgentProcess(requiredBearer?: string): Promise<{ agentCardUrl: string; process: ManagedProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/reliability/support/a2a-agent-main.ts'], {
    cwd: ROOT,
    env: { ...process.env, REL_A2A_BEARER: requiredBearer ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = manage('a2a-agent', child);
  await waitForOutput(proc, /agent card: (\S+)/, 60_000);
  const agentCardUrl = /agent card: (\S+)/.exec(proc.output())![1];
  return { agentCardUrl, process: proc };
}

const extraOutputs: { label: string; output: () => string }[] = [];

/** Output of something not started here (a CLI run, this process's console), for the secrets check. */
export function recordOutput(label: string, output: string | (() => string)): void {
  extraOutputs.push({ label, output: typeof output === 'string' ? () => output : output });
}

/** What every process the suite started (and everything recorded) has printed so far. */
export function processOutputs(): { label: string; output: string }[] {
  return [...started.map((p) => ({ label: p.label, output: p.output() })), ...extraOutputs.map((o) => ({ label: o.label, output: o.output() }))];
}

/** Ends every process this suite started (by pid) that is still running. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all(started.map((p) => p.kill('SIGKILL')));
}
