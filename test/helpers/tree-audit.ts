/**
 * An audit of a root session's tree from Temporal's own records, independent of the engine's
 * code (issue 32): visibility (`BambooRootSessionId`, and the root's workflow id), `describe()`
 * of every run, and the history of every run, continued-as-new and reset ones included. It
 * rebuilds what the engine claims — every child run closed and reported to its parent exactly
 * once, the usage of every model call counted once — and compares it with the engine's own view
 * (the root's `state` and `usage` queries).
 *
 * Terms:
 *  - a *chain* is one start of a child session's workflow id and the runs linked to it by
 *    continue-as-new or reset (they share the first run's id, the `runId` of the chain's
 *    reports); a follow-up is a new chain of the same workflow id;
 *  - a *report* is one `subSessionCompleted` signal. A chain sends one, plus one more per batch
 *    of messages that reached its run after it reported (issue 25: each carries a larger
 *    `unansweredMessages`). A report is identified by (childSessionId, runId, unansweredMessages);
 *  - *duplicated*: the same report received twice in the parent's runs, or a report received
 *    that the chain never sent;
 *  - *lost*: a report the chain's history says was delivered that no parent run received, a
 *    chain that completed without reporting, a chain still open, a run the parent does not list;
 *  - a chain terminated, timed out or failed may send nothing: the engine promises that the
 *    parent then reconciles it from the run's close (docs/architecture.md#completions-and-reconciliation),
 *    so the check there is the parent's state, not a signal.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { addUsage, BambooParentSessionId, sessionIdFromWorkflowId, sessionWorkflowId, treeRunsQuery, type ChildCompletion, type ChildRunResult, type ModelTurnResult, type Usage, stateQuery, usageQuery } from '../../common';
import { activityResults } from './history-text';

/** A failed workflow task's cause by number, without its enum prefix. */
const TASK_FAILED_CAUSE: Record<number, string> = Object.fromEntries(
  Object.entries(temporal.api.enums.v1.WorkflowTaskFailedCause).map(([name, n]) => [n, name.replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '')]),
);

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = Parameters<typeof defaultPayloadConverter.fromPayload>[0];

const SIGNAL = 'subSessionCompleted';
const RESET_CAUSE = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW;
const ZERO: Usage = { inputTokens: 0, outputTokens: 0 };

export interface AuditExpectations {
  /** Child sessions (at any depth) the scenario caused. */
  childSessions?: number;
  /** Chains (separate starts) each child workflow id must have; by session id, or one number for all. */
  chainsPerChild?: number | Record<string, number>;
}

/** What the audit read about one run of a workflow id. */
export interface RunRecord {
  workflowId: string;
  runId: string;
  /** The chain's first run id (continue-as-new and reset keep it). */
  chainId: string;
  startTime: number;
  closeStatus: string;
  result?: ChildRunResult;
  /** Events this run did itself (a reset run's copied prefix left out). */
  events: HistoryEvent[];
}

export interface ChainAudit {
  childSessionId: string;
  parentSessionId: string;
  runId: string;
  runs: number;
  /** The close of the chain's last run (describe()): COMPLETED, FAILED, TERMINATED, TIMED_OUT, CANCELED, RUNNING. */
  closeStatus: string;
  /** The status the engine must report for it: the run's own result, or what its close means. */
  status: string;
  /** Reports the chain's histories say reached the parent's workflow id. */
  reportsDelivered: number;
  /** Reports received in the parent's runs, by `unansweredMessages`. */
  reportsReceived: number[];
  usage: Usage;
}

export interface TreeAudit {
  rootSessionId: string;
  childSessions: number;
  chains: number;
  /** Every workflow run of the tree, the root's included. */
  runs: number;
  /** Latest chain of each child session, by the status it must be reported with. */
  statuses: Record<string, number>;
  closeStatuses: Record<string, number>;
  /** Completion signals in all the parents' runs, and the distinct reports among them. */
  signalsReceived: number;
  reportsReceived: number;
  lost: string[];
  duplicated: string[];
  /** Usage rebuilt from every `callModel` result of every run. */
  usage: { self: Usage; subtree: Usage; childRuns: number };
  /** The engine's view, as read. */
  engine: { statuses: Record<string, number>; subtree?: Usage; childRuns?: number };
  /** Where the engine's view and Temporal's records disagree, or an expectation is not met. */
  disagreements: string[];
  /** Failed workflow tasks in every run of the tree, by cause (`RESET_WORKFLOW`, …). */
  taskFailures: Record<string, number>;
  chainsById: ChainAudit[];
}

