/**
 * Runs a Bamboo worker until SIGINT/SIGTERM (graceful shutdown): configuration from
 * BAMBOO_CONFIG, connection from envconfig (overridable), search attributes checked first.
 * MCP servers are connected and their tools listed before the worker polls; their
 * connections (and stdio servers' processes) are closed once it has stopped.
 */
import type { Client } from '@temporalio/client';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEFAULT_DEPLOYMENT_NAME, defaultBuildId, type Deployment } from '../worker/versioning';
import { encryptionCodecFromEnv } from '../worker/codec/aes-gcm';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../worker/config/load';
import { readEnv, workerSizing, type BambooEnv } from '../worker/config/env';
import { connectClient, connectWorkerConnection, resolveTemporalTarget } from './temporal/connection';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { connectMcpServers } from '../worker/tools/mcp';
import { buildWorkflowBundle, bundleEncodesFailures } from '../worker/bundle';
import { createBambooWorker, WORKFLOWS_PATH } from '../worker/create-worker';
import { observabilitySettings, shutdownTraces, type ObservabilitySettings } from '../worker/observability';
import { installMetricsRuntime, samplePendingRequests } from '../worker/observability/metrics';

export async function runWorker(options: { address?: string; namespace?: string } = {}): Promise<void> {
  const env = readEnv();
  const observability = observabilitySettings(); // a malformed OTEL_*/BAMBOO_METRICS_* stops the worker here, naming the variable
  if (observability.metrics) installMetricsRuntime(observability.metrics); // before the first connection: the runtime is process-wide
  const config = loadConfig();
  const codec = encryptionCodecFromEnv(); // a malformed BAMBOO_ENCRYPTION_KEY stops the worker here, naming the variable
  const dataConverter = codec ? { payloadCodecs: [codec] } : undefined;
  const target = resolveTemporalTarget();
  const resolved = { ...target, address: options.address ?? target.address, namespace: options.namespace ?? target.namespace };
  resolved.connectionOptions = { ...target.connectionOptions, address: resolved.address };
  const client = await connectClient(resolved, dataConverter);
  await ensureSearchAttributes(client, resolved.namespace).catch((error: unknown) => console.warn(`could not check search attributes: ${String(error)}`));
  const providers = providersFromConfig(config);
  const runners = runnersFromConfig(config);
  const mcp = await connectMcpServers(config.mcpServers);
  const stopSampling = observability.metrics ? samplePendingRequests(client) : undefined;
  const bundle = matchingBundle(env.BAMBOO_WORKFLOW_BUNDLE, codec !== undefined);
  const versioned = env.BAMBOO_WORKER_VERSIONING ? await versionOf(env, bundle, codec !== undefined, observability) : undefined;
  try {
    const worker = await createBambooWorker({
      connection: await connectWorkerConnection(resolved),
      client,
      namespace: resolved.namespace,
      taskQueue: env.BAMBOO_TASK_QUEUE,
      workflowBundlePath: versioned?.bundlePath ?? bundle,
      ...(versioned ? { deployment: versioned.deployment } : {}),
      deps: { providers, runners, toolPolicy: config.toolPolicy },
      mcpTools: mcp.tools,
      dataConverter,
      tuning: workerSizing(env),
    });
    console.log(`bamboo worker: ${resolved.address} namespace=${resolved.namespace} task queue=${env.BAMBOO_TASK_QUEUE}`);
    console.log(`  providers: ${providers.names().join(', ')} (default ${providers.defaultProvider}); external agents: ${runners.map((r) => `${r.protocol}:${r.agentId}`).join(', ') || 'none'}`);
    console.log(`  MCP tools: ${mcp.servers.map((s) => `${s.server} (${s.tools.filter((t) => !t.skipped).length})`).join(', ') || 'none'}`);
    console.log(`  payload encryption: ${codec ? `on (AES-256-GCM, key id ${codec.keyId})` : 'off'}`);
    console.log(`  observability: ${describeObservability(observability, env.BAMBOO_WORKFLOW_BUNDLE)}`);
    console.log(`  worker versioning: ${versioned ? `on: deployment ${versioned.deployment.name}, build ${versioned.deployment.buildId} (child runs pinned; roots move at a turn boundary)` : 'off'}`);
    const sizing = workerSizing(env);
    if (Object.keys(sizing).length > 0) console.log(`  sizing: ${JSON.stringify(sizing)}`);
    const current = versioned ? currentOnFirstDeploy(client, versioned.deployment) : undefined;
    await worker.run();
    await current;
  } finally {
    stopSampling?.();
    await mcp.close();
    await shutdownTraces();
  }
  await client.connection.close();
}

