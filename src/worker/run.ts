/**
 * Runs a Bamboo worker until SIGINT/SIGTERM (graceful shutdown): configuration from
 * BAMBOO_CONFIG, connection from envconfig (overridable), search attributes checked first.
 */
import { encryptionCodecFromEnv } from '../codec/aes-gcm';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../config/load';
import { readEnv } from '../config/env';
import { connectClient, connectWorkerConnection, resolveTemporalTarget } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attributes';
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
  const worker = await createBambooWorker({
    connection: await connectWorkerConnection(resolved),
    client,
    namespace: resolved.namespace,
    taskQueue: env.BAMBOO_TASK_QUEUE,
    workflowBundlePath: env.BAMBOO_WORKFLOW_BUNDLE,
    deps: { providers, runners },
    dataConverter,
  });
  console.log(`bamboo worker: ${resolved.address} namespace=${resolved.namespace} task queue=${env.BAMBOO_TASK_QUEUE}`);
  console.log(`  providers: ${providers.names().join(', ')} (default ${providers.defaultProvider}); external agents: ${runners.map((r) => `${r.protocol}:${r.agentId}`).join(', ') || 'none'}`);
  console.log(`  payload encryption: ${codec ? `on (AES-256-GCM, key id ${codec.keyId})` : 'off'}`);
  await worker.run();
  await client.connection.close();
}
