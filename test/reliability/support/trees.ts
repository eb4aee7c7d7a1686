/**
 * Starting root sessions whose scripted turns spawn children, and checking the promise the
 * engine makes about them: every child reaches a terminal status, every child run sends
 * exactly one completion signal, each parent's transcript reports every child exactly once,
 * and every parent resumes (idle, no wait).
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startSession } from '../../../client/root-sessions';
import { addUsage, sessionWorkflowId, type ModelTurnResult, type SessionOptionsInput, type Usage, usageQuery, type SessionRunState } from '../../../common';
import { resumeMessages, sessionState, sessionTranscript } from '../../helpers/root';
import { auditTotals, auditTreeSettled, type TreeAudit } from '../../helpers/tree-audit';
import { activityResults } from '../../helpers/history-text';
import { rootSession } from '../../helpers/session-fixtures';
import { recordAudit, type ScenarioRecord } from './summary';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { mapLimit, randomInt, sleep } from './util';

const TERMINAL = new Set(['completed', 'error', 'cancelled', 'timeout', 'skipped']);

export interface TreeSpec {
  roots: number;
  childrenPerRoot: number;
  /** Each child sleeps a random whole number of seconds in [min, max] (one token a second). */
  sleepSecs: [number, number];
  metadata?: Record<string, string>;
  options?: SessionOptionsInput;
}

export interface StartedTree {
  rootIds: string[];
  childrenPerRoot: number;
}

export async function startTrees(client: Client, taskQueue: string, spec: TreeSpec, label: string): Promise<StartedTree> {
  const rootIds: string[] = [];
  await mapLimit(Array.from({ length: spec.roots }, (_, r) => r), 4, async (r) => {
    const prompt = Array.from({ length: spec.childrenPerRoot }, (_, i) => `[[spawn:${label}-${r}-${i}|[[sleep:${randomInt(...spec.sleepSecs)}]] part ${r}.${i}]]`).join(' ');
    const session = rootSession(`${prompt} plan ${label} ${r}`, spec.metadata ?? {});
    await startSession(client, { session, options: { maxRunningChildren: Math.max(spec.childrenPerRoot, 32), ...spec.options } }, { taskQueue });
    rootIds.push(session.id);
  });
  return { rootIds, childrenPerRoot: spec.childrenPerRoot };
}

/**
 * Roots whose children sleep 4–10 s (idle watchdog 10 s), returned once every child has
 * started and a random 0–3 s later: the moment a fault scenario strikes.
 */
export async function startTreesInFlight(client: Client, taskQueue: string, roots: number, childrenPerRoot: number, label: string): Promise<StartedTree> {
  // A budget that admits exactly these children: its reservations must be held and released whatever the fault.
  const options = { budget: { maxSessions: childrenPerRoot, maxTokens: 10_000_000 } };
  const tree = await startTrees(client, taskQueue, { roots, childrenPerRoot, sleepSecs: [4, 10], metadata: { 'child_watchdog.max_idle_secs': '10' }, options }, label);
  await eventuallyOrUndefined(async () => (await childrenInFlight(client, tree.rootIds)).known >= roots * childrenPerRoot, { timeoutMs: 120_000, intervalMs: 500 });
  await sleep(randomInt(0, 3000));
  return tree;
}

/** How many children of these roots are running now (by the roots' state queries). */
export async function childrenInFlight(client: Client, rootIds: string[]): Promise<{ running: number; known: number; terminal: number }> {
  const states = await Promise.all(rootIds.map((id) => sessionState(client, id).catch(() => undefined)));
  let running = 0;
  let known = 0;
  let terminal = 0;
  for (const s of states) {
    for (const c of s?.children ?? []) {
      known += 1;
      if (c.status === 'running' || c.status === 'pending') running += 1;
      if (TERMINAL.has(c.status)) terminal += 1;
    }
  }
  return { running, known, terminal };
}

