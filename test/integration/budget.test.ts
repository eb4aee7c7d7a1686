/**
 * Tree budgets end to end: roots whose models are served over the OpenAI-compatible and
 * Anthropic wire formats by a local server reporting usage, and scripted trees. A budget
 * exhausted mid-tree stops further model calls and spawns with the contract's exact text;
 * the ledger equals the sum of every call in the tree's histories; continue-as-new carries
 * the reservations; a child terminated by an operator is charged its whole share.
 */
import type { Client } from '@temporalio/client';
import { startSession } from '../../client/root-sessions';
import { sessionState, sessionTranscript, settled } from '../helpers/root';
import { PriceTableSchema } from '../../worker/pricing';
import { createProviderRegistry } from '../../worker/providers/router';
import { createConfiguredProvider } from '../../worker/providers/configured';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { sessionWorkflowId, type ModelTurnResult, type Session, type SessionOptionsInput, stateQuery, usageQuery } from '../../common';
import { activityResults } from '../helpers/history-text';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startTestWorker, type TestWorker } from '../helpers/temporal';

let openaiWire: LlmServer;
let anthropicWire: LlmServer;
let tw: TestWorker;

beforeAll(async () => {
  process.env.TEST_BUDGET_OPENAI_KEY = 'sk-budget-openai';
  process.env.TEST_BUDGET_ANTHROPIC_KEY = 'sk-budget-anthropic';
  [openaiWire, anthropicWire] = await Promise.all([startLlmServer(), startLlmServer()]);
  const openai = createConfiguredProvider({ type: 'openai-compatible', name: 'wire-openai', baseURL: `${openaiWire.url}/v1`, apiKeyEnv: 'TEST_BUDGET_OPENAI_KEY', models: ['gpt-budget'] });
  const claude = createConfiguredProvider({ type: 'anthropic', name: 'wire-claude', baseURL: `${anthropicWire.url}/v1`, apiKeyEnv: 'TEST_BUDGET_ANTHROPIC_KEY', models: ['claude-budget'] });
  // USD per million tokens: input 3, output 15 → a call of 1,000 in and 200 out costs $0.006000.
  const prices = PriceTableSchema.parse({ 'claude-budget': { inputPerMTok: 3, outputPerMTok: 15 } });
  tw = await startTestWorker({ deps: { providers: createProviderRegistry([createScriptedProvider(), openai, claude], 'scripted', {}, prices) } });
});
afterAll(async () => {
  await tw?.stop();
  await Promise.all([openaiWire?.stop(), anthropicWire?.stop()]);
});

const spawnStep = (title: string, usage: { inputTokens: number; outputTokens: number }) => ({
  kind: 'tool' as const,
  name: 'spawn_session',
  args: { title, responsibility: `the ${title} part`, prompt: `do ${title}`, subagent_type: 'general' },
  usage,
});

function wireRoot(model: string, provider: string): Session {
  const session = rootSession('plan the work');
  return { ...session, model, modelRef: { provider, model } };
}

/** Every run of the tree (the root's search attribute marks them all). */
async function treeRuns(client: Client, rootId: string): Promise<{ workflowId: string; runId: string }[]> {
  return eventually(async () => {
    const runs: { workflowId: string; runId: string }[] = [];
    for await (const run of client.workflow.list({ query: `BambooRootSessionId = "${rootId}"` })) runs.push({ workflowId: run.workflowId, runId: run.runId });
    return runs;
  }, { timeoutMs: 20_000, what: 'the tree in visibility' });
}

/** What every callModel activity in the tree returned: tokens, micro-dollars, calls. */
async function everyCall(client: Client, rootId: string): Promise<{ tokens: number; costMicroUsd: number; calls: number }> {
  const total = { tokens: 0, costMicroUsd: 0, calls: 0 };
  for (const run of await treeRuns(client, rootId)) {
    for (const call of activityResults<ModelTurnResult>(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(), 'callModel')) {
      total.tokens += call.usage.inputTokens + call.usage.outputTokens;
      total.costMicroUsd += call.costMicroUsd ?? 0;
      total.calls += 1;
    }
  }
  return total;
}

async function childRunOf(client: Client, parentId: string, title: string) {
  const transcript = await sessionTranscript(client, parentId);
  const spawned = transcript.find((m) => m.role === 'tool' && m.content.includes(`"title":"${title}"`));
  const childId = (JSON.parse(spawned!.content) as { child_session_id: string }).child_session_id;
  return tw.client.workflow.getHandle(sessionWorkflowId(childId));
}

