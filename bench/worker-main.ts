/**
 * A bench worker process: Bamboo's activities plus the baseline's no-op, on the bench
 * bundle. Args via env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_BUNDLE, BENCH_HEARTBEATS.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../worker/activities';
import { defaultProviderRegistry } from '../worker/providers/defaults';
import { BUILTIN_TOOLS } from '../worker/tools/builtin';
import { createToolRegistry } from '../worker/tools/types';
import * as baseline from './baseline-activities';
import { workerDataConverter } from '../worker/codec/worker-data-converter';
import { heartbeatThrottle } from '../worker/plugin';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const address = process.env.TEMPORAL_ADDRESS!;
  const client = new Client({ connection: await Connection.connect({ address }) });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue: process.env.BENCH_TASK_QUEUE!,
    workflowBundle: { codePath: process.env.BENCH_BUNDLE! },
    dataConverter: workerDataConverter(),
    activities: {
      ...createActivities({ client, providers: defaultProviderRegistry(), tools: createToolRegistry(BUILTIN_TOOLS), runners: [] }),
      ...baseline,
    },
    // Bamboo's heartbeat throttling (worker/plugin.ts: the SDK's), or BENCH_HEARTBEATS=<duration> (e.g. 2s, as Bamboo flushed before).
    ...heartbeatThrottle(process.env.BENCH_HEARTBEATS ? { maxHeartbeatThrottleInterval: process.env.BENCH_HEARTBEATS as '2s', defaultHeartbeatThrottleInterval: process.env.BENCH_HEARTBEATS as '2s' } : {}),
    maxConcurrentActivityTaskExecutions: Number(process.env.BENCH_MAX_ACTIVITIES ?? 1000),
    maxCachedWorkflows: Number(process.env.BENCH_MAX_CACHED ?? 2000),
  });
  console.log('bench worker ready');
  // The main thread's share of the RSS (activities, the SDK's bridge): the harness keeps the
  // figures at the RSS peak. Workflows run in the SDK's workflow thread, not counted here.
  setInterval(() => console.log(`mem ${JSON.stringify(process.memoryUsage())}`), 500).unref();
  await worker.run();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
