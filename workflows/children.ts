/**
 * A parent's children, in workflow state: spawning with backpressure, completions
 * (idempotent by child id + run id), the durable wait, and cancellation.
 *
 * Guarantees:
 *  - the parent learns every child run's final status, whatever closed it: the child's own
 *    report, else the run's outcome (child-reconciliation.ts) — terminated, timed out, failed;
 *  - a completion is applied once per (child id, run id), whichever path reports first, and
 *    whenever it arrives — before the parent starts waiting, while it waits, or after a
 *    continue-as-new (it is carried);
 *  - never more than `maxRunningChildren` runs started and not yet finished; further spawns
 *    queue and start as slots free;
 *  - every finished child's result reaches the parent's transcript exactly once, in a resume
 *    message;
 *  - a follow-up for a child whose run is closing is never dropped: it starts the next run,
 *    which continues from the snapshot of the run that reported;
 *  - the state carried across continue-as-new stays bounded however many children there were.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  childStartSearchAttributes,
  FINAL_RESPONSE_CAP,
  sessionWorkflowId,
  type CarriedState,
  type ChildCompletion,
  type SessionOptions,
  type SpawnJob,
  type TerminalRunStatus,
  type TrackedChild,
  type WaitPolicy,
} from '../common';
import { injectMessageSignal, type ChildSessionWorkflow } from '../common/workflow-interface';
import type { EventLog } from './event-log';
import { closeOfStartedRun, reconciles, watchRunClose } from './child-reconciliation';

/** Continue-as-new carries at most this many children already reported, without their answers. */
const REPORTED_CHILDREN_CARRIED = 200;
/** …and this many completion keys (duplicates arrive close to the original). */
const COMPLETION_KEYS_CARRIED = 1000;
const TERMINAL: ReadonlySet<string> = new Set(['completed', 'error', 'cancelled', 'timeout', 'skipped']);

export function isTerminal(status: string): status is TerminalRunStatus {
  return TERMINAL.has(status);
}

export interface WaitState {
  policy: WaitPolicy;
  leaseExpiresAt: string;
}

export class Children {
  readonly tracked = new Map<string, TrackedChild>();
  private readonly queue: SpawnJob[] = [];
  private readonly seen = new Set<string>();
  private starting = 0;
  /** Children whose current run is watched for its close (by handle or by activity). */
  private readonly watched = new Map<string, { stop(): void }>();
  private cancelling = false;
  waiting: WaitState | null = null;

  constructor(
    private readonly parentSessionId: string,
    private readonly options: SessionOptions,
    private readonly events: EventLog,
    carried?: Pick<CarriedState, 'children' | 'queued' | 'seenCompletions' | 'waiting'>,
  ) {
    for (const child of carried?.children ?? []) this.tracked.set(child.childSessionId, child);
    this.queue.push(...(carried?.queued ?? []));
    for (const key of carried?.seenCompletions ?? []) this.seen.add(key);
    this.waiting = carried?.waiting ?? null;
  }

  // ── spawning ────────────────────────────────────────────────────────────────

  /** Queues a child run; the pump starts it when a slot is free. */
  enqueue(job: SpawnJob, title: string): void {
    this.tracked.set(job.childSessionId, {
      childSessionId: job.childSessionId,
      title,
      status: 'pending',
      model: job.model,
      reported: false,
      awaited: true,
    });
    this.queue.push(job);
  }

  runningCount(): number {
    let n = this.starting;
    for (const child of this.tracked.values()) if (child.status === 'running') n += 1;
    return n;
  }

  /**
   * Starts queued runs whenever there is room, all that fit at once (their start commands go
   * out in one workflow task); runs for the life of the workflow run.
   */
  async pump(): Promise<never> {
    const hasRoom = () => this.queue.length > 0 && this.runningCount() < this.options.maxRunningChildren;
    for (;;) {
      await condition(hasRoom);
      while (hasRoom()) {
        const job = this.queue.shift()!;
        this.starting += 1;
        void this.start(job).finally(() => (this.starting -= 1));
      }
    }
  }

  /** True while a start is in flight: not a safe moment to continue-as-new. */
  isStarting(): boolean {
    return this.starting > 0;
  }

