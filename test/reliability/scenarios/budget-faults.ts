/**
 * 12 · Budgets under faults (issue 32): a depth-2 tree on a real OpenAI-compatible server whose
 * model is priced in fractions of a micro-dollar crosses its token and cost limits while its
 * worker is SIGKILLed and its (SQLite) dev server is stopped and started again. The fault
 * scenarios' budgets are never reached; this one is, and the limit is checked where it matters:
 *
 * - at the provider: the calls it answered (distinct request bodies; a call retried after the
 *   kill sends the same body again) ≤ the calls the limit admits + one per session of the tree
 *   (docs/architecture.md#budgets: a call's size is known only when it returns, so each session
 *   may end one call past its share), and every request beyond them is an attempt the histories
 *   show retried;
 * - in the ledger: the root's budget `used` = the sum of the `callModel` results in the tree's
 *   histories, each call's cost its exact price rounded half-up to a whole micro-dollar once;
 * - afterwards: nothing reserved, every session closed, the root idle.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSession } from '../../../client/root-sessions';
import { sessionWorkflowId, type ModelTurnResult, usageQuery } from '../../../common';
import { sessionState } from '../../helpers/root';
import { activityOutcomes, activityResults, activityTaskAttempts } from '../../helpers/history-text';
import { startLlmServer, type Step, type WireUsage } from '../../helpers/llm-server';
import { rootSession } from '../../helpers/session-fixtures';
import { uniqueId } from '../../helpers/temporal';
import { startWorkerProcess } from '../../helpers/worker-process';
import { eventually, eventuallyOrUndefined } from '../../helpers/eventually';
import { clientFor, useQueue } from '../support/context';
import { PROVIDER_KEY_ENV, RELIABILITY_OUT } from '../support/paths';
import { startRestartableServer } from '../support/processes';
import { runScenario } from '../support/scenario';
import { beginScenario } from '../support/summary';
import { randomInt, sleep } from '../support/util';

const PROVIDER = 'rel-budget';
const MODEL = 'budget-model';
/** USD per million tokens = micro-dollars per token: 1,000 in + 200 out cost 12.3 + 9.12 = 21.42 µ$. */
const PRICE = { inputPerMTok: '0.0123', outputPerMTok: '0.0456' };
const USAGE: WireUsage = { inputTokens: 1000, outputTokens: 200, cachedInputTokens: 0 };
/** About 47 calls either way: close enough that sessions' floored shares may cross either limit first. */
const BUDGET = { maxTokens: 57_000, maxCostUsd: 0.001, maxSessions: 4 };
/** How long each child's call stays open: the kill and the outage fall on calls in flight. */
const CALL_MS = 2000;
const LOOP = 60;

/** A price's decimal text in 10⁻⁴ µ$ per token (4 decimal places at most here). */
function tenThousandths(usdPerMTok: string): bigint {
  const [whole, fraction = ''] = usdPerMTok.split('.');
  return BigInt(whole) * 10_000n + BigInt(fraction.padEnd(4, '0').slice(0, 4));
}

/** The call's exact cost in 10⁻⁴ µ$, computed here from the configured prices (not by the engine's code). */
const EXACT_CALL = BigInt(USAGE.inputTokens) * tenThousandths(PRICE.inputPerMTok) + BigInt(USAGE.outputTokens) * tenThousandths(PRICE.outputPerMTok);
/** Rounded half-up to a whole micro-dollar, once per call (docs/configuration.md#prices). */
const CALL_MICRO_USD = Number((EXACT_CALL + 5_000n) / 10_000n);
const CALL_TOKENS = USAGE.inputTokens + USAGE.outputTokens;

interface TreeFigures {
  sessions: string[];
  calls: ModelTurnResult[];
  retriedAttempts: number;
  /** Calls a cancellation interrupted (a child whose parent ran out is cancelled): the provider may have answered them, no result was recorded. */
  interrupted: number;
  open: string[];
  errors: string[];
}

