/**
 * A fault-matrix cell's setup, proven from Temporal's own records instead of assumed (issue 32):
 * a cell's label says what the parent was doing when its subject closed, and for the kill and
 * restart cells that the fault hit the subject mid-activity. Waiting for that moment with a
 * timeout and going on regardless let cells labelled "parent waiting" run with the parent in a
 * turn; here the moment is read back from the histories and a cell whose setup was not reached
 * fails, saying why.
 *
 * - the parent's phase: its `state` query just before the trigger, and the root's history —
 *   a root `callModel` scheduled and not yet closed is a turn in progress — at the trigger and
 *   at the event by which the root learned of the close (the subject's report, the child's
 *   close event, or a watch activity's result);
 * - past continue-as-new: the root learned of the close in its second run or later;
 * - kill / restart: the subject had an activity pending at the fault (`describe()`), and its
 *   history then shows the attempt retried, an activity timed out, or a workflow task timed out;
 * - one completion: no run of the subject signalled the root twice, and a workflow task of the
 *   root completed after the last completion it received (the window lasts past the parent's
 *   next task, not a fixed time).
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { sessionWorkflowId } from '../../../common';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = Parameters<typeof defaultPayloadConverter.fromPayload>[0];

export interface CellSetup {
  /** The root's `state` phase just before the trigger. */
  queriedPhase?: string;
  /** Root model calls open in the root's history just before the trigger. */
  openCallsAtTrigger?: number;
  /** Root model calls open when the root's `manage_children` cancel message arrived (that way's trigger). */
  openCallsAtCancelMessage?: number;
  /** How the root learned of the subject's close, in which of its runs (1-based), and with how many model calls open. */
  closeLearnedBy?: string;
  closeLearnedInRun?: number;
  openCallsAtClose?: number;
  /** The subject's pending activities at the fault (kill / restart cells). */
  pendingAtFault?: string[];
  pendingActivityIds?: string[];
  /** Restart cells: when the server was stopped (epoch ms); it records nothing until it is back. */
  serverStoppedAtMs?: number;
  /** The subject's history after the fault: what shows the interrupted work was picked up again. */
  afterFault?: string;
  /** Completion signals of the subject in the root's histories, and whether a root task completed after the last. */
  completionSignals?: number;
  taskCompletedAfterCompletion?: boolean;
  problems: string[];
}

export interface SetupSubject {
  way: string;
  state: string;
  rootId: string;
  subjectId?: string;
  setup?: CellSetup;
}

const CLOSED_ACTIVITY = [
  'activityTaskCompletedEventAttributes',
  'activityTaskFailedEventAttributes',
  'activityTaskTimedOutEventAttributes',
  'activityTaskCanceledEventAttributes',
] as const;

const CHILD_CLOSED = [
  'childWorkflowExecutionCompletedEventAttributes',
  'childWorkflowExecutionFailedEventAttributes',
  'childWorkflowExecutionCanceledEventAttributes',
  'childWorkflowExecutionTimedOutEventAttributes',
  'childWorkflowExecutionTerminatedEventAttributes',
] as const;

function payloadValue<T>(payload: unknown): T | undefined {
  try {
    return payload ? defaultPayloadConverter.fromPayload<T>(payload as Payload) : undefined;
  } catch {
    return undefined;
  }
}

/** Root model calls scheduled and not closed among `events` (a turn in progress). */
export function openModelCalls(events: readonly HistoryEvent[]): number {
  const open = new Set<string>();
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel') open.add(String(e.eventId));
    for (const key of CLOSED_ACTIVITY) {
      const closed = e[key];
      if (closed) open.delete(String(closed.scheduledEventId));
    }
  }
  return open.size;
}