export interface TreeReport {
  roots: number;
  rootsResumed: number;
  children: number;
  expectedChildren: number;
  statuses: Record<string, number>;
  /** Children missing, not terminal, never reported to the parent, or that sent no completion. */
  lost: string[];
  /** Children that sent more than one completion, or were reported more than once. */
  duplicated: string[];
  resumeMessages: number;
  completionSignals: number;
  /** Child results reported in the parents' transcripts. */
  reported: number;
  problems: string[];
  childIds: string[];
  /** Each root's tree audited from Temporal's records (test/helpers/tree-audit.ts). */
  audits: TreeAudit[];
}

function isSettled(s: SessionRunState, expected: number): boolean {
  return (
    s.phase === 'idle' &&
    s.waiting === null &&
    s.children.length >= expected &&
    s.children.every((c) => TERMINAL.has(c.status)) &&
    s.lastRunStatus !== undefined
  );
}

/** Waits (up to `timeoutMs`) for every root to settle, then checks the whole tree. Never throws on a timeout: it reports. */
export async function checkTrees(client: Client, tree: StartedTree, timeoutMs: number): Promise<TreeReport> {
  const report: TreeReport = {
    roots: tree.rootIds.length,
    rootsResumed: 0,
    children: 0,
    expectedChildren: tree.rootIds.length * tree.childrenPerRoot,
    statuses: {},
    lost: [],
    duplicated: [],
    resumeMessages: 0,
    completionSignals: 0,
    reported: 0,
    problems: [],
    childIds: [],
    audits: [],
  };
  const deadline = Date.now() + timeoutMs;
  for (const rootId of tree.rootIds) {
    let last: SessionRunState | undefined;
    const settled = await eventuallyOrUndefined(async () => {
      last = await sessionState(client, rootId);
      return isSettled(last, tree.childrenPerRoot) ? last : undefined;
    }, { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 1000 });
    const state = settled ?? last;
    if (!settled) report.problems.push(`root ${rootId} did not settle: ${JSON.stringify({ phase: last?.phase, waiting: last?.waiting, children: last?.children.length })}`);
    const children = state?.children ?? [];
    report.children += children.length;
    report.childIds.push(...children.map((c) => c.childSessionId));
    for (let missing = children.length; missing < tree.childrenPerRoot; missing++) report.lost.push(`${rootId}: child #${missing + 1} never spawned`);

    const transcript = await sessionTranscript(client, rootId).catch(() => []);
    const resumes = resumeMessages(transcript);
    report.resumeMessages += resumes.length;
    const resumed = settled !== undefined && resumes.length > 0 && transcript.at(-1)?.role === 'assistant';
    if (resumed) report.rootsResumed += 1;
    else report.problems.push(`root ${rootId} did not resume (resume messages ${resumes.length}, last message ${transcript.at(-1)?.role})`);

    // Reports counted in every run of the parent and of each child's workflow id, by the audit.
    const audit = await auditTreeSettled(client, rootId, { childSessions: tree.childrenPerRoot, chainsPerChild: 1 });
    report.audits.push(audit);
    const received = new Map(audit.chainsById.map((c) => [c.childSessionId, 0]));
    for (const chain of audit.chainsById) received.set(chain.childSessionId, received.get(chain.childSessionId)! + chain.reportsReceived.length);
    children.forEach((child) => {
      report.statuses[child.status] = (report.statuses[child.status] ?? 0) + 1;
      const reported = resumes.reduce((n, m) => n + (m.content.split(`child session \`${child.childSessionId}\``).length - 1), 0);
      const signals = received.get(child.childSessionId) ?? 0;
      report.completionSignals += signals;
      report.reported += reported;
      const tag = `${child.childSessionId} (status ${child.status}, signals ${signals}, reported ${reported})`;
      if (!TERMINAL.has(child.status) || reported === 0 || signals < 1) report.lost.push(tag);
      else if (reported > 1 || signals > 1) report.duplicated.push(tag);
    });
  }
  return report;
}