/** The status the engine reports for a chain whose last run closed this way (common/run-close.ts). */
function statusOfClose(run: RunRecord): string {
  switch (run.closeStatus) {
    case 'COMPLETED':
      return run.result?.status ?? 'unknown result';
    case 'TERMINATED':
    case 'FAILED':
      return 'error';
    case 'TIMED_OUT':
      return 'timeout';
    case 'CANCELLED':
    case 'CANCELED':
      return 'cancelled';
    default:
      return run.closeStatus.toLowerCase();
  }
}

function decode<T>(payload: unknown): T | undefined {
  try {
    return payload ? defaultPayloadConverter.fromPayload<T>(payload as Payload) : undefined;
  } catch {
    return undefined;
  }
}

/** The events a run did itself: after a reset, those before the reset point were copied from the base run. */
function ownEvents(events: HistoryEvent[]): HistoryEvent[] {
  const reset = events.findLastIndex((e) => e.workflowTaskFailedEventAttributes?.cause === RESET_CAUSE);
  return reset < 0 ? events : events.slice(reset + 1);
}

async function readRun(client: Client, info: WorkflowExecutionInfo): Promise<RunRecord> {
  const handle = client.workflow.getHandle(info.workflowId, info.runId);
  const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const completed = events.at(-1)?.workflowExecutionCompletedEventAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    chainId: started?.firstExecutionRunId || info.runId,
    startTime: description.startTime.getTime(),
    closeStatus: description.status.name,
    result: decode<ChildRunResult>(completed?.result?.payloads?.[0]),
    events: ownEvents(events),
  };
}

async function list(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) infos.push(info);
  return infos;
}

/**
 * Every run of the tree: visibility by root id and the root's own workflow id, then every run
 * of each workflow id found, by id — a run that never set `BambooRootSessionId` (one that could
 * not load its snapshot, one started by hand) is still a run of that child session.
 */
async function listRuns(client: Client, rootSessionId: string): Promise<WorkflowExecutionInfo[]> {
  const found = await list(client, treeRunsQuery(rootSessionId));
  const byRun = new Map(found.map((info) => [info.runId, info]));
  const ids = [...new Set(found.map((info) => info.workflowId))];
  for (let i = 0; i < ids.length; i += 8) {
    const lists = await Promise.all(ids.slice(i, i + 8).map((id) => list(client, `WorkflowId = "${id}"`)));
    for (const info of lists.flat()) if (!byRun.has(info.runId)) byRun.set(info.runId, info);
  }
  return [...byRun.values()];
}

/** Usage of every callModel a run recorded as completed. */
function modelUsage(events: HistoryEvent[]): Usage {
  return activityResults<ModelTurnResult>({ events }, 'callModel').reduce((usage, result) => (result.usage ? addUsage(usage, result.usage) : usage), ZERO);
}

/** Completion signals a run's history says reached their target (SignalExternal… initiated, then signalled). */
function reportsDelivered(events: HistoryEvent[]): number {
  const initiated = new Set(events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === SIGNAL).map((e) => String(e.eventId)));
  return events.filter((e) => e.externalWorkflowExecutionSignaledEventAttributes && initiated.has(String(e.externalWorkflowExecutionSignaledEventAttributes.initiatedEventId))).length;
}

/**
 * Completion signals received in a parent's run: (childSessionId, runId, unansweredMessages), and
 * whether a workflow sent it (Temporal records the sending execution) or a client did.
 */
function reportsIn(events: HistoryEvent[]): { childSessionId: string; runId: string; unanswered: number; byWorkflow: boolean }[] {
  return events.flatMap((e) => {
    const signalled = e.workflowExecutionSignaledEventAttributes;
    if (signalled?.signalName !== SIGNAL) return [];
    const completion = decode<Partial<ChildCompletion>>(signalled.input?.payloads?.[0]);
    const byWorkflow = Boolean(signalled.externalWorkflowExecution?.workflowId);
    return [{ childSessionId: String(completion?.childSessionId), runId: String(completion?.runId), unanswered: completion?.unansweredMessages ?? 0, byWorkflow }];
  });
}

/** How many times each key occurs, keys in order. */
export function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of [...keys].sort()) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