/** Every run of a workflow id, oldest first, with its history. */
export async function runHistories(client: Client, workflowId: string): Promise<{ runId: string; events: HistoryEvent[] }[]> {
  const runs: { runId: string; startMs: number }[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push({ runId: run.runId, startMs: run.startTime.getTime() });
  runs.sort((a, b) => a.startMs - b.startMs);
  return Promise.all(runs.map(async ({ runId }) => ({ runId, events: (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [] })));
}

function setupOf(cell: SetupSubject): CellSetup {
  return (cell.setup ??= { problems: [] });
}

/** Just before the trigger: the root's phase by its query and by its history (open model calls). */
export async function noteTrigger(client: Client, cell: SetupSubject, queriedPhase: string): Promise<void> {
  const setup = setupOf(cell);
  setup.queriedPhase = queriedPhase;
  const history = await client.workflow.getHandle(sessionWorkflowId(cell.rootId)).fetchHistory();
  setup.openCallsAtTrigger = openModelCalls(history.events ?? []);
}

/** At a kill or a server stop: the subject's pending activities, as the server lists them. */
export async function noteFault(client: Client, cell: SetupSubject): Promise<void> {
  const setup = setupOf(cell);
  const pending = (await client.workflow.getHandle(sessionWorkflowId(cell.subjectId!)).describe()).raw.pendingActivities ?? [];
  setup.pendingAtFault = pending.map((a) => `${a.activityType?.name} attempt ${a.attempt} state ${a.state}`);
  setup.pendingActivityIds = pending.map((a) => a.activityId ?? '');
}

/** Restart cells: the moment the server was stopped. */
export function noteServerStop(cells: readonly SetupSubject[], at: number): void {
  for (const cell of cells) setupOf(cell).serverStoppedAtMs = at;
}

const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/** The event by which the root learned of the subject's close, and where. */
function closeLearned(runs: { events: HistoryEvent[] }[], subjectWorkflowId: string, subjectId: string): { run: number; index: number; by: string } | undefined {
  for (const [run, { events }] of runs.entries()) {
    const watches = new Set<string>();
    for (const [index, e] of events.entries()) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'awaitSessionRunClose' && payloadValue<{ sessionId?: string }>(scheduled.input?.payloads?.[0])?.sessionId === subjectId) {
        watches.add(String(e.eventId));
      }
      const signal = e.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName === 'subSessionCompleted' && payloadValue<{ childSessionId?: string }>(signal.input?.payloads?.[0])?.childSessionId === subjectId) {
        return { run, index, by: 'its report (subSessionCompleted)' };
      }
      for (const key of CHILD_CLOSED) {
        if (e[key]?.workflowExecution?.workflowId === subjectWorkflowId) return { run, index, by: `its close event (${key.replace('EventAttributes', '')})` };
      }
      if (e.activityTaskCompletedEventAttributes && watches.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId))) {
        return { run, index, by: 'a watch of its run (awaitSessionRunClose)' };
      }
    }
  }
  return undefined;
}

/**
 * After the cell settled: reads the root's and the subject's histories and records every way
 * the cell's setup differs from its label as a problem.
 */
