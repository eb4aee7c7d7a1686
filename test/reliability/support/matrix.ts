/**
 * The fault matrix of issue 11: every way a child run can close × every wait policy × what
 * the parent is doing then. Each cell is one root session with two children — the subject,
 * which closes the cell's way, and a companion that finishes first — and the promise checked
 * is the same in every cell: the parent resumes, its state names the subject's final status,
 * and each child's result reaches the parent's transcript exactly once.
 */
import type { Client } from '@temporalio/client';
import { sendUserMessage, startSession } from '../../../client/root-sessions';
import { sessionWorkflowId, type TerminalRunStatus, type WaitPolicy } from '../../../common';
import { resumeMessages, sessionState, sessionTranscript } from '../../helpers/root';
import { rootSession } from '../../helpers/session-fixtures';
import { eventually, eventuallyOrUndefined } from '../../helpers/eventually';
import { mapLimit } from './util';
import { auditTreeSettled, type TreeAudit } from '../../helpers/tree-audit';
import { noteTrigger, openModelCalls, type CellSetup } from './cell-setup';

export const WAYS = [
  'completes',
  'fails',
  'cancelled by the parent',
  'cancelled from outside',
  'terminated',
  'execution timeout',
  'reset',
  'worker SIGKILLed while it closes',
  'server restarted while it closes',
] as const;
export type Way = (typeof WAYS)[number];
export const POLICIES: WaitPolicy[] = ['all', 'any', 'first_error'];
export const PARENT_STATES = ['waiting', 'running', 'mid continue-as-new'] as const;
export type ParentState = (typeof PARENT_STATES)[number];

/**
 * Seconds a subject that ends by itself works before it closes: the window in which a cell must
 * see its companion completed and its subject still running. With 63 trees started at once a
 * state query took 5–11 s on the 2-core CI machine (server 1.32), and 8 s let one cell in 63 miss
 * the window twice in two runs; 14 s leaves room.
 */
export const SUBJECT_SECS = 14;

const EXPECTED: Record<Way, TerminalRunStatus> = {
  completes: 'completed',
  fails: 'error',
  'cancelled by the parent': 'cancelled',
  'cancelled from outside': 'cancelled',
  terminated: 'error',
  'execution timeout': 'timeout',
  reset: 'completed',
  'worker SIGKILLed while it closes': 'completed',
  'server restarted while it closes': 'completed',
};

const SUBJECT_PROMPT: Record<Way, string> = {
  completes: `[[sleep:${SUBJECT_SECS}]] subject done`,
  fails: `[[sleep:${SUBJECT_SECS}]] [[fail:subject failed]]`,
  'cancelled by the parent': '[[sleep:600]] never',
  'cancelled from outside': '[[sleep:600]] never',
  terminated: '[[sleep:600]] never',
  'execution timeout': '[[sleep:600]] never',
  reset: `[[sleep:${SUBJECT_SECS}]] after reset`,
  'worker SIGKILLed while it closes': `[[sleep:${SUBJECT_SECS}]] subject done`,
  'server restarted while it closes': `[[sleep:${SUBJECT_SECS}]] subject done`,
};

export interface Cell {
  way: Way;
  policy: WaitPolicy;
  state: ParentState;
  rootId: string;
  subjectId?: string;
  companionId?: string;
  /** Root runs when the subject was made to close (continue-as-new state: more than one). */
  runsAtClose?: number;
  /** The parent's phase just before the close was triggered (triggered ways only). */
  phaseAtTrigger?: string;
  /** What Temporal's records say of the cell's setup (support/cell-setup.ts). */
  setup?: CellSetup;
  outcome?: CellOutcome;
}

export interface CellOutcome {
  ok: boolean;
  subjectStatus?: string;
  expected: TerminalRunStatus;
  subjectReported: number;
  companionReported: number;
  resumed: boolean;
  problem?: string;
  /** The cell's tree audited from Temporal's records. */
  audit?: TreeAudit;
}

export function cellsFor(ways: readonly Way[]): Omit<Cell, 'rootId'>[] {
  return ways.flatMap((way) => POLICIES.flatMap((policy) => PARENT_STATES.map((state) => ({ way, policy, state }))));
}

