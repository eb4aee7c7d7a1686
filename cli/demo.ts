/**
 * `npm start`: the demo on the embedded default. Starts (or reuses) the Temporal dev
 * server on :7233 with its Web UI on :8233 and a worker in this process; then a root
 * session spawns four child sessions that end four ways — one completes, one fails, one
 * stalls into its idle timeout, one is cancelled by the user — waits for them durably, and
 * resumes with their results. Prints the outcome and the Web UI links, then keeps the server
 * up for browsing until Ctrl-C or SIGTERM (`npm start -- --exit` ends right away). `bamboo demo` runs it.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { BambooClient, type BambooSessionHandle } from '../client/bamboo-client';
import { dataConverterFromEnv } from '../worker/codec/aes-gcm';
import { startEmbeddedServer, type EmbeddedServer } from './devserver/embedded';
import { createBambooWorker } from '../worker/create-worker';
import { renderUsage, usageReport } from './commands/usage';
import { untilShutdownSignal } from './signals';
import { clientInterceptors, shutdownTraces } from '../worker/observability';
import { startUiServer } from './ui/server';

const ADDRESS = 'localhost:7233';
const UI = 'http://localhost:8233/namespaces/default/workflows';
const TASK_QUEUE = 'bamboo-demo';

const PROMPT = [
  'Prepare the release notes.',
  '[[spawn:Research|[[sleep:3]] Summarize the merged changes]]',
  '[[spawn:Changelog API|[[fail:upstream API returned 400: bad request]]]]',
  '[[spawn:Stuck model|[[stall:60]]]]',
  '[[spawn:Long job|[[sleep:60]]]]',
].join(' ');

/** Runs the demo; with `exitWhenDone` false, keeps the server and worker up until Ctrl-C. */
export async function runDemo({ exitWhenDone }: { exitWhenDone: boolean }): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await reuseOrStartServer();
  const dataConverter = dataConverterFromEnv();
  const client = new Client({ connection: await Connection.connect({ address: ADDRESS }), dataConverter, interceptors: await clientInterceptors() });
  const connection = await NativeConnection.connect({ address: ADDRESS });
  console.log('Bundling workflows and starting a worker…');
  const worker = await createBambooWorker({ connection, client, namespace: 'default', taskQueue: TASK_QUEUE, dataConverter });
  // The session-tree page, next to the Temporal Web UI; a port already taken (another demo) leaves it out.
  const ui = await startUiServer({ client, namespace: 'default', temporalUiUrl: 'http://localhost:8233', taskQueue: TASK_QUEUE }).catch((error: unknown) => {
    console.log(`(the session-tree page did not start: ${String(error)})`);
    return undefined;
  });
  await worker.runUntil(async () => {
    const bamboo = new BambooClient(client, { taskQueue: TASK_QUEUE });
    const session = await bamboo.startRootSession({
      sessionId: `demo-${randomUUID().slice(0, 8)}`,
      title: 'Release notes (demo)',
      prompt: PROMPT,
      model: 'demo-model',
      provider: 'scripted',
      metadata: { 'child_watchdog.max_idle_secs': '4' },
    });
    console.log(`\nRoot session ${session.sessionId}: ${UI}/${session.workflowId}`);
    if (ui) console.log(`Its tree, live: ${ui.url}/roots/${session.sessionId}`);
    console.log(`  user: ${PROMPT}\n`);
    await followUntilSettled(bamboo, session);
    await printOutcome(bamboo, session);
    if (!exitWhenDone) {
      console.log(`\nAll children in the Web UI: ${UI}?query=${encodeURIComponent(`BambooParentSessionId="${session.sessionId}"`)}`);
      console.log('Press Ctrl-C to stop.');
      await untilShutdownSignal(); // Ctrl-C or SIGTERM; the worker (and the server, if ours) keep the process up until then
    }
  });
  await ui?.close();
  await connection.close();
  await client.connection.close();
  await shutdownTraces();
  await server?.stop();
}

/** Prints each child's status as it changes; plays the user who cancels "Long job" after 3 s. */
async function followUntilSettled(bamboo: BambooClient, session: BambooSessionHandle): Promise<void> {
  const seen = new Map<string, string>();
  let cancelAt: number | undefined;
  for (;;) {
    const state = await session.state();
    const transcript = await session.transcript();
    for (const child of state.children) {
      if (seen.get(child.childSessionId) === child.status) continue;
      seen.set(child.childSessionId, child.status);
      console.log(`  child ${titleOf(transcript, child.childSessionId).padEnd(14)} ${child.status}`);
    }
    const longJob = state.children.find((c) => titleOf(transcript, c.childSessionId) === 'Long job');
    if (longJob?.status === 'running') {
      cancelAt ??= Date.now() + 3000;
      if (Date.now() >= cancelAt) {
        console.log('  (the user cancels "Long job")');
        await bamboo.getSession(longJob.childSessionId).cancel();
        cancelAt = Infinity;
      }
    }
    const done = state.children.length === 4 && state.children.every((c) => !['pending', 'running'].includes(c.status));
    if (done && state.phase === 'idle' && state.waiting === null) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function printOutcome(bamboo: BambooClient, session: BambooSessionHandle): Promise<void> {
  const transcript = await session.transcript();
  const resume = transcript.filter((m) => m.metadata?.runtime === 'children').at(-1);
  console.log('\nThe parent was resumed once, with:\n');
  console.log((resume?.content ?? '').replace(/^/gm, '  | '));
  console.log(`\nParent's answer: ${transcript.at(-1)?.content.slice(0, 200)}`);
  const report = await usageReport(bamboo, session.sessionId, true);
  console.log(`\nWhat the tree used (bamboo usage ${session.sessionId} --tree):\n`);
  console.log(renderUsage(report).replace(/^/gm, '  '));
}

/** A child's title, read from the spawn tool's reply in the parent's transcript. */
function titleOf(transcript: { role: string; content: string }[], childSessionId: string): string {
  for (const m of transcript) {
    if (m.role === 'tool' && m.content.includes(childSessionId)) {
      try {
        return (JSON.parse(m.content) as { title: string }).title;
      } catch {
        break;
      }
    }
  }
  return childSessionId;
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