/**
 * A deployment with no current version sends new runs to unversioned workers only: on a first
 * deploy, this build becomes current (once the server knows it, after the worker's first polls).
 * Later deploys are `bamboo deploy promote`'s, never a worker's.
 */
async function currentOnFirstDeploy(client: Client, deployment: Deployment): Promise<void> {
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      const { workerDeploymentInfo: info, conflictToken } = await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName: deployment.name });
      // (A deployment an operator pointed back at unversioned workers has none either: run its workers unversioned.)
      if (info?.routingConfig?.currentDeploymentVersion?.buildId) return;
      // The token makes this lose to an operator's promote made meanwhile.
      await client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: client.options.namespace, deploymentName: deployment.name, buildId: deployment.buildId, conflictToken, identity: 'bamboo worker (first deploy)' });
      console.log(`  worker deployment ${deployment.name} had no current version: ${deployment.buildId} is current now`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // not known yet: the worker has not polled
    }
  }
  console.warn(`  worker deployment ${deployment.name}: could not make ${deployment.buildId} current; run \`bamboo deploy promote ${deployment.buildId}\``);
}

/**
 * This worker's version in its deployment. Its build id, unless given, is the package version
 * and a hash of the workflow code it runs: the prebuilt bundle's, else the one bundled here (and
 * used, unless observability bundles its own interceptors in at start).
 */
async function versionOf(env: BambooEnv, bundlePath: string | undefined, encodeFailures: boolean, observability: ObservabilitySettings): Promise<{ deployment: Deployment; bundlePath?: string }> {
  const name = env.BAMBOO_DEPLOYMENT_NAME ?? DEFAULT_DEPLOYMENT_NAME;
  if (env.BAMBOO_BUILD_ID) return { deployment: { name, buildId: env.BAMBOO_BUILD_ID } };
  if (bundlePath) return { deployment: { name, buildId: defaultBuildId(readFileSync(bundlePath, 'utf8')) } };
  const code = await buildWorkflowBundle({ workflowsPath: WORKFLOWS_PATH, encodeFailures });
  const deployment = { name, buildId: defaultBuildId(code) };
  if (observability.traces || observability.metrics) return { deployment };
  const path = join(mkdtempSync(join(tmpdir(), 'bamboo-bundle-')), 'workflow-bundle.js');
  writeFileSync(path, code);
  return { deployment, bundlePath: path };
}

/**
 * The prebuilt bundle if it was built for this worker's encryption setting; else undefined
 * (the worker bundles at start, a few seconds), with a warning that says how to avoid it.
 */
function matchingBundle(path: string | undefined, encrypted: boolean): string | undefined {
  if (!path || bundleEncodesFailures(path) === encrypted) return path;
  const fix = encrypted ? 'npm run bundle-workflows -- --encode-failures <out.js>' : 'npm run bundle-workflows -- <out.js>';
  console.warn(`BAMBOO_WORKFLOW_BUNDLE ${path} was built for workers that ${encrypted ? 'do not encrypt' : 'encrypt'} payloads; bundling at start instead (build a matching one with \`${fix}\`)`);
  return undefined;
}

function describeObservability(settings: ObservabilitySettings, bundle: string | undefined): string {
  const traces = settings.traces ? `traces over OTLP (${settings.traces.protocol}${settings.traces.captureContent ? ', with prompt and answer text' : ''})` : 'traces off';
  const metrics = settings.metrics ? `Prometheus metrics on ${settings.metrics.bindAddress}/metrics` : 'metrics off';
  const bundled = bundle && (settings.traces || settings.metrics) ? ' (workflows bundled at start with their interceptors, not from BAMBOO_WORKFLOW_BUNDLE)' : '';
  return `${traces}; ${metrics}${bundled}`;
}