const tokens = (inputTokens: number, outputTokens = 0) => ({ inputTokens, outputTokens });
const text = (answer: string, usage: { inputTokens: number; outputTokens: number }) => ({ kind: 'text' as const, chunks: [answer], usage });
/** A child's requests carry its brief: `Sub-session title: <title>` (the parent's carry only the tool result). */
const brief = (title: string) => `Sub-session title: ${title}`;

test('OpenAI wire, tokens: a budget exhausted mid-tree stops the next model call and the next spawn with the exact text', async () => {
  // Root 1000 tokens. Root: spawns Alpha (100; Alpha's share: half of the 900 left = 450), says
  // it waits (100). Alpha: spawns Leaf (100; Leaf's share: half of the 350 Alpha has left = 175),
  // waits (100). Leaf answers (300: one call past its share). Alpha has spent 500 of 450: its
  // next model call is not made. The root, at 700 of 1000, makes one more call (350) that asks
  // for a spawn: refused at 1050 of 1000, and the root's next call is not made.
  const session = wireRoot('gpt-budget', 'wire-openai');
  openaiWire.route('plan the work', spawnStep('Alpha', tokens(100)), text('waiting for Alpha', tokens(100)), spawnStep('Beta', tokens(300, 50)));
  openaiWire.route(brief('Alpha'), spawnStep('Leaf', tokens(100)), text('waiting for Leaf', tokens(100)));
  openaiWire.route(brief('Leaf'), text('leaf done', tokens(200, 100)));
  const before = openaiWire.requests.length;
  const handle = await startSession(tw.client, { session, options: { maxSpawnDepth: 2, budget: { maxTokens: 1000 } } }, { taskQueue: tw.taskQueue });
  const state = await settled(tw.client, session.id, 90_000);

  expect(state.lastRunStatus).toBe('error');
  expect(state.lastRunError).toBe('Session budget exceeded: tokens (1050/1000)');
  expect(openaiWire.requests.length - before).toBe(6); // no call after the budget ran out
  const transcript = await sessionTranscript(tw.client, session.id);
  expect(transcript.filter((m) => m.role === 'tool').map((m) => m.content)).toContain('Error: Session budget exceeded: tokens (1050/1000)');

  const alpha = await childRunOf(tw.client, session.id, 'Alpha');
  const alphaResult = await alpha.result();
  expect(alphaResult).toMatchObject({ status: 'error', error: 'Session budget exceeded: tokens (500/450)' });
  expect((await alpha.query(usageQuery)).budget).toMatchObject({ limits: { maxTokens: 450 }, used: { tokens: 500, sessions: 1 }, reserved: { tokens: 0 }, remaining: { tokens: 0 } });
  const leaf = await childRunOf(tw.client, alphaResult.session!.id, 'Leaf');
  expect((await leaf.query(usageQuery)).budget).toMatchObject({ limits: { maxTokens: 175 }, used: { tokens: 300 } });

  const ledger = await handle.query(usageQuery);
  const calls = await everyCall(tw.client, session.id);
  expect(calls).toMatchObject({ tokens: 1050, calls: 6 });
  expect(ledger.subtree.inputTokens + ledger.subtree.outputTokens).toBe(calls.tokens);
  expect(ledger.childRuns).toBe(2);
  expect(ledger.budget).toMatchObject({ limits: { maxTokens: 1000 }, used: { tokens: 1050, sessions: 2 }, reserved: { tokens: 0, sessions: 0 }, remaining: { tokens: 0 } });
  await handle.terminate();
}, 150_000);

