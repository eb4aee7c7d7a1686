/**
 * Runs a Bamboo worker until SIGINT/SIGTERM (graceful shutdown): configuration from
 * BAMBOO_CONFIG, connection from envconfig (overridable), search attributes checked first.
 * MCP servers are connected and their tools listed before the worker polls; their
 * connections (and stdio servers' processes) are closed once it has stopped.
 */
import { encryptionCodecFromEnv } from '../codec/aes-gcm';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../config/load';
import { readEnv } from '../config/env';
import { connectClient, connectWorkerConnection, resolveTemporalTarget } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { connectMcpServers } from '../tools/mcp';
import { bundleEncodesFailures } from './bundle';
import { createBambooWorker } from './create-worker';

export async function runWorker(options: { address?: string; namespace?: string } = {}): Promise<void> {
  const env = readEnv();
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
    });
    console.log(`bamboo worker: ${resolved.address} namespace=${resolved.namespace} task queue=${env.BAMBOO_TASK_QUEUE}`);
    console.log(`  providers: ${providers.names().join(', ')} (default ${providers.defaultProvider}); external agents: ${runners.map((r) => `${r.protocol}:${r.agentId}`).join(', ') || 'none'}`);
    console.log(`  MCP tools: ${mcp.servers.map((s) => `${s.server} (${s.tools.filter((t) => !t.skipped).length})`).join(', ') || 'none'}`);
    console.log(`  payload encryption: ${codec ? `on (AES-256-GCM, key id ${codec.keyId})` : 'off'}`);
    await worker.run();
  } finally {
    await mcp.close();
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