/** Starts a cell's root: the subject and the companion are spawned by its first turn. */
export async function startCell(client: Client, taskQueue: string, spec: Omit<Cell, 'rootId'>): Promise<Cell> {
  const prompt = `[[spawn:Subject|${SUBJECT_PROMPT[spec.way]}]] [[spawn:Companion|[[sleep:1]] companion]] matrix cell`;
  const session = rootSession(prompt, { 'child_watchdog.max_idle_secs': '10' });
  await startSession(
    client,
    {
      session,
      options: {
        waitPolicy: spec.policy,
        ...(spec.state === 'mid continue-as-new' ? { historyEventBudget: 20 } : {}),
        // Long enough for the companion to finish first even when 81 trees start at once on a
        // busy machine (at SUBJECT_SECS + 2 a CI run beside a benchmark saw the subject time out
        // before its companion had completed, and the cell could not be set up).
        ...(spec.way === 'execution timeout' ? { childRunTimeoutSecs: SUBJECT_SECS + 12 } : {}),
      },
    },
    { taskQueue },
  );
  return { ...spec, rootId: session.id };
}

/** Waits until the companion has finished and the subject runs; records both ids. */
export async function awaitSubjectRunning(client: Client, cell: Cell): Promise<void> {
  const ready = await eventuallyOrUndefined(async () => {
    const { children } = await sessionState(client, cell.rootId);
    if (children.length !== 2) return undefined;
    const [subject, companion] = children;
    return subject.status === 'running' && companion.status === 'completed' ? children : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  if (!ready) throw new Error(`cell ${label(cell)}: the subject never ran alone`);
  cell.subjectId = ready[0].childSessionId;
  cell.companionId = ready[1].childSessionId;
}

/**
 * Seconds after the parent starts its turn by which the subject of a "running" cell has closed:
 * the turn must outlast it. The execution-timeout subject closes at its run timeout, a reset one
 * SUBJECT_SECS after the reset; a subject whose attempt the server restart interrupted may run
 * its call again once the heartbeat timeout (10 s) notices it — while the parent's own call, on a
 * worker that stayed up, goes on. 10 s of margin for a loaded machine.
 */
function parentTurnSecs(way: Way): number {
  if (way === 'execution timeout') return SUBJECT_SECS + 12 + 10;
  if (way === 'server restarted while it closes') return 2 * SUBJECT_SECS + 10 + 10;
  return SUBJECT_SECS + 10;
}

/**
 * Puts the parent in the cell's state for the close: mid-turn, waiting, or past a continue-as-new.
 * Each state is waited for by what the root's history shows (a model call open or none), not by
 * a phase seen once; a state not reached in time is left for `checkSetup` to fail the cell.
 */
export async function prepareParent(client: Client, cell: Cell): Promise<void> {
  const root = client.workflow.getHandle(sessionWorkflowId(cell.rootId));
  if (cell.state === 'waiting') {
    // Under `any` the companion's completion resumes the parent: its turn must be over first.
    await eventuallyOrUndefined(async () => {
      const { phase } = await sessionState(client, cell.rootId);
      return phase !== 'running' && openModelCalls((await root.fetchHistory()).events ?? []) === 0;
    }, { timeoutMs: 30_000, intervalMs: 1000 });
  }
  if (cell.state === 'running') {
    await sendUserMessage(client, cell.rootId, `[[sleep:${parentTurnSecs(cell.way)}]] busy while the child closes`);
    // The turn for this message: a model call scheduled after its signal and still open.
    await eventuallyOrUndefined(async () => {
      const events = (await root.fetchHistory()).events ?? [];
      let sent = -1;
      events.forEach((e, i) => (e.workflowExecutionSignaledEventAttributes?.signalName === 'userMessage' ? (sent = i) : undefined));
      return sent >= 0 && openModelCalls(events.slice(sent)) > 0 && (await sessionState(client, cell.rootId)).phase === 'running';
    }, { timeoutMs: 30_000, intervalMs: 1000 });
  }
  if (cell.state === 'mid continue-as-new') {
    await eventuallyOrUndefined(async () => (await rootRuns(client, cell.rootId)) > 1, { timeoutMs: 30_000, intervalMs: 500 });
  }
  cell.runsAtClose = await rootRuns(client, cell.rootId);
}

export async function rootRuns(client: Client, rootId: string): Promise<number> {
  const runs: string[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${sessionWorkflowId(rootId)}"` })) runs.push(run.runId);
  return runs.length;
}

/** Triggers the close of a subject that does not end by itself. */
export async function triggerClose(client: Client, cell: Cell): Promise<void> {
  const child = client.workflow.getHandle(sessionWorkflowId(cell.subjectId!));
  cell.phaseAtTrigger = (await sessionState(client, cell.rootId)).phase;
  await noteTrigger(client, cell, cell.phaseAtTrigger ?? 'unknown');
  switch (cell.way) {
    case 'cancelled by the parent': {
      const args = JSON.stringify({ action: 'cancel', child_session_id: cell.subjectId });
      await sendUserMessage(client, cell.rootId, `[[tool:manage_children|${args}]] cancel it`);
      return;
    }
    case 'cancelled from outside':
      await child.cancel();
      return;
    case 'terminated':
      await child.terminate('fault matrix: operator terminate');
      return;
    case 'reset': {
      // "Running" in the parent's view means started: under load its first task may not be done yet.
      const firstTask = await eventually(async () => ((await child.fetchHistory()).events ?? []).find((e) => e.workflowTaskCompletedEventAttributes), {
        timeoutMs: 60_000,
        what: 'the subject’s first completed workflow task',
      });
      const { runId } = await child.describe();
      await client.workflowService.resetWorkflowExecution({
        namespace: client.options.namespace,
        workflowExecution: { workflowId: child.workflowId, runId },
        reason: 'fault matrix: operator reset',
        workflowTaskFinishEventId: firstTask.eventId,
        requestId: `reset-${runId}`,
      });
      return;
    }
    default:
      return; // the subject ends by itself (completes, fails, execution timeout, or under a global fault)
  }
}

export function label(cell: Pick<Cell, 'way' | 'policy' | 'state'>): string {
  return `${cell.way} · ${cell.policy} · ${cell.state}`;
}

/** Waits for every cell's root to settle, then checks the promise in each. */
export async function checkCells(client: Client, cells: Cell[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await mapLimit(cells, 6, async (cell) => {
    const expected = EXPECTED[cell.way];
    const settled = await eventuallyOrUndefined(async () => {
      const s = await sessionState(client, cell.rootId);
      const done = s.children.length === 2 && s.children.every((c) => c.status !== 'running' && c.status !== 'pending');
      return s.phase === 'idle' && s.waiting === null && done ? s : undefined;
    }, { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 1000 });
    const transcript = await sessionTranscript(client, cell.rootId).catch(() => []);
    const resumes = resumeMessages(transcript).map((m) => m.content).join('\n');
    const mentions = (id?: string) => (id ? resumes.split(`child session \`${id}\``).length - 1 : 0);
    const subjectStatus = settled?.children.find((c) => c.childSessionId === cell.subjectId)?.status;
    const outcome: CellOutcome = {
      ok: false,
      subjectStatus,
      expected,
      subjectReported: mentions(cell.subjectId),
      companionReported: mentions(cell.companionId),
      resumed: settled !== undefined && transcript.at(-1)?.role === 'assistant',
    };
    if (!settled) outcome.problem = 'the parent never settled (stranded or still waiting)';
    else if (subjectStatus !== expected) outcome.problem = `subject ${subjectStatus}, expected ${expected}`;
    else if (outcome.subjectReported !== 1 || outcome.companionReported !== 1) outcome.problem = `reported ${outcome.subjectReported}/${outcome.companionReported} times`;
    else if (!outcome.resumed) outcome.problem = 'the parent did not answer after its resume';
    // Temporal's records must agree: two child sessions, one run chain each, every report once.
    outcome.audit = await auditTreeSettled(client, cell.rootId, { childSessions: 2, chainsPerChild: 1 });
    const findings = [...outcome.audit.lost, ...outcome.audit.duplicated, ...outcome.audit.disagreements];
    if (!outcome.problem && findings.length > 0) outcome.problem = `audit: ${findings.join('; ')}`;
    outcome.ok = outcome.problem === undefined;
    cell.outcome = outcome;
  });
}

/** The matrix as text: one row per way, one column per parent state, passed/total over the policies. */
export function renderMatrix(cells: Cell[]): string[] {
  const width = Math.max(...WAYS.map((w) => w.length)) + 2;
  const lines = [`${'child closes by'.padEnd(width)}${PARENT_STATES.map((s) => s.padStart(22)).join('')}`];
  for (const way of WAYS) {
    const row = PARENT_STATES.map((state) => {
      const here = cells.filter((c) => c.way === way && c.state === state);
      if (here.length === 0) return '—'.padStart(22);
      return `${here.filter((c) => c.outcome?.ok).length}/${here.length} ok`.padStart(22);
    });
    lines.push(`${way.padEnd(width)}${row.join('')}`);
  }
  return lines;
}