/** Every run of the tree: its model calls, attempts beyond the first, runs still open, run errors. */
async function treeFromHistories(client: Client, rootId: string): Promise<TreeFigures> {
  const figures: TreeFigures = { sessions: [], calls: [], retriedAttempts: 0, interrupted: 0, open: [], errors: [] };
  for await (const run of client.workflow.list({ query: `BambooRootSessionId = "${rootId}"` })) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const calls = activityResults<ModelTurnResult>(history, 'callModel');
    if (calls.length > 0 && !figures.sessions.includes(run.workflowId)) figures.sessions.push(run.workflowId);
    figures.calls.push(...calls);
    figures.retriedAttempts += activityTaskAttempts(history, 'callModel').reduce((n, attempt) => n + attempt - 1, 0);
    if (run.status.name !== 'RUNNING') figures.interrupted += activityOutcomes(history, 'callModel').filter((call) => call.outcome === 'cancelled' || call.outcome === 'open').length;
    if (run.status.name === 'RUNNING' && run.workflowId !== sessionWorkflowId(rootId)) figures.open.push(run.workflowId);
    const result = history.events?.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    const error = result ? defaultPayloadConverter.fromPayload<{ error?: string }>(result as Parameters<typeof defaultPayloadConverter.fromPayload>[0])?.error : undefined;
    if (error) figures.errors.push(error);
  }
  return figures;
}