test('Anthropic wire, cost: children get shares of the dollars left; the root stops at its limit, exact to the micro-dollar', async () => {
  // $3 in / $15 out per million: 1,000 in + 200 out = $0.006000; 100 in = $0.000300.
  // Root $0.02: spawns Alpha ($0.006; share $0.007), waits ($0.0003); Alpha answers ($0.006).
  // The root (at $0.0123) spawns Beta ($0.006; share of the $0.0017 left: $0.00085), waits
  // ($0.0003); Beta answers ($0.006, one call past its share). The root, at $0.0246 of $0.02,
  // makes no further call.
  const session = wireRoot('claude-budget', 'wire-claude');
  const call = tokens(1000, 200);
  anthropicWire.route('plan the work', spawnStep('Alpha', call), text('waiting for Alpha', tokens(100)), spawnStep('Beta', call), text('waiting for Beta', tokens(100)));
  anthropicWire.route(brief('Alpha'), text('Alpha done', call));
  anthropicWire.route(brief('Beta'), text('Beta done', call));
  const before = anthropicWire.requests.length;
  const handle = await startSession(tw.client, { session, options: { budget: { maxCostUsd: 0.02 } } }, { taskQueue: tw.taskQueue });
  const state = await settled(tw.client, session.id, 90_000);

  expect(state.lastRunError).toBe('Session budget exceeded: cost ($0.024600/$0.020000)');
  expect(anthropicWire.requests.length - before).toBe(6);
  expect((await (await childRunOf(tw.client, session.id, 'Alpha')).query(usageQuery)).budget?.limits).toEqual({ maxCostUsd: 0.007 });
  expect((await (await childRunOf(tw.client, session.id, 'Beta')).query(usageQuery)).budget?.limits).toEqual({ maxCostUsd: 0.00085 });
  const ledger = await handle.query(usageQuery);
  const calls = await everyCall(tw.client, session.id);
  expect(calls).toEqual({ tokens: 5000, costMicroUsd: 24_600, calls: 6 });
  expect(ledger.subtree.inputTokens + ledger.subtree.outputTokens).toBe(5000);
  expect(ledger.costMicroUsd).toBe(calls.costMicroUsd);
  expect(ledger.budget).toMatchObject({ used: { costMicroUsd: 24_600, costUsd: 0.0246 }, remaining: { costMicroUsd: 0 } });
  await handle.terminate();
}, 150_000);

async function scriptedRoot(prompt: string, options: SessionOptionsInput) {
  const session = rootSession(prompt);
  const handle = await startSession(tw.client, { session, options }, { taskQueue: tw.taskQueue });
  return { session, handle };
}

test('sessions: the third spawn of a round is refused; continue-as-new while children run carries their reservations', async () => {
  const { session, handle } = await scriptedRoot('[[spawn:A|[[sleep:3]] a]] [[spawn:B|[[sleep:3]] b]] [[spawn:C|c]] go', {
    historyEventBudget: 20,
    budget: { maxSessions: 2, maxTokens: 100_000 },
  });
  // While A and B run, the root continues-as-new (20 events); their shares are still held.
  const held = await eventually(async () => {
    const ledger = await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).query(usageQuery);
    const state = await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).query(stateQuery);
    const runs = await treeRuns(tw.client, session.id);
    const rootRuns = runs.filter((r) => r.workflowId === handle.workflowId).length;
    return rootRuns > 1 && state.children.some((c) => c.status === 'running') ? ledger : undefined;
  }, { timeoutMs: 30_000, what: 'the root to continue-as-new while its children run' });
  expect(held.budget?.reserved.sessions).toBe(2);
  expect(held.budget?.reserved.tokens).toBeGreaterThan(0);

  await settled(tw.client, session.id, 90_000);
  const transcript = await sessionTranscript(tw.client, session.id);
  expect(transcript.filter((m) => m.role === 'tool').map((m) => m.content)).toContain('Error: Session budget exceeded: sessions (2/2)');
  const ledger = await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).query(usageQuery);
  const calls = await everyCall(tw.client, session.id);
  expect(ledger.budget).toMatchObject({ used: { sessions: 2, tokens: calls.tokens }, reserved: { tokens: 0, sessions: 0 } });
  expect((await sessionState(tw.client, session.id)).children).toHaveLength(2);
  await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).terminate();
}, 150_000);

test('a child terminated by an operator is charged its whole share: the cap holds without its report', async () => {
  const { session } = await scriptedRoot('[[spawn:Long|[[sleep:60]] never]] go', { budget: { maxTokens: 10_000 } });
  const child = await eventually(async () => {
    const state = await sessionState(tw.client, session.id);
    return state.children.find((c) => c.status === 'running');
  }, { timeoutMs: 30_000, what: 'the child to run' });
  const before = await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).query(usageQuery);
  const share = before.budget!.reserved.tokens;
  expect(share).toBeGreaterThan(0);
  await tw.client.workflow.getHandle(sessionWorkflowId(child.childSessionId)).terminate('operator says stop');

  const state = await settled(tw.client, session.id, 60_000);
  expect(state.children).toEqual([{ childSessionId: child.childSessionId, status: 'error', title: 'Long', error: 'Child session run was terminated: Terminated' }]);
  const after = await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).query(usageQuery);
  const rootCalls = await everyCall(tw.client, session.id); // the child's calls never returned: all the root's
  expect(after.budget?.reserved.tokens).toBe(0);
  expect(after.budget?.used.tokens).toBe(rootCalls.tokens + share);
  expect(after.subtree.inputTokens + after.subtree.outputTokens).toBe(rootCalls.tokens); // usage shows only what was reported
  await tw.client.workflow.getHandle(sessionWorkflowId(session.id)).terminate();
}, 150_000);
