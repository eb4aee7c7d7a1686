/**
 * Building a Bamboo worker: workflows from `workflows/` (or a prebuilt bundle) and the
 * activities wired with real dependencies. Used by `npm run worker`, the demo and tests.
 */
import type { Deployment } from './versioning';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { ActivityDeps } from './activities';
import { defaultProviderRegistry } from './providers/defaults';
import { createToolRegistry, type ToolDefinition } from './tools/types';
import { BUILTIN_TOOLS } from './tools/builtin';
import { encodesFailures, WORKFLOW_INTERCEPTOR_MODULES } from './codec/worker-data-converter';
import { bundleEncodesFailures } from './bundle';
import { BambooPlugin, WORKFLOWS_PATH } from './plugin';
import { observabilitySettings } from './observability';

export { WORKFLOWS_PATH };

export interface BambooWorkerOptions {
  connection: NativeConnection;
  client: Client;
  namespace: string;
  taskQueue: string;
  /** Path of a prebuilt workflow bundle; else `workflowsPath` (default: Bamboo's workflows alone) is bundled. */
  workflowBundlePath?: string;
  workflowsPath?: string;
  deps?: Partial<Omit<ActivityDeps, 'client'>>;
  /**
   * MCP servers' tools (worker/tools/mcp), offered next to the built-in ones unless `deps.tools`
   * is given. The caller owns their connections and closes them after the worker stops.
   */
  mcpTools?: readonly ToolDefinition[];
  /** Payload codecs (e.g. encryption). `client` must use the same: activities read through it.
   *  The worker always adds Bamboo's payload converter, lenient for signal arguments only, and
   *  the workflow interceptor that makes it so (worker/codec/worker-data-converter.ts). */
  dataConverter?: DataConverter;
  /** Join a worker deployment as this version (Worker Versioning); default: off. */
  deployment?: Deployment;
  /** Extra Worker options (tests use this for tuning). */
  tuning?: Partial<WorkerOptions>;
}

export async function createBambooWorker(options: BambooWorkerOptions): Promise<Worker> {
  const deps = options.deps ?? {};
  const plugin = new BambooPlugin(
    // The worker host's traces and metrics come from the environment (docs/observability.md).
    { client: options.client, runners: deps.runners, toolPolicy: deps.toolPolicy, closeWatches: deps.closeWatches, observability: observabilitySettings(), ...(options.deployment ? { deployment: options.deployment } : {}) },
    {
      providers: deps.providers ?? defaultProviderRegistry(),
      tools: deps.tools ?? createToolRegistry([...BUILTIN_TOOLS, ...(options.mcpTools ?? [])]),
    },
  );
  // Traces or metrics on (worker/observability): their workflow modules are bundled at start.
  const observed = plugin.workflowInterceptorModules.length > WORKFLOW_INTERCEPTOR_MODULES.length;
  const bundlePath = observed ? undefined : options.workflowBundlePath;
  if (bundlePath) checkBundle(bundlePath, encodesFailures(options.dataConverter));
  // The plugin configures the options here rather than in Worker.create, so that `tuning` has
  // the last word (a test's workflows-only worker sets `activities: undefined`).
  const configured = plugin.configureWorker({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : options.workflowsPath ? { workflowsPath: options.workflowsPath } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
  return Worker.create({ ...configured, ...options.tuning });
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