export async function terminateRoots(client: Client, rootIds: string[]): Promise<void> {
  await Promise.all(rootIds.map((id) => client.workflow.getHandle(sessionWorkflowId(id)).terminate('reliability scenario done').catch(() => undefined)));
}

/**
 * Failed workflow tasks that are Temporal at work, not errors: a task that tried to close the
 * workflow as a signal arrived (UNHANDLED_COMMAND: Temporal refuses it, and the next task
 * handles the signal first), and — where a scenario terminates runs itself — a task in flight
 * when it did (FORCE_CLOSE_COMMAND). Any other cause is an error.
 */
export const REFUSED_TASK_CAUSES: ReadonlySet<string> = new Set(['FORCE_CLOSE_COMMAND', 'UNHANDLED_COMMAND']);
const SIGNAL_RACE: ReadonlySet<string> = new Set(['UNHANDLED_COMMAND']);

export function taskFailedCause(cause: number | null | undefined): string {
  return temporal.api.enums.v1.WorkflowTaskFailedCause[cause ?? 0]?.replace('WORKFLOW_TASK_FAILED_CAUSE_', '') ?? String(cause);
}

/**
 * Event counts of interest in a set of histories: failed workflow tasks that are errors
 * (`workflowTaskFailed`) and those Temporal refused on purpose (`workflowTaskRefused`, with
 * their causes), timed-out workflow tasks, activity retries.
 */
export async function historyCounts(
  client: Client,
  workflowIds: string[],
  refused: ReadonlySet<string> = SIGNAL_RACE,
): Promise<{ events: number; workflowTaskFailed: number; workflowTaskRefused: number; workflowTaskTimedOut: number; activityRetries: number; activityTimedOut: number; failedTaskCauses: Record<string, number> }> {
  const counts = { events: 0, workflowTaskFailed: 0, workflowTaskRefused: 0, workflowTaskTimedOut: 0, activityRetries: 0, activityTimedOut: 0, failedTaskCauses: {} as Record<string, number> };
  await mapLimit(workflowIds, 8, async (workflowId) => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory().catch(() => undefined);
    counts.events += history?.events?.length ?? 0;
    for (const e of history?.events ?? []) {
      const failed = e.workflowTaskFailedEventAttributes;
      if (failed) {
        const cause = taskFailedCause(failed.cause);
        counts.failedTaskCauses[cause] = (counts.failedTaskCauses[cause] ?? 0) + 1;
        if (refused.has(cause)) counts.workflowTaskRefused += 1;
        else counts.workflowTaskFailed += 1;
      }
      if (e.workflowTaskTimedOutEventAttributes) counts.workflowTaskTimedOut += 1;
      if (e.activityTaskTimedOutEventAttributes) counts.activityTimedOut += 1;
      if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) counts.activityRetries += 1;
    }
  });
  return counts;
}

export function summarizeReport(report: TreeReport): Record<string, unknown> {
  return {
    roots: report.roots,
    rootsResumed: report.rootsResumed,
    children: `${report.children}/${report.expectedChildren}`,
    statuses: report.statuses,
    completionSignals: report.completionSignals,
    resumeMessages: report.resumeMessages,
    lost: report.lost.slice(0, 10),
    duplicated: report.duplicated.slice(0, 10),
    problems: report.problems.slice(0, 10),
  };
}

/** The audit's findings over the report's trees, recorded beside the engine's figures. */
export function auditFindings(report: TreeReport, record: ScenarioRecord): string[] {
  const totals = auditTotals(report.audits);
  recordAudit(record, totals, { children: report.children, reported: report.reported, lost: report.lost.length, duplicated: report.duplicated.length });
  return totals.findings;
}

/**
 * Waits for the trees to settle, records lost / duplicated / failed-task counts on the
 * scenario, and asserts the engine's promise: `expectedChildren` children, all completed,
 * none lost or doubled, each parent resumed exactly once, no failed workflow task.
 */
