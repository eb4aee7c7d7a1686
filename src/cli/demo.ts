/**
 * `npm start`: the demo on the embedded default. Starts (or reuses) the Temporal dev
 * server on :7233 with its Web UI on :8233, runs a worker in this process, and runs child
 * sessions that end each way — completed, error, idle timeout, cancelled — printing each
 * outcome with its Web UI link. Keeps the server up for browsing until Ctrl-C
 * (`npm start -- --exit` ends right away).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { cancelSession, startChildRun } from '../client/child-runs';
import type { ChildRunResult, Session } from '../domain';
import { startEmbeddedServer, type EmbeddedServer } from '../devserver/embedded';
import { createBambooWorker } from '../worker/create-worker';

const ADDRESS = 'localhost:7233';
const UI = 'http://localhost:8233';
const TASK_QUEUE = 'bamboo-demo';

interface DemoChild {
  title: string;
  prompt: string;
  metadata?: Record<string, string>;
  cancelAfterMs?: number;
}

const CHILDREN: DemoChild[] = [
  { title: 'Research', prompt: '[[sleep:3]] Summarize the findings' },
  { title: 'Broken tool', prompt: '[[fail:upstream API returned 400: bad request]]' },
  { title: 'Stuck model', prompt: '[[stall:60]]', metadata: { 'child_watchdog.max_idle_secs': '4' } },
  { title: 'Long job', prompt: '[[sleep:60]]', cancelAfterMs: 3000 },
];

async function main(): Promise<void> {
  const exitWhenDone = process.argv.includes('--exit');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await reuseOrStartServer();
  const client = new Client({ connection: await Connection.connect({ address: ADDRESS }) });
  const connection = await NativeConnection.connect({ address: ADDRESS });
  console.log('Bundling workflows and starting a worker…');
  const worker = await createBambooWorker({ connection, client, namespace: 'default', taskQueue: TASK_QUEUE });
  const parentSessionId = `demo-${randomUUID().slice(0, 8)}`;
  await worker.runUntil(async () => {
    console.log(`\nParent session ${parentSessionId} runs ${CHILDREN.length} child sessions:\n`);
    const results = await Promise.all(CHILDREN.map((child, i) => runDemoChild(client, parentSessionId, child, i + 1)));
    printResults(results);
    if (!exitWhenDone) {
      console.log(`\nBrowse them in the Temporal Web UI: ${UI}/namespaces/default/workflows`);
      console.log(`  query: BambooParentSessionId = "${parentSessionId}"`);
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    }
  });
  await connection.close();
  await client.connection.close();
  await server?.stop();
}

async function reuseOrStartServer(): Promise<EmbeddedServer | undefined> {
  try {
    const probe = await Connection.connect({ address: ADDRESS, connectTimeout: 1000 });
    await probe.close();
    console.log(`Using the Temporal server already running at ${ADDRESS}.`);
    return undefined;
  } catch {
    console.log('Starting the embedded Temporal dev server (SQLite, Web UI on :8233)…');
    return startEmbeddedServer();
  }
}

async function runDemoChild(client: Client, parentSessionId: string, child: DemoChild, n: number) {
  const session: Session = {
    id: `${parentSessionId}-child-${n}`,
    kind: 'child',
    parentSessionId,
    rootSessionId: parentSessionId,
    spawnDepth: 1,
    title: child.title,
    model: 'demo-model',
    modelRef: { provider: 'scripted', model: 'demo-model' },
    metadata: child.metadata ?? {},
    messages: [{ id: randomUUID(), role: 'user', content: child.prompt, createdAt: new Date().toISOString() }],
  };
  const handle = await startChildRun(
    client,
    { parentSessionId, childSessionId: session.id, model: session.model, session },
    { taskQueue: TASK_QUEUE },
  );
  console.log(`  started ${child.title.padEnd(12)} ${UI}/namespaces/default/workflows/${handle.workflowId}/${handle.firstExecutionRunId}/history`);
  if (child.cancelAfterMs) {
    setTimeout(() => void cancelSession(client, session.id).catch(() => undefined), child.cancelAfterMs);
  }
  return { title: child.title, result: await handle.result() };
}

function printResults(results: { title: string; result: ChildRunResult }[]): void {
  console.log('\nOutcomes:');
  for (const { title, result } of results) {
    const detail = result.error ?? result.session?.messages.at(-1)?.content ?? '';
    console.log(`  ${title.padEnd(12)} ${result.status.padEnd(10)} ${detail}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
