/**
 * A Bamboo worker as a real process: `bamboo worker`'s entry point against the test server
 * (so tests can SIGKILL it), or `npm run worker` exactly as a user runs it.
 */
import { startJob, userEnv, type JobProcess } from './processes';
import { testServer } from './temporal';

export interface WorkerProcess {
  child: JobProcess['child'];
  output(): string;
  /** Sends `signal` (to the worker process; for `npm run worker`, to its process group like Ctrl-C) and waits for it to end. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(taskQueue: string, extraEnv: Record<string, string> = {}): Promise<WorkerProcess> {
  const { address, namespace, bundlePath } = testServer();
  // node --import tsx (not the tsx CLI) keeps it one process: SIGKILL hits the worker itself.
  const job = startJob(`worker(${taskQueue})`, process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    BAMBOO_TASK_QUEUE: taskQueue,
    BAMBOO_WORKFLOW_BUNDLE: bundlePath,
    ...extraEnv,
  }, { ownGroup: false });
  return ready(job, 60_000, async (signal) => {
    if (job.alive()) job.child.kill(signal);
    await job.exited;
  });
}

/**
 * `npm run worker` as a user types it: the user's environment plus `env` (TEMPORAL_ADDRESS…),
 * its own process group, no prebuilt workflow bundle (it bundles at start).
 */
export async function startNpmWorker(env: Record<string, string>): Promise<WorkerProcess & { job: JobProcess }> {
  const job = startJob('npm run worker', 'npm', ['run', 'worker'], userEnv(env));
  const worker = await ready(job, 180_000, async (signal) => {
    await job.signalGroup(signal);
  });
  return { ...worker, job };
}

async function ready(job: JobProcess, timeoutMs: number, kill: WorkerProcess['kill']): Promise<WorkerProcess> {
  try {
    await job.waitForOutput('bamboo worker:', timeoutMs);
  } catch (error) {
    await kill('SIGKILL');
    throw error;
  }
  return { child: job.child, output: job.output, kill };
}
