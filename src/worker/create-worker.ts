/**
 * Building a Bamboo worker: workflows from `workflows/` (or a prebuilt bundle) and the
 * activities wired with real dependencies. Used by `npm run worker`, the demo and tests.
 */
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { defaultProviderRegistry } from '../providers/defaults';
import { createToolRegistry, type ToolDefinition } from '../tools/types';
import { BUILTIN_TOOLS } from '../tools/builtin';
import { encodesFailures, workerDataConverter, WORKFLOW_INTERCEPTOR_MODULES } from '../codec/worker-data-converter';
import { bundleEncodesFailures, PRELOADED_WORKFLOW_MODULES } from './bundle';
import { workerObservability } from '../observability';

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export interface BambooWorkerOptions {
  connection: NativeConnection;
  client: Client;
  namespace: string;
  taskQueue: string;
  /** Path of a prebuilt workflow bundle; else `workflowsPath` (default: workflows/) is bundled. */
  workflowBundlePath?: string;
  workflowsPath?: string;
  deps?: Partial<Omit<ActivityDeps, 'client'>>;
  /**
   * MCP servers' tools (src/tools/mcp), offered next to the built-in ones unless `deps.tools`
   * is given. The caller owns their connections and closes them after the worker stops.
   */
  mcpTools?: readonly ToolDefinition[];
  /** Payload codecs (e.g. encryption). `client` must use the same: activities read through it.
   *  The worker always adds Bamboo's payload converter, lenient for signal arguments only, and
   *  the workflow interceptor that makes it so (src/codec/worker-data-converter.ts). */
  dataConverter?: DataConverter;
  /** Extra Worker options (tests use this for tuning). */
  tuning?: Partial<WorkerOptions>;
}

export async function createBambooWorker(options: BambooWorkerOptions): Promise<Worker> {
  const deps: ActivityDeps = {
    client: options.client,
    providers: options.deps?.providers ?? defaultProviderRegistry(),
    tools: options.deps?.tools ?? createToolRegistry([...BUILTIN_TOOLS, ...(options.mcpTools ?? [])]),
    runners: options.deps?.runners ?? [],
    toolPolicy: options.deps?.toolPolicy,
    closeWatches: options.deps?.closeWatches,
  };
  // Traces or metrics on (src/observability): their workflow modules are bundled at start.
  const observed = await workerObservability(deps.providers);
  const bundlePath = observed?.workflowModules.length ? undefined : options.workflowBundlePath;
  if (bundlePath) checkBundle(bundlePath, encodesFailures(options.dataConverter));
  const workflowModules = [...WORKFLOW_INTERCEPTOR_MODULES, ...(observed?.workflowModules ?? [])];
  const workflowSource = bundlePath
    ? { workflowBundle: { codePath: bundlePath } }
    : // A prebuilt bundle has the interceptors built in (bundle.ts); here they are bundled at start.
      { workflowsPath: options.workflowsPath ?? WORKFLOWS_PATH, bundlerOptions: { preloadModules: [...PRELOADED_WORKFLOW_MODULES] } };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...workflowSource,
    interceptors: { ...(bundlePath ? {} : { workflowModules }), ...(observed ? { activity: observed.activity } : {}) },
    ...(observed?.sinks ? { sinks: observed.sinks } : {}),
    activities: createActivities(deps),
    dataConverter: workerDataConverter(options.dataConverter),
    // Cancellation and liveness travel in heartbeat responses: flush them often enough
    // that a cancel reaches a streaming call within a couple of seconds.
    maxHeartbeatThrottleInterval: '2s',
    defaultHeartbeatThrottleInterval: '2s',
    ...options.tuning,
  });
}

/** A prebuilt bundle's failure converter is fixed: it must be the one this worker uses. */
function checkBundle(path: string, encodeFailures: boolean): void {
  if (bundleEncodesFailures(path) === encodeFailures) return;
  throw new Error(
    `the workflow bundle ${path} was built ${encodeFailures ? 'without' : 'with'} failure encoding, but this worker ` +
      `${encodeFailures ? 'encrypts' : 'does not encrypt'} payloads: build it with \`npm run bundle-workflows -- ` +
      `${encodeFailures ? '--encode-failures ' : ''}<out.js>\`, or leave BAMBOO_WORKFLOW_BUNDLE unset to bundle at start`,
  );
}
