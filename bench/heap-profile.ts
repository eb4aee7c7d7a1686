/**
 * `npm run bench:heap`: where a worker's memory per open child run goes, from V8 heap
 * snapshots. A worker in this process, in debug mode (workflows on the main thread, so one
 * snapshot holds the workflow cache and the activities), holds N runs open at once, each in a
 * streamed call; a snapshot is taken before and while they are open, and the growth is grouped
 * by what V8 calls each object (its constructor, or its kind) and divided by N. The bare
 * baseline and Bamboo in turn, each with its own bundle. BENCH_HEAP_RUNS (300).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createActivities } from '../worker/activities';
import { BambooParentSessionId } from '../common';
import { startChildRun } from '../client/child-runs';
import { startDevServer } from '../cli/temporal/dev-server';
import { defaultProviderRegistry } from '../worker/providers/defaults';
import { BUILTIN_TOOLS } from '../worker/tools/builtin';
import { createToolRegistry } from '../worker/tools/types';
import * as baselineActivities from './baseline-activities';
import { benchChildJob, buildBenchBundle, mapLimit } from './harness';
import { recordResults } from './results';

const RUNS = Number(process.env.BENCH_HEAP_RUNS ?? 300);
const STREAM_SECS = 60;

interface Growth {
  name: string;
  bytesPerRun: number;
  countPerRun: number;
}

interface SideResult {
  label: 'baseline' | 'bamboo';
  runs: number;
  heapGrowthKbPerRun: number;
  top: Growth[];
}

/** Self sizes and counts by node name (constructor or kind) in a .heapsnapshot file. */
function summarize(path: string): Map<string, { bytes: number; count: number }> {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]];
    const name = type === 'object' || type === 'closure' ? `${type === 'closure' ? 'closure ' : ''}${snapshot.strings[snapshot.nodes[i + nameAt]]}` : `(${type})`;
    const entry = out.get(name) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[i + sizeAt];
    entry.count += 1;
    out.set(name, entry);
  }
  return out;
}

function snapshotNow(label: string): string {
  global.gc?.();
  return writeHeapSnapshot(join(tmpdir(), `bamboo-heap-${label}-${randomUUID().slice(0, 6)}.heapsnapshot`));
}

async function measure(label: SideResult['label'], address: string, client: Client): Promise<SideResult> {
  const taskQueue = `heap-${label}`;
  const bundle = await buildBenchBundle(label);
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowBundle: { codePath: bundle },
    activities: label === 'bamboo' ? createActivities({ client, providers: defaultProviderRegistry(), tools: createToolRegistry(BUILTIN_TOOLS), runners: [] }) : baselineActivities,
    debugMode: true, // workflows on this thread: the snapshot sees the workflow cache too
    // What a production worker runs (its threads reuse one V8 context); the SDK's default, said
    // here because what this bench measures depends on it.
    reuseV8Context: true,
    maxCachedWorkflows: RUNS * 2,
    maxConcurrentActivityTaskExecutions: RUNS * 2,
  });
  const batch = `heap-${label}-${randomUUID().slice(0, 6)}`;
  const start = (i: number, secs: number) =>
    label === 'bamboo'
      ? startChildRun(client, benchChildJob(batch, i, `[[sleep:${secs}]] run ${i}`), { taskQueue })
      : client.workflow.start('baselineStreamingChildWorkflow', { taskQueue, workflowId: `${batch}-${i}`, args: [secs], typedSearchAttributes: [{ key: BambooParentSessionId, value: batch }] });
  return worker.runUntil(async () => {
    // Warm up (bundle evaluated, shared modules built, code compiled), then the "before" snapshot.
    await Promise.all((await mapLimit([0, 1, 2, 3, 4], 5, (i) => start(1000 + i, 1))).map((h) => h.result()));
    const before = snapshotNow(`${label}-before`);
    const handles = await mapLimit(Array.from({ length: RUNS }, (_, i) => i), 50, (i) => start(i, STREAM_SECS));
    // All open and streaming: every run's call has sent a heartbeat.
    for (;;) {
      const open = await client.workflow.count(`ExecutionStatus = 'Running' AND ${BambooParentSessionId.name} = '${batch}'`);
      if (open.count >= RUNS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 8_000));
    const during = snapshotNow(`${label}-during`);
    await Promise.all(handles.map((h) => h.terminate('heap profile taken').catch(() => undefined)));
    const [a, b] = [summarize(before), summarize(during)];
    rmSync(before);
    rmSync(during);
    const growth: Growth[] = [...b].map(([name, v]) => ({
      name,
      bytesPerRun: (v.bytes - (a.get(name)?.bytes ?? 0)) / RUNS,
      countPerRun: (v.count - (a.get(name)?.count ?? 0)) / RUNS,
    }));
    const total = growth.reduce((sum, g) => sum + g.bytesPerRun, 0);
    return { label, runs: RUNS, heapGrowthKbPerRun: total / 1024, top: growth.sort((x, y) => y.bytesPerRun - x.bytesPerRun).slice(0, 15) };
  });
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const sides = [await measure('baseline', server.address, client), await measure('bamboo', server.address, client)];
  for (const side of sides) console.log(JSON.stringify(side));
  const f = (n: number) => (n / 1024).toFixed(1);
  const table = (s: SideResult) => [
    `**${s.label}**: ${s.heapGrowthKbPerRun.toFixed(0)} KB of V8 heap per open run (${s.runs} runs open).`,
    '',
    '| object (constructor or kind) | KB per run | objects per run |',
    '|---|---:|---:|',
    ...s.top.map((g) => `| \`${g.name.replace(/\|/g, '\\|').slice(0, 60)}\` | ${f(g.bytesPerRun)} | ${g.countPerRun.toFixed(1)} |`),
  ];
  recordResults(
    'heap-profile',
    'npm run bench:heap — where the worker memory per open run goes',
    [
      `A worker in debug mode (workflows and activities on one thread, one heap) with the reusable V8 context a production worker runs, ${RUNS} child runs open at once, each in a streamed call; V8 heap snapshots before and while they are open; the growth by object, per run. Self sizes (not retained), largest first.`,
      '',
      ...table(sides[0]),
      '',
      ...table(sides[1]),
    ].join('\n'),
    { sides },
  );
  await client.connection.close();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