export async function expectTreesKept(
  client: Client,
  tree: StartedTree,
  record: ScenarioRecord,
  expectedChildren: number,
  note: string,
): Promise<{ report: TreeReport; counts: Awaited<ReturnType<typeof historyCounts>>; workflowIds: string[] }> {
  const report = await checkTrees(client, tree, 300_000);
  const workflowIds = [...tree.rootIds, ...report.childIds].map(sessionWorkflowId);
  const counts = await historyCounts(client, workflowIds);
  record.lost = report.lost.length;
  record.duplicated = report.duplicated.length;
  record.serverErrors = counts.workflowTaskFailed;
  record.details = { ...record.details, ...summarizeReport(report), histories: counts };
  record.notes.push(note);

  const findings = auditFindings(report, record);

  expect(report.problems).toEqual([]);
  expect(report.lost).toEqual([]);
  expect(report.duplicated).toEqual([]);
  expect(findings).toEqual([]); // Temporal's records agree with the engine: nothing lost, doubled, run twice or miscounted
  expect(report.children).toBe(expectedChildren);
  expect(report.statuses).toEqual({ completed: expectedChildren });
  expect(report.rootsResumed).toBe(tree.rootIds.length);
  expect(report.resumeMessages).toBe(tree.rootIds.length); // wait policy `all`: each parent resumed exactly once
  expect(counts.workflowTaskFailed).toBe(0);
  const ledger = await ledgerMismatches(client, tree.rootIds);
  record.details.ledger = { roots: tree.rootIds.length, exact: tree.rootIds.length - ledger.length };
  expect(ledger).toEqual([]); // each root's usage = the sum of every model call recorded in its tree
  return { report, counts, workflowIds };
}

/**
 * Roots whose `usage` subtree differs from the sum of every `callModel` result recorded in
 * their tree's histories (all runs, all sessions). Whatever the faults, the ledger must be
 * exact: a call retried after a kill is counted once, the one whose result was recorded.
 */
export async function ledgerMismatches(client: Client, rootIds: string[]): Promise<string[]> {
  const mismatches = await mapLimit(rootIds, 4, async (rootId) => {
    const check = async () => {
      const ledger = await client.workflow.getHandle(sessionWorkflowId(rootId)).query(usageQuery);
      let recorded: Usage = { inputTokens: 0, outputTokens: 0 };
      for await (const run of client.workflow.list({ query: `BambooRootSessionId = "${rootId}"` })) {
        for (const call of activityResults<ModelTurnResult>(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(), 'callModel')) {
          recorded = addUsage(recorded, call.usage);
        }
      }
      if (JSON.stringify(ledger.subtree) !== JSON.stringify(recorded)) return `${rootId}: ledger ${JSON.stringify(ledger.subtree)}, histories ${JSON.stringify(recorded)}`;
      // With a budget: what it counts as used is the same sum, and nothing stays reserved once the tree settled.
      const budget = ledger.budget;
      if (!budget) return undefined;
      const tokens = recorded.inputTokens + recorded.outputTokens;
      const held = budget.reserved.tokens + budget.reserved.costMicroUsd + budget.reserved.sessions;
      return budget.used.tokens === tokens && held === 0 && budget.used.sessions === ledger.childRuns
        ? undefined
        : `${rootId}: budget used ${JSON.stringify(budget.used)}, reserved ${JSON.stringify(budget.reserved)}, histories ${tokens} tokens, ${ledger.childRuns} child runs`;
    };
    // Visibility lists a just-closed run a moment late: look again before calling it a mismatch.
    const found: { mismatch?: string } = {};
    const exact = await eventuallyOrUndefined(async () => (found.mismatch = await check()) === undefined, { timeoutMs: 10_000, intervalMs: 1000 });
    return exact ? undefined : found.mismatch;
  });
  return mismatches.filter((m): m is string => m !== undefined);
}