const same = (a: Usage | undefined, b: Usage | undefined) => (a?.inputTokens ?? 0) === (b?.inputTokens ?? 0) && (a?.outputTokens ?? 0) === (b?.outputTokens ?? 0);
const show = (u: Usage | undefined) => (u ? `${u.inputTokens}/${u.outputTokens}` : 'none');

/**
 * Audits the tree of `rootSessionId` once (see `auditTreeSettled` for a tree that just settled).
 * Reads only Temporal's records and the root's public queries. Never throws for a finding: it is
 * in `lost`, `duplicated` or `disagreements`.
 */
export async function auditTree(client: Client, rootSessionId: string, expectations: AuditExpectations = {}): Promise<TreeAudit> {
  return judge(await readTree(client, rootSessionId), expectations);
}

/** Everything the audit reads: every run of the tree, each child's parent, the engine's view. */
export interface TreeRecords {
  rootSessionId: string;
  runs: RunRecord[];
  /** BambooParentSessionId by workflow id. */
  parentOf: Map<string, string | undefined>;
  engine: EngineView;
}

export async function readTree(client: Client, rootSessionId: string): Promise<TreeRecords> {
  const infos = await listRuns(client, rootSessionId);
  const runs = await Promise.all(infos.map((info) => readRun(client, info)));
  const parentOf = new Map<string, string | undefined>();
  for (const info of infos) parentOf.set(info.workflowId, parentOf.get(info.workflowId) ?? info.typedSearchAttributes.get(BambooParentSessionId));
  return { rootSessionId, runs, parentOf, engine: await engineView(client, sessionWorkflowId(rootSessionId)) };
}

export interface EngineView {
  children: { childSessionId: string; status: string }[];
  self?: Usage;
  subtree?: Usage;
  childUsage: Map<string, Usage>;
  childRuns?: number;
  error?: string;
}

async function engineView(client: Client, rootWorkflowId: string): Promise<EngineView> {
  const handle = client.workflow.getHandle(rootWorkflowId);
  try {
    const [state, usage] = await Promise.all([handle.query(stateQuery), handle.query(usageQuery)]);
    return { children: state.children, self: usage.self, subtree: usage.subtree, childUsage: new Map(usage.children.map((c) => [c.childSessionId, c.usage])), childRuns: usage.childRuns };
  } catch (error) {
    return { children: [], childUsage: new Map(), error: String(error) };
  }
}

/**
 * The audit proper, from runs already read: exported so a test can hand it a mutated record
 * (a report removed, a run added) and see it fail.
 */
