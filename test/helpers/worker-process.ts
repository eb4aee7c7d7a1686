/**
 * A Bamboo worker as a real process, so a test can SIGKILL it mid-run: `bamboo worker`'s entry
 * point (or, with `toolsModule`, test/fixtures/tool-worker.ts serving that module's tools) on any
 * server and task queue; or `npm run worker` exactly as a user runs it.
 */
import { startProcess, userEnv, type ManagedProcess } from './processes';
import { testServer } from './temporal';

/** The test tools (a hanging tool, tools with a countable side effect), for `toolsModule`. */
export const TEST_TOOLS = 'test/fixtures/test-tools.ts';

export interface WorkerProcessOptions {
  taskQueue: string;
  /** Default: the test run's dev server. */
  address?: string;
  /** Default: the test run's namespace. */
  namespace?: string;
  /** A prebuilt workflow bundle; default: the test run's (test/workflows). */
  bundlePath?: string;
  /** Extra environment (BAMBOO_CONFIG, BAMBOO_ENCRYPTION_KEY…). */
  env?: Record<string, string>;
  /**
   * A module (path from the project root) whose `tools()` are the worker's tool registry: runs
   * test/fixtures/tool-worker.ts instead of `bamboo worker`.
   */
  toolsModule?: string;
  /** Its name in error messages and the reliability suite's output checks (default `worker(<task queue>)`). */
  label?: string;
}

/**
 * Starts the worker and resolves once it serves the task queue (or fails within 90 s, the
 * process killed). `node --import tsx` (not the tsx CLI, which relays signals to a child of its
 * own) keeps it one process: `kill('SIGKILL')` hits the worker itself, as a crash would.
 */
/** The heartbeat throttle test workers run with, unless a test sets its own. */
export const TEST_HEARTBEAT_THROTTLE = '2s';

export async function startWorkerProcess(options: WorkerProcessOptions): Promise<ManagedProcess> {
  const entry = options.toolsModule ? ['test/fixtures/tool-worker.ts'] : ['cli/main.ts', 'worker'];
  const worker = startProcess(options.label ?? `worker(${options.taskQueue})`, process.execPath, ['--import', 'tsx', ...entry], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.address ?? testServer().address,
      TEMPORAL_NAMESPACE: options.namespace ?? testServer().namespace,
      BAMBOO_TASK_QUEUE: options.taskQueue,
      BAMBOO_WORKFLOW_BUNDLE: options.bundlePath ?? testServer().bundlePath,
      ...(options.toolsModule ? { BAMBOO_TEST_TOOLS_MODULE: options.toolsModule } : {}),
      // Cancels reach streaming calls within 2 s, so tests that cancel wait 2 s, not 24
      // (test/integration/heartbeats.test.ts covers the default).
      BAMBOO_HEARTBEAT_THROTTLE: TEST_HEARTBEAT_THROTTLE,
      ...options.env,
    },
  });
  return ready(worker, 90_000);
}

/**
 * `npm run worker` as a user types it: the user's environment plus `env` (TEMPORAL_ADDRESS…),
 * its own process group (so `kill` reaches npm and the worker, as Ctrl-C does), no prebuilt
 * workflow bundle (it bundles at start).
 */
export async function startNpmWorker(env: Record<string, string>): Promise<ManagedProcess> {
  return ready(startProcess('npm run worker', 'npm', ['run', 'worker'], { env: userEnv(env), ownGroup: true }), 180_000);
}

/** Both entry points print `bamboo worker: <address> …` once they poll the task queue. */
async function ready(worker: ManagedProcess, timeoutMs: number): Promise<ManagedProcess> {
  try {
    await worker.waitForOutput('bamboo worker:', timeoutMs);
  } catch (error) {
    await worker.kill('SIGKILL');
    throw error;
  }
  return worker;
}
