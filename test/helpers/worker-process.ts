/** Runs `npm run worker`'s entry point as a real child process (so tests can SIGKILL it). */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { testServer } from './temporal';

const ROOT = resolve(__dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(taskQueue: string, extraEnv: Record<string, string> = {}): Promise<WorkerProcess> {
  const { address, namespace, bundlePath } = testServer();
  // node --import tsx (not the tsx CLI) keeps it one process: SIGKILL hits the worker itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      BAMBOO_TASK_QUEUE: taskQueue,
      BAMBOO_WORKFLOW_BUNDLE: bundlePath,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker did not start:\n${output}`)), 60_000);
    const onData = () => {
      if (output.includes('bamboo worker:')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`worker exited (${code}) before starting:\n${output}`)));
  });
  return {
    child,
    output: () => output,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