export function judge({ rootSessionId, runs, parentOf, engine }: TreeRecords, expectations: AuditExpectations = {}): TreeAudit {
  const rootWorkflowId = sessionWorkflowId(rootSessionId);
  const disagreements: string[] = [];
  const lost: string[] = [];
  const duplicated: string[] = [];
  if (engine.error) disagreements.push(`the root's state/usage queries failed: ${engine.error}`);

  // Runs by workflow id, then by chain (oldest first).
  const byWorkflow = new Map<string, RunRecord[]>();
  for (const run of runs) byWorkflow.set(run.workflowId, [...(byWorkflow.get(run.workflowId) ?? []), run]);
  const received = new Map<string, number[]>();
  /** Reports a client sent of runs that are not in the tree: inputs (a scenario's hostile ones), not reports. */
  const fromClients = new Map<string, number>();
  let signalsReceived = 0;
  for (const run of runs) {
    for (const report of reportsIn(run.events)) {
      signalsReceived += 1;
      const key = `${report.childSessionId}/${report.runId}`;
      received.set(key, [...(received.get(key) ?? []), report.unanswered]);
      if (!report.byWorkflow) fromClients.set(key, (fromClients.get(key) ?? 0) + 1);
    }
  }

  const chains: ChainAudit[] = [];
  const selfUsage = new Map<string, Usage>();
  for (const [workflowId, wfRuns] of byWorkflow) {
    const sessionId = sessionIdFromWorkflowId(workflowId) ?? workflowId;
    selfUsage.set(sessionId, wfRuns.reduce((u, r) => addUsage(u, modelUsage(r.events)), ZERO));
    if (workflowId === rootWorkflowId) continue;
    const byChain = new Map<string, RunRecord[]>();
    for (const run of [...wfRuns].sort((a, b) => a.startTime - b.startTime)) byChain.set(run.chainId, [...(byChain.get(run.chainId) ?? []), run]);
    for (const [chainId, chainRuns] of byChain) {
      const last = chainRuns.at(-1)!;
      const parentSessionId = parentOf.get(workflowId) ?? '?';
      chains.push({
        childSessionId: sessionId,
        parentSessionId,
        runId: chainId,
        runs: chainRuns.length,
        closeStatus: last.closeStatus,
        status: statusOfClose(last),
        reportsDelivered: chainRuns.reduce((n, r) => n + reportsDelivered(r.events), 0),
        reportsReceived: received.get(`${sessionId}/${chainId}`) ?? [],
        usage: chainRuns.reduce((u, r) => addUsage(u, modelUsage(r.events)), ZERO),
      });
      received.delete(`${sessionId}/${chainId}`);
    }
  }

  // Reports and closes, chain by chain.
  for (const chain of chains) {
    const tag = `${chain.childSessionId} run ${chain.runId} (${chain.closeStatus}, ${chain.status}; delivered ${chain.reportsDelivered}, received ${chain.reportsReceived.length})`;
    const distinct = new Set(chain.reportsReceived).size;
    if (chain.reportsReceived.length > distinct) duplicated.push(`${tag}: the same report received ${chain.reportsReceived.length - distinct} extra time(s)`);
    else if (chain.reportsReceived.length > chain.reportsDelivered) duplicated.push(`${tag}: more reports received than the chain sent`);
    if (chain.closeStatus === 'RUNNING') lost.push(`${tag}: still open`);
    else if (chain.reportsReceived.length < chain.reportsDelivered) lost.push(`${tag}: a report its history says was delivered is in no run of the parent`);
    else if (chain.closeStatus === 'COMPLETED' && chain.reportsDelivered === 0) lost.push(`${tag}: completed without reporting`);
  }
  for (const [key, reports] of received) {
    // Of a run no chain in the tree is: a duplicate unless a client sent them all (then inputs, not reports).
    if (fromClients.get(key) !== reports.length) duplicated.push(`${key}: ${reports.length} report(s) of a run that is not in the tree`);
  }

  // Chains per child, against what the scenario caused.
  const sessions = [...new Set(chains.map((c) => c.childSessionId))];
  if (expectations.childSessions !== undefined && sessions.length !== expectations.childSessions) {
    disagreements.push(`${sessions.length} child sessions in Temporal, the scenario made ${expectations.childSessions}`);
  }
  if (expectations.chainsPerChild !== undefined) {
    for (const sessionId of sessions) {
      const wanted = typeof expectations.chainsPerChild === 'number' ? expectations.chainsPerChild : expectations.chainsPerChild[sessionId];
      const actual = chains.filter((c) => c.childSessionId === sessionId).length;
      if (wanted !== undefined && actual !== wanted) disagreements.push(`${sessionId}: ${actual} separate runs (chains), the scenario caused ${wanted}`);
    }
  }

  // The engine's view of the root's own children: each listed, with its latest chain's status.
  const latest = new Map<string, ChainAudit>();
  for (const chain of chains) latest.set(chain.childSessionId, chain); // chains are in start order per session
  const direct = sessions.filter((id) => latest.get(id)!.parentSessionId === rootSessionId);
  const listed = new Map(engine.children.map((c) => [c.childSessionId, c.status]));
  for (const id of direct) {
    const status = listed.get(id);
    const expected = latest.get(id)!.status;
    if (status === undefined) lost.push(`${id}: ran (${latest.get(id)!.closeStatus}) but the root does not list it`);
    else if (!engine.error && status !== expected) disagreements.push(`${id}: the root says ${status}, its last run closed ${latest.get(id)!.closeStatus} (${expected})`);
  }
  for (const [id, status] of listed) {
    if (!direct.includes(id) && status === 'completed') disagreements.push(`${id}: the root says completed, Temporal has no run of it`);
  }

  // Usage: every session's calls, each child's subtree, against the engine's ledger.
  const childrenOf = (parent: string) => sessions.filter((id) => latest.get(id)!.parentSessionId === parent);
  const subtreeOf = (id: string): Usage => childrenOf(id).reduce((u, child) => addUsage(u, subtreeOf(child)), selfUsage.get(id) ?? ZERO);
  const usage = { self: selfUsage.get(rootSessionId) ?? ZERO, subtree: subtreeOf(rootSessionId), childRuns: chains.length };
  if (!engine.error) {
    if (!same(engine.self, usage.self)) disagreements.push(`root usage: the engine says ${show(engine.self)} (in/out), its calls recorded ${show(usage.self)}`);
    if (!same(engine.subtree, usage.subtree)) disagreements.push(`subtree usage: the engine says ${show(engine.subtree)}, every call recorded in the tree ${show(usage.subtree)}`);
    for (const id of direct) {
      if (!same(engine.childUsage.get(id), subtreeOf(id))) disagreements.push(`${id}: the root counts ${show(engine.childUsage.get(id))} for its subtree, its runs recorded ${show(subtreeOf(id))}`);
    }
    // Runs that closed without reporting (terminated, timed out) count too: they were started.
    if (engine.childRuns !== usage.childRuns) disagreements.push(`child runs: the engine counts ${engine.childRuns}, Temporal has ${usage.childRuns} chains in the tree`);
  }

  const closeStatuses = countBy(chains.map((c) => c.closeStatus));
  const taskFailures = countBy(
    runs.flatMap((run) => run.events.flatMap((e) => (e.workflowTaskFailedEventAttributes ? [TASK_FAILED_CAUSE[e.workflowTaskFailedEventAttributes.cause ?? 0] ?? 'UNKNOWN'] : []))),
  );
  return {
    rootSessionId,
    childSessions: sessions.length,
    chains: chains.length,
    runs: runs.length,
    statuses: countBy(sessions.map((id) => latest.get(id)!.status)),
    closeStatuses,
    signalsReceived,
    reportsReceived: chains.reduce((n, c) => n + new Set(c.reportsReceived).size, 0),
    lost,
    duplicated,
    usage,
    engine: { statuses: countBy(engine.children.map((c) => c.status)), subtree: engine.subtree, childRuns: engine.childRuns },
    disagreements,
    taskFailures,
    chainsById: chains,
  };
}

