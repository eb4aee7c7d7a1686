/**
 * `npm run worker`: a Bamboo worker for TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE
 * (default localhost:7233 / default) on BAMBOO_TASK_QUEUE (default `bamboo`).
 * Stops gracefully on SIGINT/SIGTERM.
 */
import { readEnv } from '../config/env';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../config/load';
import { connectClient, connectWorkerConnection, resolveTemporalTarget } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { createBambooWorker } from './create-worker';

async function main(): Promise<void> {
  const env = readEnv();
  const config = loadConfig();
  const providers = providersFromConfig(config);
  const runners = runnersFromConfig(config);
  const target = resolveTemporalTarget();
  const client = await connectClient(target);
  const added = await ensureSearchAttributes(client, target.namespace).catch((error: unknown) => {
    console.warn(`could not check Bamboo search attributes (${String(error)}); register them as the README says`);
    return [];
  });
  if (added.length > 0) console.log(`registered search attributes: ${added.join(', ')}`);
  const worker = await createBambooWorker({
    connection: await connectWorkerConnection(target),
    client,
    namespace: target.namespace,
    taskQueue: env.BAMBOO_TASK_QUEUE,
    workflowBundlePath: env.BAMBOO_WORKFLOW_BUNDLE,
    deps: { providers, runners },
  });
  console.log(`bamboo worker: ${target.address} namespace=${target.namespace} task queue=${env.BAMBOO_TASK_QUEUE}`);
  console.log(`  providers: ${providers.names().join(', ')} (default ${providers.defaultProvider}); external agents: ${runners.map((r) => `${r.protocol}:${r.agentId}`).join(', ') || 'none'}`);
  await worker.run();
  await client.connection.close();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
