/**
 * Runs a Bamboo worker until SIGINT/SIGTERM (graceful shutdown): configuration from
 * BAMBOO_CONFIG, connection from envconfig (overridable), search attributes checked first.
 * MCP servers are connected and their tools listed before the worker polls; their
 * connections (and stdio servers' processes) are closed once it has stopped.
 */
import { encryptionCodecFromEnv } from '../worker/codec/aes-gcm';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../worker/config/load';
import { readEnv, workerSizing } from '../worker/config/env';
import { connectClient, connectWorkerConnection, resolveTemporalTarget } from './temporal/connection';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { connectMcpServers } from '../worker/tools/mcp';
import { bundleEncodesFailures } from '../worker/bundle';
import { createBambooWorker } from '../worker/create-worker';
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
  try {
    const worker = await createBambooWorker({
      connection: await connectWorkerConnection(resolved),
      client,
      namespace: resolved.namespace,
      taskQueue: env.BAMBOO_TASK_QUEUE,
      workflowBundlePath: matchingBundle(env.BAMBOO_WORKFLOW_BUNDLE, codec !== undefined),
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
    const sizing = workerSizing(env);
    if (Object.keys(sizing).length > 0) console.log(`  sizing: ${JSON.stringify(sizing)}`);
    await worker.run();
  } finally {
    stopSampling?.();
    await mcp.close();
    await shutdownTraces();
  }
  await client.connection.close();
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