/** One audit per root, combined: the figures the summary reports beside the engine's. */
export interface AuditTotals {
  roots: number;
  childSessions: number;
  chains: number;
  runs: number;
  signalsReceived: number;
  reportsReceived: number;
  lost: number;
  duplicated: number;
  usage: Usage;
  findings: string[];
}

export function auditTotals(audits: TreeAudit[]): AuditTotals {
  return {
    roots: audits.length,
    childSessions: audits.reduce((n, a) => n + a.childSessions, 0),
    chains: audits.reduce((n, a) => n + a.chains, 0),
    runs: audits.reduce((n, a) => n + a.runs, 0),
    signalsReceived: audits.reduce((n, a) => n + a.signalsReceived, 0),
    reportsReceived: audits.reduce((n, a) => n + a.reportsReceived, 0),
    lost: audits.reduce((n, a) => n + a.lost.length, 0),
    duplicated: audits.reduce((n, a) => n + a.duplicated.length, 0),
    usage: audits.reduce((u, a) => addUsage(u, a.usage.subtree), ZERO),
    findings: audits.flatMap((a) => [...a.lost, ...a.duplicated, ...a.disagreements].map((f) => `${a.rootSessionId}: ${f}`)),
  };
}

/**
 * Audits a tree that has just settled: visibility lists a just-closed run (and its search
 * attributes) a moment late, so a finding is looked at again for up to `timeoutMs` before it counts.
 */
export async function auditTreeSettled(client: Client, rootSessionId: string, expectations: AuditExpectations = {}, timeoutMs = 10_000): Promise<TreeAudit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const audit = await auditTree(client, rootSessionId, expectations);
    const clean = audit.lost.length + audit.duplicated.length + audit.disagreements.length === 0;
    if (clean || Date.now() >= deadline) return audit;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Completion signals a child session's chains delivered, over every run of its workflow id. */
export async function completionReportsDelivered(client: Client, childSessionId: string): Promise<number> {
  let total = 0;
  for await (const info of client.workflow.list({ query: `WorkflowId = "${sessionWorkflowId(childSessionId)}"` })) {
    const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
    total += reportsDelivered(ownEvents(history.events ?? []));
  }
  return total;
}

/** Completion reports received by a parent, over every run of its workflow id (continue-as-new included). */
export async function completionReportsReceived(client: Client, parentWorkflowId: string): Promise<{ childSessionId: string; runId: string; unanswered: number }[]> {
  const reports: { childSessionId: string; runId: string; unanswered: number }[] = [];
  for (const info of await list(client, `WorkflowId = "${parentWorkflowId}"`)) {
    const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
    reports.push(...reportsIn(ownEvents(history.events ?? [])));
  }
  return reports;
}
