/**
 * Real processes of the reliability suite besides workers (test/helpers/worker-process.ts): a
 * Temporal dev server whose log the suite reads (for the load figures), one on a SQLite file that
 * a scenario stops and starts again, and an A2A agent in its own process (so it can be SIGKILLed). Every process the suite starts (test/helpers/processes.ts
 * remembers them) is checked for leaked secrets and ended by `stopAllProcesses()`.
 */
import { Connection } from '@temporalio/client';
import { join } from 'node:path';
import { errorMessage } from '../../../common';
import { findTemporalCli } from '../../../cli/temporal/cli-binary';
import { searchAttributeArgs, startDevServer, type DevServer } from '../../../cli/temporal/dev-server';
import { eventually } from '../../helpers/eventually';
import { freePort, killStartedProcesses, startedProcesses, startProcess, type ManagedProcess } from '../../helpers/processes';
import { registerServer, type KnownServer } from './context';
import { RELIABILITY_OUT } from './paths';

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
  const cli = findTemporalCli({ install: false });
  const port = await freePort();
  const args = [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
    '--http-port', String(await freePort()), '--metrics-port', String(await freePort()),
    '--log-level', 'warn', '--log-format', 'json',
    ...searchAttributeArgs(),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
  ];
  const proc = startProcess(`dev-server:${port}`, cli.path, args);
  const address = `127.0.0.1:${port}`;
  try {
    const up = await eventually(
      async () => {
        try {
          const connection = await Connection.connect({ address, connectTimeout: 2000 });
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          await connection.close();
          return 'up';
        } catch (error) {
          if (!proc.alive()) return 'exited';
          throw error;
        }
      },
      { timeoutMs: 60_000, intervalMs: 300, what: `the dev server on ${address}` },
    );
    if (up === 'exited') throw new Error(`it exited (${proc.child.exitCode ?? proc.child.signalCode})`);
  } catch (error) {
    await proc.kill('SIGKILL');
    throw new Error(`dev server on ${address} did not start: ${errorMessage(error, { causes: 3 })}\n${proc.output().slice(-4000)}`);
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
    async stop() {
      await proc.kill('SIGTERM');
    },
  };
}

export interface RestartableServer {
  /** As registered for the suite (task queues by scenario; stopped at the end). */
  known: KnownServer;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port and SQLite file. */
  restart(): Promise<DevServer>;
}

/**
 * The product's dev server (startDevServer) on a SQLite file in test-output/reliability/ and a free
 * port, registered as `label`: the suite stops it at the end, and the secrets scenario exports its
 * histories. A scenario stops it and `restart()`s it to take the server away mid-run.
 */
export async function startRestartableServer(label: string, file: string): Promise<RestartableServer> {
  const dbFilename = join(RELIABILITY_OUT, file);
  const port = await freePort();
  let server = await startDevServer({ dbFilename, port });
  const known = registerServer({ label, address: server.address, namespace: server.namespace, taskQueues: new Map(), stop: () => server.stop() });
  return {
    known,
    port,
    stop: () => server.stop(),
    async restart() {
      server = await startDevServer({ dbFilename, port });
      return server;
    },
  };
}

/** The A2A test agent (test/helpers/a2a-server.ts) in a process of its own, so it can be SIGKILLed. */
export async function startA2AAgentProcess(requiredBearer?: string): Promise<{ agentCardUrl: string; process: ManagedProcess }> {
  const proc = startProcess('a2a-agent', process.execPath, ['--import', 'tsx', 'test/reliability/support/a2a-agent-main.ts'], {
    env: { ...process.env, REL_A2A_BEARER: requiredBearer ?? '' },
  });
  try {
    await proc.waitForOutput(/agent card: (\S+)/, 60_000);
  } catch (error) {
    await proc.kill('SIGKILL');
    throw error;
  }
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
  return [...startedProcesses().map((p) => ({ label: p.label, output: p.output() })), ...extraOutputs.map((o) => ({ label: o.label, output: o.output() }))];
}

/** Ends every process this suite started (by pid) that is still running. */
export const stopAllProcesses = killStartedProcesses;
