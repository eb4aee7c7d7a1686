/** Runs test/fixtures/tool-worker.ts as a real child process, so a test can SIGKILL it mid-call. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { WorkerProcess } from './worker-process';

const ROOT = resolve(__dirname, '..', '..');

/**
 * @param server the dev server (address, namespace) and, optionally, a prebuilt workflow bundle
 *   (else the process bundles test/workflows itself, a few seconds).
 */
export async function startToolWorkerProcess(
  taskQueue: string,
  server: { address: string; namespace: string; bundlePath?: string },
): Promise<WorkerProcess> {
  // node --import tsx (not the tsx CLI) keeps it one process: SIGKILL hits the worker itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/tool-worker.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      BAMBOO_TASK_QUEUE: taskQueue,
      BAMBOO_WORKFLOW_BUNDLE: server.bundlePath ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`tool worker did not start:\n${output}`)), 90_000);
    child.stdout!.on('data', () => {
      if (output.includes('tool worker: ready')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', (code) => fail(new Error(`tool worker exited (${code}) before starting:\n${output}`)));
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