export function budgetFaultsScenario(): void {
  test('12 · budgets under faults: a priced depth-2 tree crosses its token and cost limits through a worker SIGKILL and a server restart', async () => {
    const record = beginScenario('12-budget-faults', 'budgets under faults: a depth-2 tree priced in fractions of a micro-dollar crosses its limits through a worker SIGKILL and a server restart');
    const llm = await startLlmServer();
    const server = await startRestartableServer('sqlite (budget faults)', 'budget-faults.sqlite');
    const taskQueue = useQueue(server.known, uniqueId('rel-budget'), record.id);
    const client = await clientFor(server.known.address, server.known.namespace);
    mkdirSync(RELIABILITY_OUT, { recursive: true });
    const configFile = join(RELIABILITY_OUT, 'budget-faults.config.json');
    writeFileSync(configFile, JSON.stringify({
      defaultProvider: PROVIDER,
      providers: [{ type: 'openai-compatible', name: PROVIDER, baseURL: `${llm.url}/v1`, apiKeyEnv: PROVIDER_KEY_ENV, models: [MODEL] }],
      prices: { [`${PROVIDER}/${MODEL}`]: PRICE },
    }));
    const worker = (label: string) => startWorkerProcess({ address: server.known.address, taskQueue, label, env: { BAMBOO_CONFIG: configFile } });
    try {
      await runScenario(record, async ({ workers, terminateAtEnd }) => {
        workers.push(await worker('budget-worker-1'));
        // Each session answers from its own route (its brief is in its requests): the root spawns
        // three children, one of them a grandchild; every child then calls a tool for ever.
        const marker = (name: string) => `${name}-${uniqueId('b')}`;
        const [a, b, c, g] = ['budget-a', 'budget-b', 'budget-c', 'budget-g'].map(marker);
        const spawn = (brief: string): Step => ({ kind: 'tool', name: 'spawn_session', args: { title: brief, responsibility: 'spend', prompt: brief, subagent_type: 'general' }, usage: USAGE });
        const loop = Array.from({ length: LOOP }, (): Step => ({ kind: 'tool', name: 'get_current_time', args: {}, usage: USAGE, delayMs: CALL_MS }));
        const text = (t: string): Step => ({ kind: 'text', chunks: [t], usage: USAGE });
        const session = { ...rootSession(marker('budget-root'), { 'child_watchdog.max_idle_secs': '5' }), model: MODEL };
        llm.route(session.messages[0].content, spawn(a), spawn(b), spawn(c), text('waiting for them'), ...Array.from({ length: 4 }, () => text('resumed')));
        llm.route(a, spawn(g), ...loop);
        llm.route(b, ...loop);
        llm.route(c, ...loop);
        llm.route(g, ...loop);
        await startSession(client, { session, options: { budget: BUDGET, maxSpawnDepth: 2 } }, { taskQueue });
        terminateAtEnd(client, [session.id]);
        const distinct = () => new Set(llm.requests.map((r) => JSON.stringify(r.body))).size;
        const closedSessions = async () => {
          let closed = 0;
          for await (const run of client.workflow.list({ query: `BambooRootSessionId = "${session.id}" AND ExecutionStatus != "Running"` })) if (run.workflowId !== sessionWorkflowId(session.id)) closed += 1;
          return closed;
        };

        // The kill once the children are under way; the outage once the tree has spent about half.
        await eventually(async () => distinct() >= 10, { timeoutMs: 60_000, intervalMs: 200, what: '10 provider calls' });
        const kill = { callsBefore: distinct(), sessionsClosed: await closedSessions() };
        await workers.at(-1)!.kill('SIGKILL');
        record.faults += 1;
        workers.push(await worker('budget-worker-2'));
        await eventually(async () => distinct() >= kill.callsBefore + 12, { timeoutMs: 90_000, intervalMs: 200, what: 'calls after the kill' });
        await sleep(randomInt(0, CALL_MS));
        const outage = { callsBefore: distinct(), sessionsClosed: await closedSessions(), downMs: randomInt(2000, 4000) };
        await server.stop();
        record.faults += 1;
        await sleep(outage.downMs);
        await server.restart();
        if (!workers.at(-1)!.alive()) workers.push(await worker('budget-worker-3'));

        const settled = await eventuallyOrUndefined(async () => {
          const s = await sessionState(client, session.id);
          const done = s.phase === 'idle' && s.waiting === null && s.lastRunStatus !== undefined && s.children.every((ch) => !['running', 'pending'].includes(ch.status));
          return done && (await treeFromHistories(client, session.id)).open.length === 0 ? s : undefined;
        }, { timeoutMs: 150_000, intervalMs: 1000 });
        const usage = await client.workflow.getHandle(sessionWorkflowId(session.id)).query(usageQuery);
        const tree = await treeFromHistories(client, session.id);
        const recorded = { tokens: tree.calls.reduce((n, call) => n + call.usage.inputTokens + call.usage.outputTokens, 0), costMicroUsd: tree.calls.reduce((n, call) => n + (call.costMicroUsd ?? 0), 0) };
        // The calls a limit admits (each a fixed size here), plus one call per session that could be past its share.
        const admitted = Math.min(Math.floor(BUDGET.maxTokens / CALL_TOKENS), Math.floor((BUDGET.maxCostUsd * 1_000_000) / CALL_MICRO_USD));
        const bound = admitted + tree.sessions.length;
        const figures = {
          providerRequests: llm.requests.length,
          distinctCalls: distinct(),
          callsInHistories: tree.calls.length,
          callsInterruptedByACancel: tree.interrupted,
          retriedAttemptsInHistories: tree.retriedAttempts,
          bound: `${admitted} calls the limits admit + ${tree.sessions.length} sessions = ${bound}`,
          limits: BUDGET,
          perCall: { tokens: CALL_TOKENS, exactMicroUsd: Number(EXACT_CALL) / 10_000, chargedMicroUsd: CALL_MICRO_USD },
          used: usage.budget?.used,
          reserved: usage.budget?.reserved,
          histories: { ...recorded, exactMicroUsd: (Number(EXACT_CALL) * tree.calls.length) / 10_000 },
          exceeded: tree.errors,
          atKill: kill,
          atOutage: outage,
          rootLastRun: settled ? `${settled.lastRunStatus}${settled.lastRunError ? `: ${settled.lastRunError}` : ''}` : 'did not settle',
          children: settled?.children.map((ch) => ch.status),
        };
        record.details = { ...record.details, ...figures };
        record.runs = tree.sessions.length;
        record.notes.push('distinct calls = distinct request bodies at the provider (a retried attempt repeats its body); bound from docs/architecture.md#budgets');

        expect(settled).toBeDefined(); // the root idle, no wait, every child terminal, every child run closed
        expect(tree.errors.filter((e) => e.startsWith('Session budget exceeded')).length).toBeGreaterThan(0); // the limits were crossed
        expect(kill.sessionsClosed).toBe(0); // ... after the kill: nothing had closed yet
        expect(outage.sessionsClosed).toBeLessThan(tree.sessions.length - 1); // ... and some still ran past the outage
        // The provider answered the calls the histories record, and at most the calls a cancellation
        // interrupted besides (a parent past its share cancels its children, one call in flight each).
        expect(distinct()).toBeGreaterThanOrEqual(tree.calls.length);
        expect(distinct()).toBeLessThanOrEqual(tree.calls.length + tree.interrupted);
        expect(tree.interrupted).toBeLessThanOrEqual(tree.errors.filter((e) => e === 'Child session cancelled').length);
        expect(distinct()).toBeLessThanOrEqual(bound);
        expect(llm.requests.length).toBeLessThanOrEqual(distinct() + tree.retriedAttempts); // extra requests are retried attempts
        expect(tree.calls.every((call) => call.costMicroUsd === CALL_MICRO_USD)).toBe(true);
        expect(usage.budget?.used.tokens).toBe(recorded.tokens);
        expect(usage.budget?.used.costMicroUsd).toBe(recorded.costMicroUsd);
        expect(usage.budget?.reserved).toEqual({ tokens: 0, costMicroUsd: 0, sessions: 0 });
      });
    } finally {
      await llm.stop();
    }
  }, 300_000);
}
