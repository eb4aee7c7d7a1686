/**
 * The session-tree page (issue 27) in headless Chromium, against the real dev server and a real
 * worker: a depth-3 tree appears and updates live; an `ask` request two levels down is approved
 * by a click in the inbox and the grandchild's tool then runs; a deny with a reason reaches the
 * model as its exact text; a steer shows its receipt; cancelling a subtree cancels it; a
 * collapsed node stays collapsed across a reload; model text with markup renders as text; axe
 * finds no serious or critical violation. Screenshots go to docs/ui/ (docs/ui.md shows them).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BambooClient, type BambooSessionHandle } from '../../client';
import { deniedToolMessage } from '../../common';
import { startUiServer, type UiServer } from '../../cli/ui/server';
import { eventually } from '../helpers/eventually';
import { startTestWorker, type TestWorker } from '../helpers/temporal';
import { launchChromium } from './browser';

const SHOTS = resolve(__dirname, '..', '..', 'docs', 'ui');
const TIMEOUT = 60_000;
const DEEP_ASK = '[[spawn:Lead|[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] organise]] plan';

let browser: Browser;
let tw: TestWorker;
let ui: UiServer;
let bamboo: BambooClient;

beforeAll(async () => {
  browser = await launchChromium();
}, 20 * 60_000);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  tw = await startTestWorker({ deps: { toolPolicy: { tools: { get_current_time: 'ask', ask_user: 'allow' } } } });
  bamboo = new BambooClient(tw.client, { taskQueue: tw.taskQueue });
  ui = await startUiServer({ client: tw.client, namespace: 'default', port: 0, taskQueue: tw.taskQueue, intervalMs: 500 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await tw?.stop();
});

async function page(path: string): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  p.setDefaultTimeout(TIMEOUT);
  await p.goto(`${ui.url}${path}`);
  return p;
}

async function childNamed(root: BambooSessionHandle, title: string, parent?: string): Promise<BambooSessionHandle> {
  const id = await eventually(
    async () => {
      const state = await bamboo.getSession(parent ?? root.sessionId).state().catch(() => undefined);
      return state?.children.find((c) => c.title === title)?.childSessionId;
    },
    { timeoutMs: TIMEOUT, what: `child ${title}` },
  );
  return bamboo.getSession(id);
}

test('a depth-3 tree appears and updates live; an ask two levels down is approved from the inbox, and the tool runs', async () => {
  const root = await bamboo.startRootSession({ model: 'scripted-model', prompt: DEEP_ASK, options: { maxSpawnDepth: 2 } });
  const tree = await page(`/roots/${root.sessionId}`);
  // Lead, then Helper, appear without a reload, with their titles (from their parents).
  await tree.getByRole('link', { name: 'Lead' }).waitFor();
  await tree.getByRole('link', { name: 'Helper' }).waitFor();
  await tree.locator('.timeline .track').nth(2).waitFor();
  await tree.getByText('1 waiting for a person').waitFor();
  // A running session's row says its subagent type and how much of its watchdog is left.
  await tree.locator('[title="subagent type"]', { hasText: 'general' }).first().waitFor();
  await tree.locator('[title="watchdog: total time left"]').first().waitFor();

  const inbox = await page('/inbox');
  const card = inbox.locator(`.card:has(a:text("${root.sessionId}"))`);
  await card.getByText('Tool call get_current_time').waitFor();
  await inbox.screenshot({ path: join(SHOTS, 'inbox.png'), fullPage: true });
  await card.getByRole('button', { name: 'Approve' }).click();
  await inbox.locator('#inbox-result').getByText(/^approve of request .* recorded at .*; the session that asked has it$/).waitFor();

  // The grandchild's tool ran: its result is the time, not a refusal.
  const lead = await childNamed(root, 'Lead');
  const helper = await childNamed(root, 'Helper', lead.sessionId);
  await expect(helper.result()).resolves.toMatchObject({ status: 'completed' });
  const toolResult = (await helper.transcript()).find((m) => m.role === 'tool');
  expect(toolResult?.content).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  // The page follows: every session completed.
  await eventually(async () => (await tree.locator('.tree .status-completed').count()) === 3, { timeoutMs: TIMEOUT, what: 'three completed sessions on the page' });
  await tree.screenshot({ path: join(SHOTS, 'tree.png'), fullPage: true });
  const list = await page('/');
  await list.getByRole('link', { name: root.sessionId }).waitFor();
  await list.screenshot({ path: join(SHOTS, 'sessions.png'), fullPage: true });
  await Promise.all([tree.close(), inbox.close(), list.close()]);
});

test('a deny with a reason reaches the model as its exact text', async () => {
  const root = await bamboo.startRootSession({ model: 'scripted-model', prompt: DEEP_ASK, options: { maxSpawnDepth: 2 } });
  const inbox = await page('/inbox');
  const card = inbox.locator(`.card:has(a:text("${root.sessionId}"))`);
  await card.getByLabel('Reason').fill('not during the freeze');
  await card.getByRole('button', { name: 'Deny' }).click();
  const requestId = await card.getAttribute('data-request');
  await inbox.locator('#inbox-result').getByText(`deny of request ${requestId} recorded at`, { exact: false }).waitFor();
  // The decided request leaves the list; its receipt stays.
  await card.waitFor({ state: 'detached' });
  await inbox.locator('#inbox-result').getByText(`deny of request ${requestId}`, { exact: false }).waitFor();
  const lead = await childNamed(root, 'Lead');
  const helper = await childNamed(root, 'Helper', lead.sessionId);
  await helper.result();
  const toolResult = (await helper.transcript()).find((m) => m.role === 'tool');
  expect(toolResult?.content).toBe(deniedToolMessage('get_current_time', { reason: 'not during the freeze', by: 'person' }));
  // Answering again is refused with the workflow's own text.
  await inbox.close();
});

test('a question is answered from the inbox, and the model reads the answer', async () => {
  const root = await bamboo.startRootSession({ model: 'scripted-model', prompt: '[[tool:ask_user|{"question":"Which colour <b>exactly</b>?"}]] pick a colour' });
  const inbox = await page('/inbox');
  const card = inbox.locator(`.card:has(a:text("${root.sessionId}"))`);
  await card.getByText('Which colour <b>exactly</b>?').waitFor();
  await card.getByLabel('Answer').fill('teal');
  await card.getByRole('button', { name: 'Answer' }).click();
  await inbox.locator('#inbox-result').getByText(/^answer of request .* recorded at/).waitFor();
  await root.waitForIdle({ timeoutMs: TIMEOUT });
  const answer = (await root.transcript()).find((m) => m.role === 'tool');
  expect(answer?.content).toContain('teal');
  await inbox.close();
});

test('a steer shows its receipt; cancelling a subtree cancels it and leaves the rest', async () => {
  const root = await bamboo.startRootSession({
    model: 'scripted-model',
    prompt: '[[spawn:Quick|[[sleep:2]] quick work]] [[spawn:Team|[[spawn:Member|[[sleep:120]] long work]] lead the team]] plan',
    options: { maxSpawnDepth: 2 },
  });
  const quick = await childNamed(root, 'Quick');
  const steerPage = await page(`/sessions/${quick.sessionId}`);
  // A running child's page shows its subagent type and how much of its watchdog is left.
  await steerPage.getByText('Subagent type: general', { exact: true }).waitFor();
  await steerPage.getByText(/Watchdog: total time left (59m\d\ds|1h00m) of 1h00m/).waitFor();
  await steerPage.getByLabel('Steer').fill('hurry up');
  await steerPage.getByRole('button', { name: 'Steer' }).click();
  await steerPage.getByText(/merged at turn \d+/).waitFor();

  const team = await childNamed(root, 'Team');
  const member = await childNamed(root, 'Member', team.sessionId);
  const teamPage = await page(`/sessions/${team.sessionId}`);
  teamPage.once('dialog', (dialog) => void dialog.accept());
  await teamPage.getByRole('button', { name: 'Cancel this subtree' }).click();
  await teamPage.getByText('cancel requested').waitFor();
  await expect(team.result()).resolves.toMatchObject({ status: 'cancelled' });
  await expect(member.result()).resolves.toMatchObject({ status: 'cancelled' });
  // The root is untouched by its subtree's cancel.
  expect((await root.state()).status).not.toBe('cancelled');
  await root.cancel();
  await Promise.all([steerPage.close(), teamPage.close()]);
});

test('a collapsed node stays collapsed across a reload, and markup in model text renders as text', async () => {
  const hostile = 'Check <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> [[spawn:Inner|inner <b>bold</b> work]]';
  const root = await bamboo.startRootSession({ model: 'scripted-model', prompt: hostile });
  await root.waitForIdle({ timeoutMs: TIMEOUT });
  const tree = await page(`/roots/${root.sessionId}`);
  await tree.getByRole('link', { name: 'Inner' }).waitFor();
  await tree.locator(`details[data-session="${root.sessionId}"] > summary`).click();
  await eventually(async () => (await tree.locator(`details[data-session="${root.sessionId}"]`).getAttribute('open')) === null, { timeoutMs: 10_000, what: 'the node collapsed' });
  await eventually(async () => tree.url().includes('collapsed='), { timeoutMs: 10_000, what: 'the collapse in the URL' });
  await tree.reload();
  await tree.locator(`details[data-session="${root.sessionId}"]`).waitFor({ state: 'attached' });
  const collapsedAfterReload = async () => (await tree.locator(`details[data-session="${root.sessionId}"]`).getAttribute('open')) === null;
  await eventually(collapsedAfterReload, { timeoutMs: 10_000, what: 'the node still collapsed' }).catch(async (error: unknown) => {
    const seen = await tree.evaluate('JSON.stringify({ hash: location.hash, details: [...document.querySelectorAll("details")].map((d) => [d.dataset.session, d.open]) })');
    throw new Error(`${String(error)}; the page: ${String(seen)}`);
  });

  const session = await page(`/sessions/${root.sessionId}`);
  await session.getByText('<script>window.__pwned = 1</script>', { exact: false }).first().waitFor();
  expect(await session.evaluate('window.__pwned')).toBeUndefined();
  expect(await session.locator('main img, main script').count()).toBe(0);
  await Promise.all([tree.close(), session.close()]);
});

test('axe finds no serious or critical accessibility violation on the list, a tree, a session and the inbox', async () => {
  const root = await bamboo.startRootSession({ model: 'scripted-model', prompt: 'axe check [[spawn:Child|child work]]' });
  await root.waitForIdle({ timeoutMs: TIMEOUT });
  const axe = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const context = await browser.newContext({ bypassCSP: true });
  try {
    for (const path of ['/', `/roots/${root.sessionId}`, `/sessions/${root.sessionId}`, '/inbox']) {
      const p = await context.newPage();
      await p.goto(`${ui.url}${path}`);
      await p.waitForFunction('!document.body.innerText.includes("Loading…")', undefined, { timeout: TIMEOUT });
      await p.addScriptTag({ content: axe });
      const violations = (await p.evaluate(
        `axe.run().then((r) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.impact + ', ' + v.nodes.length + ': ' + v.nodes[0].html.slice(0, 120) + ')'))`,
      )) as string[];
      expect({ path, violations }).toEqual({ path, violations: [] });
      await p.close();
    }
  } finally {
    await context.close();
  }
});