export async function checkSetup(client: Client, cell: SetupSubject): Promise<CellSetup> {
  const setup = setupOf(cell);
  const problem = (text: string) => setup.problems.push(text);
  if (!cell.subjectId) {
    problem('the subject never ran alone');
    return setup;
  }
  const subjectWorkflowId = sessionWorkflowId(cell.subjectId);
  const runs = await runHistories(client, sessionWorkflowId(cell.rootId));
  const learned = closeLearned(runs, subjectWorkflowId, cell.subjectId);
  if (learned) {
    setup.closeLearnedBy = learned.by;
    setup.closeLearnedInRun = learned.run + 1;
    setup.openCallsAtClose = openModelCalls(runs[learned.run].events.slice(0, learned.index));
  } else {
    problem('the root’s history shows no report, close or watch result of the subject');
  }

  // The parent's phase at the trigger (and at the close, where the parent did not cause it).
  const parentCancels = cell.way === 'cancelled by the parent';
  if (parentCancels) {
    for (const { events } of runs) {
      const index = events.findIndex((e) => {
        const signal = e.workflowExecutionSignaledEventAttributes;
        return signal?.signalName === 'userMessage' && JSON.stringify(payloadValue(signal.input?.payloads?.[0]) ?? '').includes('manage_children');
      });
      if (index >= 0) setup.openCallsAtCancelMessage = openModelCalls(events.slice(0, index));
    }
  }
  if (cell.state === 'waiting' || cell.state === 'running') {
    const turn = cell.state === 'running';
    const phaseOk = turn ? setup.queriedPhase === 'running' : setup.queriedPhase === 'waiting' || setup.queriedPhase === 'idle';
    if (!phaseOk) problem(`parent ${setup.queriedPhase ?? 'unknown'} by its state query at the trigger`);
    const inTurn = (open: number | undefined) => (open === undefined ? undefined : open > 0);
    const checks: [string, number | undefined][] = [['at the trigger', setup.openCallsAtTrigger]];
    // A parent that cancels its child is in the turn that cancels it: its phase is the one the cancel message found.
    if (parentCancels) checks.push(['when the cancel message arrived', setup.openCallsAtCancelMessage]);
    else checks.push(['when it learned of the close', setup.openCallsAtClose]);
    for (const [when, open] of checks) {
      if (inTurn(open) !== turn) problem(`parent ${open === undefined ? 'unknown' : open > 0 ? 'in a turn' : 'not in a turn'} ${when} by its history (model calls open: ${open ?? '?'})`);
    }
  }
  if (cell.state === 'mid continue-as-new' && !((setup.closeLearnedInRun ?? 0) > 1)) {
    problem(`the root learned of the close in its run ${setup.closeLearnedInRun ?? '?'}, not past a continue-as-new`);
  }

  // One completion per subject run, and the window lasts past the root's next completed task.
  const perRun = new Map<string, number>();
  let last: { run: number; index: number } | undefined;
  for (const [run, { events }] of runs.entries()) {
    for (const [index, e] of events.entries()) {
      const signal = e.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName !== 'subSessionCompleted') continue;
      const completion = payloadValue<{ childSessionId?: string; runId?: string }>(signal.input?.payloads?.[0]);
      if (completion?.childSessionId !== cell.subjectId) continue;
      perRun.set(completion.runId ?? '?', (perRun.get(completion.runId ?? '?') ?? 0) + 1);
      last = { run, index };
    }
  }
  setup.completionSignals = [...perRun.values()].reduce((a, b) => a + b, 0);
  for (const [runId, n] of perRun) if (n > 1) problem(`subject run ${runId} signalled its completion ${n} times`);
  const lastSeen = last ?? (learned ? { run: learned.run, index: learned.index } : undefined);
  if (lastSeen) {
    setup.taskCompletedAfterCompletion = runs[lastSeen.run].events.slice(lastSeen.index + 1).some((e) => e.workflowTaskCompletedEventAttributes);
    if (!setup.taskCompletedAfterCompletion) problem('no workflow task of the root completed after the subject’s completion');
  }

  // Kill / restart: the fault interrupted the subject's work, and its history shows it picked up again.
  if (cell.way.startsWith('worker') || cell.way.startsWith('server')) {
    if (!setup.pendingAtFault?.length) problem('the subject had no pending activity at the fault');
    const evidence: string[] = [];
    for (const { events } of await runHistories(client, subjectWorkflowId)) {
      // A worker that outlived a short outage finishes its attempt: the activity pending at the
      // stop then closes after the server is back, with no retry (Temporal's behaviour).
      const pendingScheduled = new Set(events.filter((e) => setup.pendingActivityIds?.includes(e.activityTaskScheduledEventAttributes?.activityId ?? '\0')).map((e) => String(e.eventId)));
      for (const e of events) {
        const closed = CLOSED_ACTIVITY.map((key) => e[key]).find(Boolean);
        if (setup.serverStoppedAtMs !== undefined && closed && pendingScheduled.has(String(closed.scheduledEventId)) && eventMs(e) > setup.serverStoppedAtMs) {
          evidence.push('the activity pending at the stop closed after the restart');
        }
        const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
        if (attempt > 1) evidence.push(`activity started at attempt ${attempt}`);
        if (e.activityTaskTimedOutEventAttributes) evidence.push('activity timed out');
        if (e.workflowTaskTimedOutEventAttributes) evidence.push('workflow task timed out');
      }
    }
    setup.afterFault = evidence.join(', ') || undefined;
    if (evidence.length === 0) problem('the subject’s history shows no retried attempt and no timed-out task after the fault');
  }
  return setup;
}

/**
 * When the first of these subjects' model calls (each streaming for `secs`) will end, from the
 * start times the server lists for them: the kill and restart cells strike just before it, so
 * every subject is still in its call. Undefined when a subject has no model call pending yet.
 */
export async function firstCallEnd(client: Client, cells: readonly SetupSubject[], secs: number): Promise<number | undefined> {
  const ends = await Promise.all(cells.map(async (cell) => {
    const pending = (await client.workflow.getHandle(sessionWorkflowId(cell.subjectId!)).describe()).raw.pendingActivities ?? [];
    const call = pending.find((a) => a.activityType?.name === 'callModel' && a.lastStartedTime);
    return call ? Number(call.lastStartedTime!.seconds) * 1000 + Math.floor((call.lastStartedTime!.nanos ?? 0) / 1e6) + secs * 1000 : undefined;
  }));
  return ends.some((end) => end === undefined) ? undefined : Math.min(...(ends as number[]));
}
