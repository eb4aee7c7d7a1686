/**
 * `npx tsx bench/ui.ts`: what the session-tree page costs and how fresh it is, on a 300-session
 * tree (a root, 15 children, 19 grandchildren each) on the embedded dev server:
 *  - the time to render the tree: the server's first fragment (cold: every parent's state read
 *    once for titles) and a later one (warm), and a browser's load until the tree is on screen;
 *  - the RPCs a second the page's server makes to Temporal with 1 and with 10 pages open on it,
 *    idle, and while one of its sessions streams;
 *  - update latency: from a new child's start (its run's start time, from the server) to the
 *    fragment naming it reaching an open page, p50/p95 over 20 new children.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { BambooClient } from '../client';
import { treeRunsQuery } from '../common';
import { startDevServer } from '../cli/temporal/dev-server';
import { startUiServer } from '../cli/ui/server';
import { TreeWatch } from '../cli/ui/tree-watch';
import { treeFragment } from '../cli/ui/views';
import { createBambooWorker } from '../worker/create-worker';
import { launchChromium } from '../test/e2e/browser';
import { buildBenchBundle, percentiles } from './harness';
import { recordResults } from './results';

const CHILDREN = 15;
const GRANDCHILDREN = 19;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
  const connection = await NativeConnection.connect({ address: server.address });
  const taskQueue = 'bench-ui';
  const worker = await createBambooWorker({
    connection,
    client,
    namespace: server.namespace,
    taskQueue,
    workflowBundlePath: await buildBenchBundle('bamboo'),
    tuning: { maxConcurrentWorkflowTaskExecutions: 20 },
  });
  const running = worker.run();
  const bamboo = new BambooClient(client, { taskQueue });
  try {
    // The tree: every grandchild completes at once; the root then stays open (idle).
    const grandchildren = Array.from({ length: GRANDCHILDREN }, (_, j) => `[[spawn:G${j}|grandchild work]]`).join(' ');
    const children = Array.from({ length: CHILDREN }, (_, i) => `[[spawn:C${i}|${grandchildren} lead ${i}]]`).join(' ');
    const built = Date.now();
    const root = await bamboo.startRootSession({ model: 'scripted-model', prompt: `${children} plan`, options: { maxSpawnDepth: 2, maxRunningChildren: 20 } });
    await root.waitForIdle({ timeoutMs: 30 * 60_000, pollMs: 2000 });
    const buildSecs = (Date.now() - built) / 1000;
    console.log(`tree of ${1 + CHILDREN + CHILDREN * GRANDCHILDREN} sessions built in ${buildSecs.toFixed(0)} s`);
    await waitForVisibility(client, root.sessionId, 1 + CHILDREN + CHILDREN * GRANDCHILDREN);

    const ui = await startUiServer({ client, namespace: server.namespace, port: 0, taskQueue });
    // Render: the server's fragment, cold then warm.
    const watch = new TreeWatch(ui.reads, root.sessionId);
    let at = performance.now();
    const coldHtml = String(await treeFragment(await watch.read()));
    const coldMs = performance.now() - at;
    const coldReads = ui.reads.total();
    at = performance.now();
    await treeFragment(await watch.read());
    const warmMs = performance.now() - at;
    const warmReads = ui.reads.total() - coldReads;
    const sessionsShown = (coldHtml.match(/data-row=/g) ?? []).length;

    // A browser: load until every row is on screen.
    const browser = await launchChromium();
    const page = await browser.newPage();
    at = performance.now();
    await page.goto(`${ui.url}/roots/${root.sessionId}`);
    // A function, not a string: the page's Content-Security-Policy refuses eval.
    const rows = (n: number) => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-row]').length >= n;
    await page.waitForFunction(rows, sessionsShown, { timeout: 120_000 });
    const browserMs = performance.now() - at;
    await page.close();

    // RPCs a second with 1 and 10 pages open (server-sent event streams), idle for 20 s each.
    const rate = async (pages: number) => {
      const streams = await Promise.all(Array.from({ length: pages }, () => openStream(`${ui.url}/live/roots/${root.sessionId}`)));
      await sleep(3000);
      const before = ui.reads.total();
      const started = Date.now();
      await sleep(20_000);
      const perSec = (ui.reads.total() - before) / ((Date.now() - started) / 1000);
      streams.forEach((s) => s.close());
      await sleep(1500);
      return perSec;
    };
    const onePage = await rate(1);
    const tenPages = await rate(10);

    // Update latency: 20 new children of the root, one at a time, each seen on an open page.
    const stream = await openStream(`${ui.url}/live/roots/${root.sessionId}`);
    const latencies: number[] = [];
    for (let n = 0; n < 20; n++) {
      const title = `Late${n}`;
      const seen = stream.waitFor(`>${title}<`);
      await root.send(`[[spawn:${title}|[[sleep:90]] late work]] more`);
      const arrived = await seen;
      const child = await findChild(bamboo, root.sessionId, title);
      const started = (await client.workflow.getHandle(child.workflowId).describe()).startTime.getTime();
      latencies.push(arrived - started);
    }
    stream.close();
    const streamingRate = await rate(1);
    const latency = percentiles(latencies);
    await browser.close();
    await ui.close();
    await root.cancel();

    const markdown = [
      `A tree of ${sessionsShown} sessions (a root, ${CHILDREN} children, ${GRANDCHILDREN} grandchildren each), built in ${buildSecs.toFixed(0)} s; the page's server polls every second.`,
      '',
      '| figure | value |',
      '|---|---:|',
      `| server: first fragment of the tree (cold: titles read from every parent) | ${coldMs.toFixed(0)} ms, ${coldReads} RPCs |`,
      `| server: a later fragment (warm) | ${warmMs.toFixed(0)} ms, ${warmReads} RPCs |`,
      `| browser: page load until every row is on screen | ${browserMs.toFixed(0)} ms |`,
      `| RPCs a second to Temporal, 1 page open, idle tree | ${onePage.toFixed(2)} |`,
      `| RPCs a second to Temporal, 10 pages open, idle tree | ${tenPages.toFixed(2)} |`,
      `| RPCs a second to Temporal, 1 page open, 20 children streaming | ${streamingRate.toFixed(2)} |`,
      `| update latency, a new child's start → on an open page: p50 / p95 (n = ${latency.n}) | ${latency.p50.toFixed(0)} / ${latency.p95.toFixed(0)} ms |`,
    ].join('\n');
    console.log(markdown);
    recordResults('ui', 'The session-tree page (bench/ui.ts)', markdown, { sessionsShown, buildSecs, coldMs, coldReads, warmMs, warmReads, browserMs, onePage, tenPages, streamingRate, latency });
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await client.connection.close();
    await server.stop();
  }
}

interface Stream {
  waitFor(text: string): Promise<number>;
  close(): void;
}

/** An SSE client: reads the stream and resolves waits when a fragment containing a text arrives (at its arrival time). */
async function openStream(url: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const waits: { text: string; resolve: (at: number) => void }[] = [];
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      const now = Date.now();
      buffer = (buffer + decoder.decode(value, { stream: true })).slice(-4_000_000);
      for (const wait of [...waits]) {
        if (buffer.includes(wait.text)) {
          waits.splice(waits.indexOf(wait), 1);
          wait.resolve(now);
        }
      }
      const lastEvent = buffer.lastIndexOf('event:');
      if (lastEvent > 0) buffer = buffer.slice(lastEvent);
    }
  })();
  return {
    waitFor: (text) => new Promise((resolve) => waits.push({ text, resolve })),
    close: () => controller.abort(),
  };
}

async function findChild(bamboo: BambooClient, rootId: string, title: string) {
  for (;;) {
    const state = await bamboo.getSession(rootId).state();
    const child = state.children.find((c) => c.title === title);
    if (child) return bamboo.getSession(child.childSessionId);
    await sleep(200);
  }
}

async function waitForVisibility(client: Client, rootId: string, count: number): Promise<void> {
  for (;;) {
    const { count: listed } = await client.workflow.count(treeRunsQuery(rootId));
    if (listed >= count) return;
    await sleep(1000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