  private async start(job: SpawnJob): Promise<void> {
    const child = this.tracked.get(job.childSessionId)!;
    const reconcile = reconciles();
    const begin = () =>
      startChild<ChildSessionWorkflow>('childSessionWorkflow', {
        workflowId: sessionWorkflowId(job.childSessionId),
        taskQueue: workflowInfo().taskQueue,
        args: [job],
        // Children outlive a parent run that continues-as-new, and report by workflow id.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Cancelling the parent cancels children explicitly (see cancelAll), not implicitly.
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        ...(this.options.childRunTimeoutSecs ? { workflowExecutionTimeout: this.options.childRunTimeoutSecs * 1000 } : {}),
        staticSummary: `child session “${child.title}” (${job.childSessionId}) of ${job.parentSessionId} · ${job.model}`,
        typedSearchAttributes: childStartSearchAttributes(job),
      });
    try {
      // Started outside the caller's scope, so cancelling the parent never resolves the
      // handle's result as "cancelled" while the child is still running.
      const handle = reconcile ? await CancellationScope.nonCancellable(begin) : await begin();
      if (child.status === 'pending') {
        child.status = 'running';
        child.runId = handle.firstExecutionRunId;
      }
      this.events.add({ type: 'sub_session_started', childSessionId: job.childSessionId, title: child.title });
      if (!reconcile) {
        handle.result().catch(() => undefined);
        return;
      }
      this.watched.set(job.childSessionId, { stop: () => undefined });
      void closeOfStartedRun(handle).then((report) => {
        this.watched.delete(job.childSessionId);
        if (report) this.reconcile(job.childSessionId, report.runId, report.outcome);
      });
      if (this.cancelling) await this.requestCancel(job.childSessionId);
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        // A run of that session is open (still closing, or someone else's): learn how it
        // ends; follow-ups in the job start the run after it.
        if (child.status === 'pending') child.status = 'running';
        if (!reconcile) return;
        if (job.appendMessages?.length) child.pendingMessages = [...(child.pendingMessages ?? []), ...job.appendMessages];
        this.watch(job.childSessionId, undefined);
        return;
      }
      log.warn('could not start child session', { childSessionId: job.childSessionId, error: String(error) });
      this.apply({ status: 'error', error: `could not start child session: ${errorText(error)}` }, child);
    }
  }

  /** Watches a child's run (its current one when `runId` is absent) for how it closes. */
  private watch(childSessionId: string, runId: string | undefined): void {
    if (this.watched.has(childSessionId)) return;
    const watch = watchRunClose(childSessionId, runId);
    this.watched.set(childSessionId, watch);
    void watch.closed.then((report) => {
      if (this.watched.get(childSessionId) === watch) this.watched.delete(childSessionId);
      if (report) this.reconcile(childSessionId, report.runId, report.outcome);
    });
  }

  /**
   * Watches every running child this run holds no handle for: children adopted across
   * continue-as-new, and (at a lease expiry) any run started before reconciliation existed.
   */
  watchUnwatched(): void {
    const unwatched = [...this.tracked.values()].filter((c) => c.status === 'running' && !this.watched.has(c.childSessionId));
    if (unwatched.length === 0 || !reconciles()) return;
    for (const child of unwatched) this.watch(child.childSessionId, child.runId);
  }

  // ── completions ─────────────────────────────────────────────────────────────

  /** Applies a child's completion once (key: child id + run id). Returns false for a duplicate. */
  onCompletion(completion: ChildCompletion): boolean {
    const key = `${completion.childSessionId}/${completion.runId}`;
    let child = this.tracked.get(completion.childSessionId);
    if (this.seen.has(key)) {
      if (child) this.restartIfMessagesWait(child, 0);
      return false;
    }
    this.seen.add(key);
    if (!child) {
      // A run this parent did not start (e.g. started from the CLI): track it from now on.
      child = { childSessionId: completion.childSessionId, title: completion.childSessionId, status: 'running', reported: false, awaited: false };
      this.tracked.set(child.childSessionId, child);
    }
    child.runId = completion.runId;
    this.apply(completion, child);
    this.stopWatching(child.childSessionId);
    this.restartIfMessagesWait(child, completion.unansweredMessages ?? 0);
    return true;
  }

  /** A run's outcome read from the run itself: applied like the child's own report. */
  private reconcile(childSessionId: string, runId: string, outcome: Omit<ChildCompletion, 'parentSessionId' | 'childSessionId' | 'runId' | 'completedAt'>): void {
    const fresh = this.onCompletion({ ...outcome, parentSessionId: this.parentSessionId, childSessionId, runId, completedAt: new Date().toISOString() });
    if (fresh) log.warn('child run closed without reporting; its outcome was read from the run', { childSessionId, runId, status: outcome.status });
  }

  private stopWatching(childSessionId: string): void {
    this.watched.get(childSessionId)?.stop();
    this.watched.delete(childSessionId);
  }

  /**
   * Follow-ups that missed a closing run (or that it left unanswered) start the child's next
   * run, from the snapshot of the run that reported.
   */
  private restartIfMessagesWait(child: TrackedChild, unanswered: number): void {
    const messages = child.pendingMessages ?? [];
    if (!isTerminal(child.status) || (messages.length === 0 && unanswered === 0) || !child.model) return;
    child.pendingMessages = undefined;
    Object.assign(child, { status: 'pending', reported: false, awaited: true, error: undefined, finalResponse: undefined });
    this.queue.push({
      parentSessionId: this.parentSessionId,
      childSessionId: child.childSessionId,
      model: child.model,
      snapshotRunId: child.runId,
      ...(messages.length > 0 ? { appendMessages: messages } : {}),
      spawnOptions: this.options,
    });
  }

  private apply(outcome: { status: TerminalRunStatus; error?: string; finalResponse?: string }, child: TrackedChild): void {
    child.status = outcome.status;
    child.error = outcome.error;
    child.finalResponse = outcome.finalResponse?.slice(0, FINAL_RESPONSE_CAP);
    child.reported = false;
    this.events.add({ type: 'sub_session_completed', childSessionId: child.childSessionId, status: outcome.status, error: outcome.error });
  }

  // ── the durable wait ────────────────────────────────────────────────────────

  private awaited(): TrackedChild[] {
    return [...this.tracked.values()].filter((c) => c.awaited && !c.reported);
  }

  /** A child the parent awaits has not been reported yet. */
  hasAwaitedChildren(): boolean {
    return this.awaited().length > 0;
  }

  /** Starts waiting if a child the parent awaits has not been reported yet. */
  beginWaitIfNeeded(): void {
    if (this.waiting || this.awaited().length === 0) return;
    const leaseExpiresAt = new Date(Date.now() + this.options.waitLeaseSecs * 1000).toISOString();
    this.waiting = { policy: this.options.waitPolicy, leaseExpiresAt };
  }

  leaseRemainingMs(): number {
    return this.waiting ? Math.max(0, Date.parse(this.waiting.leaseExpiresAt) - Date.now()) : 0;
  }

  /** The wait policy holds: `all` done, `any` done, or the first failure (or all done). */
  waitSatisfied(): boolean {
    if (!this.waiting) return false;
    const awaited = this.awaited();
    const finished = awaited.filter((c) => isTerminal(c.status));
    if (awaited.length === 0) return true;
    switch (this.waiting.policy) {
      case 'all':
        return finished.length === awaited.length;
      case 'any':
        return finished.length > 0;
      case 'first_error':
        return finished.length === awaited.length || finished.some((c) => c.status !== 'completed');
    }
  }

  /**
   * Ends the wait and returns the hidden resume message: each finished child once, with its
   * status and final answer (or error); children still running stay awaited.
   */
  takeResumeMessage(leaseExpired: boolean): string {
    const finished = this.awaited().filter((c) => isTerminal(c.status));
    for (const child of finished) {
      child.reported = true;
      child.awaited = false;
    }
    const remaining = [...this.tracked.values()].filter((c) => !isTerminal(c.status)).length;
    this.waiting = null;
    const lines = finished.map((c) => {
      const head = `Runtime notification: child session \`${c.childSessionId}\` (“${c.title}”) finished with status \`${c.status}\`.`;
      const body = c.status === 'completed' ? (c.finalResponse ?? '(no answer)') : `Error: ${c.error ?? c.status}`;
      return `${head}\n${body}`;
    });
    if (leaseExpired) lines.unshift(`Runtime notification: the wait for child sessions expired after ${this.options.waitLeaseSecs} seconds; they keep running.`);
    lines.push(`Remaining child sessions: ${remaining}.`);
    return lines.join('\n\n');
  }

  // ── managing one child ──────────────────────────────────────────────────────

  /**
   * A follow-up for a child: queued into its running run (merged at its next turn), added
   * to its queued start, or — once it has finished, or when its run closes before the
   * message reaches it — a new run from the snapshot of the run that reported. Never throws.
   */
  async sendMessage(childSessionId: string, message: string): Promise<string> {
    const child = this.tracked.get(childSessionId);
    if (!child) return `Error: no child session ${childSessionId}`;
    const queued = this.queue.find((job) => job.childSessionId === childSessionId);
    if (queued) {
      queued.appendMessages = [...(queued.appendMessages ?? []), message];
      return `message added to the queued child session ${childSessionId}`;
    }
    if (child.status === 'running') {
      try {
        await getExternalWorkflowHandle(sessionWorkflowId(childSessionId)).signal(injectMessageSignal, { content: message });
        return `message queued into the running child session ${childSessionId}`;
      } catch (error) {
        if (!reconciles()) throw error;
        // The run closed before the message reached it: its next run gets the message.
        child.pendingMessages = [...(child.pendingMessages ?? []), message];
        this.restartIfMessagesWait(child, 0);
        return `child session ${childSessionId} finished before the message reached it; the message starts its next run`;
      }
    }
    if (!child.model) return `Error: child session ${childSessionId} was not started by this session`;
    Object.assign(child, { status: 'pending', reported: false, awaited: true, error: undefined, finalResponse: undefined });
    const next: SpawnJob = { parentSessionId: this.parentSessionId, childSessionId, model: child.model, appendMessages: [message] };
    this.queue.push(reconciles() ? { ...next, snapshotRunId: child.runId, spawnOptions: this.options } : next);
    return `child session ${childSessionId} restarted with the message`;
  }

  /** Cancels a queued or running child. Never throws: a child that just closed says so. */
  async cancelOne(childSessionId: string): Promise<string> {
    const child = this.tracked.get(childSessionId);
    if (!child) return `Error: no child session ${childSessionId}`;
    const index = this.queue.findIndex((job) => job.childSessionId === childSessionId);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.apply({ status: 'cancelled', error: 'Cancelled by parent before it started' }, child);
      return `child session ${childSessionId} cancelled before it started`;
    }
    if (child.status !== 'running') return `child session ${childSessionId} is not running (status ${child.status})`;
    try {
      await getExternalWorkflowHandle(sessionWorkflowId(childSessionId)).cancel();
    } catch (error) {
      if (!reconciles()) throw error;
      return `child session ${childSessionId} is not running any more: its run closed before the cancellation reached it`;
    }
    return `cancellation of child session ${childSessionId} requested`;
  }

  // ── cancellation ────────────────────────────────────────────────────────────

  /** Cancels every open child run and waits (bounded) until each has reported. */
  async cancelAll(): Promise<void> {
    this.cancelling = true;
    for (const job of this.queue.splice(0)) {
      const child = this.tracked.get(job.childSessionId);
      if (child) this.apply({ status: 'cancelled', error: 'Cancelled by parent before it started' }, child);
    }
    const open = [...this.tracked.values()].filter((c) => c.status === 'running');
    await Promise.all(open.map((c) => this.requestCancel(c.childSessionId)));
    await condition(() => this.runningCount() === 0, this.options.cancelGraceSecs * 1000);
  }

  private requestCancel(childSessionId: string): Promise<void> {
    return getExternalWorkflowHandle(sessionWorkflowId(childSessionId))
      .cancel()
      .catch((error: unknown) => log.warn('could not cancel child', { childSessionId, error: String(error) }));
  }

  summary(): { childSessionId: string; status: TrackedChild['status'] }[] {
    return [...this.tracked.values()].map((c) => ({ childSessionId: c.childSessionId, status: c.status }));
  }

  /**
   * What continue-as-new carries, bounded: every child not yet reported (or with follow-ups
   * waiting), the most recent reported ones without their answers (already in the
   * transcript), and the most recent completion keys.
   */
  carried(): Pick<CarriedState, 'children' | 'queued' | 'seenCompletions' | 'waiting'> {
    const all = [...this.tracked.values()];
    if (!reconciles()) {
      return { children: all, queued: [...this.queue], seenCompletions: [...this.seen], waiting: this.waiting };
    }
    const done = (c: TrackedChild) => c.reported && isTerminal(c.status) && !c.pendingMessages?.length;
    const keptDone = new Set(all.filter(done).slice(-REPORTED_CHILDREN_CARRIED));
    const children = all
      .filter((c) => !done(c) || keptDone.has(c))
      .map((c) => (done(c) ? { ...c, finalResponse: undefined, error: c.error?.slice(0, 300) } : c));
    return { children, queued: [...this.queue], seenCompletions: [...this.seen].slice(-COMPLETION_KEYS_CARRIED), waiting: this.waiting };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
