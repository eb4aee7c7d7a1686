/**
 * A parent's children, as Temporal sees them: this file starts child runs, signals and
 * cancels them, watches how their runs close, and waits; what all that means for the
 * parent's state (spawn queue, completions, the wait, follow-ups) is decided by the
 * ChildTracker (child-tracker.ts), which holds no Temporal calls.
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
  metricMeter,
  ParentClosePolicy,
  patched,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Amounts, Budget, BudgetStatus } from '../common/budget';
import type { TrackedChild } from '../common/children';
import { errorMessage } from '../common/errors';
import { sessionWorkflowId } from '../common/ids';
import type { ToolCallOutcome } from '../common/model-turn';
import type { SessionOptions } from '../common/options';
import { CURRENT_HISTORY_SHAPE, type ChildCompletion, type SpawnJob } from '../common/run';
import { childStartSearchAttributes } from '../common/search-attributes';
import type { Spend } from '../common/spend';
import { injectMessageSignal, type ChildSessionWorkflow } from '../common/workflow-interface';
import type { EventLog } from './event-log';
import { closeOfStartedRun, reconciles, startsAfterOpenRunCloses, watchRunClose } from './child-reconciliation';
import { ChildTracker, type CarriedChildren, type Reserved, type RunEnd, type WaitState } from './child-tracker';
import { HANDLE_WATCH, RunWatches, type Stoppable } from './run-watches';

export { isTerminal, type WaitState } from './child-tracker';

/**
 * Patch id: a child run that took in messages after it reported (while its report was being
 * sent) reports again with them counted, and its parent starts the child's next run for them
 * (issue 25). Histories from before left them unanswered in the final session.
 */
export const LATE_MESSAGES_PATCH = 'bamboo-messages-after-report';
/** A late report restarts a child whose restart could not start (the report's messages were otherwise left unanswered). */
export const LATE_MESSAGES_AFTER_FAILED_START_PATCH = 'bamboo-messages-after-failed-start';
/** Spawns queued while a run waits to continue-as-new are carried to the next run, not started (a start in flight at continue-as-new lost its run id). */
export const HOLD_STARTS_AT_CONTINUE_PATCH = 'bamboo-hold-starts-at-continue';
/** A child carried `pending` with no job (state carried before the patch above) starts again rather than wait for the lease. */
export const REPAIR_ORPHANED_PENDING_PATCH = 'bamboo-repair-orphaned-pending';

export class Children {
  private readonly tracker: ChildTracker;
  /** Child runs watched for their close (by handle or by activity). */
  private readonly watches = new RunWatches<Stoppable>();
  private cancelling = false;
  /** Signals to the root in flight (onRunClosedUnreported). */
  private readonly notices: Promise<void>[] = [];
  /** Where child starts run: one non-cancellable scope for all (a scope each cost five stack-captured promises per start). */
  private startScope?: CancellationScope;

  constructor(
    parentSessionId: string,
    private readonly options: SessionOptions,
    events: EventLog,
    carried?: CarriedChildren,
    /**
     * The parent's depth and its own spend (its budget covers its calls and its children's),
     * and whom to tell when a child run has ended (a root closes that run's requests).
     */
    private readonly parent?: {
      depth: number;
      selfSpend: () => Spend;
      onRunEnded?: (childSessionId: string, runId: string) => void;
      /** A child run closed without reporting (its outcome was read from the run). */
      onRunClosedUnreported?: (childSessionId: string, runId: string) => Promise<void> | undefined;
      rootSessionId?: string;
    },
  ) {
    this.tracker = new ChildTracker({ parentSessionId, options, events, now: () => Date.now(), carried, parentDepth: parent?.depth, selfSpend: parent?.selfSpend, onQueueChange: countQueueChange });
    // Asked only when carried state has such a child (ChildTracker.orphanedPending).
    if (this.tracker.orphanedPending().length > 0 && patched(REPAIR_ORPHANED_PENDING_PATCH)) this.tracker.repairOrphanedPending();
  }

  // ── the tracker's state, as the sessions read it ────────────────────────────

  get tracked(): ReadonlyMap<string, TrackedChild> {
    return this.tracker.tracked;
  }

  /** Everything the children reported spending, each run once. */
  get childrenSpend(): Spend {
    return this.tracker.childrenSpend;
  }

  get waiting(): WaitState | null {
    return this.tracker.waiting;
  }

  enqueue(job: SpawnJob, title: string, reservation?: Amounts): void {
    this.tracker.enqueue(job, title, reservation);
  }

  // ── the budget (child-tracker.ts keeps the ledger) ──────────────────────────

  /** A spawn's share of the budget, or why there is none (`spawnsLeft`: this round's spawns still to come, this one included). */
  reserve(spawnsLeft: number): Reserved {
    return this.tracker.reserve(spawnsLeft);
  }

  optionsFor(childBudget: Budget | undefined): SessionOptions {
    return this.tracker.optionsFor(childBudget);
  }

  /** The contract's `Session budget exceeded: …` text when a model call has nothing left; else undefined. */
  budgetExhausted(): string | undefined {
    return this.tracker.exhausted();
  }

  budgetStatus(): BudgetStatus | undefined {
    return this.tracker.budgetStatus();
  }

  runningCount(): number {
    return this.tracker.runningCount();
  }

  /** True while a start is in flight: not a safe moment to continue-as-new. */
  isStarting(): boolean {
    return this.tracker.isStarting();
  }

  /** No child run open or queued and no wait open (child-tracker.ts). */
  isQuiet(): boolean {
    return this.tracker.isQuiet();
  }

  hasAwaitedChildren(): boolean {
    return this.tracker.hasAwaitedChildren();
  }

  beginWaitIfNeeded(): void {
    this.tracker.beginWaitIfNeeded();
  }

  leaseRemainingMs(): number {
    return this.tracker.leaseRemainingMs();
  }

  waitSatisfied(): boolean {
    return this.tracker.waitSatisfied();
  }

  takeResumeMessage(leaseExpired: boolean): string {
    return this.tracker.takeResumeMessage(leaseExpired);
  }

  /** manage_children `get`: the child's tracked state, or `ok: false` for an unknown child. */
  describeChild(childSessionId: string): ToolCallOutcome {
    return this.tracker.describeChild(childSessionId);
  }

  summary(detail = false): ReturnType<ChildTracker['summary']> {
    return this.tracker.summary(detail);
  }

  /** What continue-as-new carries: bounded in runs that reconcile. */
  carried(): CarriedChildren {
    return this.tracker.carried(reconciles());
  }

  // ── spawning ────────────────────────────────────────────────────────────────

  /**
   * Starts queued runs whenever there is room, all that fit at once (their start commands go
   * out in one workflow task); runs for the life of the workflow run.
   */
  async pump(): Promise<never> {
    for (;;) {
      await condition(() => this.tracker.hasRoom());
      // The run is about to continue-as-new: what is queued now is carried, not started (a start
      // in flight then would be a run no parent knows the id of). Asked only when it matters.
      if (this.holding && patched(HOLD_STARTS_AT_CONTINUE_PATCH)) {
        await condition(() => !this.holding);
        continue;
      }
      for (let job = this.tracker.nextStart(); job; job = this.tracker.nextStart()) {
        void this.start(job).finally(() => this.tracker.startSettled(job));
      }
    }
  }

  private async start(job: SpawnJob): Promise<void> {
    const child = this.tracker.child(job.childSessionId)!;
    const reconcile = reconciles();
    const begin = () =>
      startChild<ChildSessionWorkflow>('childSessionWorkflow', {
        workflowId: sessionWorkflowId(job.childSessionId),
        taskQueue: workflowInfo().taskQueue,
        args: [{ ...job, historyShape: CURRENT_HISTORY_SHAPE }],
        // Children outlive a parent run that continues-as-new, and report by workflow id.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Cancelling the parent cancels children explicitly (see cancelAll), not implicitly.
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        ...(this.options.childRunTimeoutSecs ? { workflowExecutionTimeout: this.options.childRunTimeoutSecs * 1000 } : {}),
        staticSummary: `child session “${child.title}” (${job.childSessionId}) of ${job.parentSessionId} · ${job.model}`,
        typedSearchAttributes: childStartSearchAttributes(job, this.parent?.rootSessionId),
      });
    try {
      // Started outside the caller's scope, so cancelling the parent never resolves the
      // handle's result as "cancelled" while the child is still running.
      const handle = reconcile ? await (this.startScope ??= new CancellationScope({ cancellable: false })).run(begin) : await begin();
      this.tracker.started(child, handle.firstExecutionRunId);
      if (!reconcile) {
        handle.result().catch(() => undefined);
        return;
      }
      const runId = handle.firstExecutionRunId;
      this.watches.add(job.childSessionId, runId, HANDLE_WATCH);
      // Once the child has reported, its watch is over: its close adds nothing.
      void closeOfStartedRun(handle, () => this.closeWanted(job.childSessionId, runId)).then((report) => {
        this.watches.handleClosed(job.childSessionId, runId);
        if (report) this.reconcile(job.childSessionId, report.runId, report.outcome);
      });
      if (this.cancelling) await this.requestCancel(job.childSessionId);
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return this.foundOpenRun(child, job, reconcile);
      log.warn('could not start child session', { childSessionId: job.childSessionId, error: String(error) });
      this.tracker.startFailed(child, errorMessage(error), job, () => patched(LATE_MESSAGES_AFTER_FAILED_START_PATCH));
    }
  }

  /**
   * The start found a run of the session open: the run that just reported and is still
   * closing, or someone else's. The job waits until a watch of the session's current run
   * says that run has closed (or the child reports), then starts (issue 25).
   */
  private foundOpenRun(child: TrackedChild, job: SpawnJob, reconcile: boolean): void {
    if (!reconcile) return this.tracker.alreadyRunning(child, job, false);
    if (startsAfterOpenRunCloses()) {
      this.tracker.alreadyRunning(child, job, true);
      return this.watch(job.childSessionId, undefined);
    }
    // As recorded before: any watch of the child counted as its watch.
    this.tracker.alreadyRunningAsRecorded(child, job);
    if (!this.watches.hasAnyFor(job.childSessionId)) this.watch(job.childSessionId, undefined);
  }

  /**
   * Whether the close of a run this parent started is still wanted: unless it has reported.
   * Before run-keyed watches any watch of the child said yes, and the close then ended it —
   * a late close of run 1 ended run 2's watch; histories recorded so replay as they were.
   */
  private closeWanted(childSessionId: string, runId: string): boolean {
    const wanted = this.watches.wanted(childSessionId, runId);
    const asRecorded = this.watches.hasAnyFor(childSessionId);
    if (wanted === asRecorded || startsAfterOpenRunCloses()) return wanted;
    this.watches.forgetAllOf(childSessionId);
    return asRecorded;
  }

  /** Watches a child's run (its current one when `runId` is absent) for how it closes. */
  private watch(childSessionId: string, runId: string | undefined): void {
    if (this.watches.has(childSessionId, runId)) return;
    const watch = watchRunClose(childSessionId, runId);
    this.watches.add(childSessionId, runId, watch);
    void watch.closed.then((report) => {
      this.watches.resolved(childSessionId, runId, watch);
      if (report) this.reconcile(childSessionId, report.runId, report.outcome);
    });
  }

  /**
   * Watches every running child whose run is not watched: children adopted across
   * continue-as-new, starts waiting for an open run, and (at a lease expiry) any run started
   * before reconciliation existed.
   */
  watchUnwatched(): void {
    const unwatched = this.tracker
      .openRuns()
      .filter((run) => !(run.sessionKeyed ? this.watches.hasAnyFor(run.childSessionId) : this.watches.has(run.childSessionId, run.runId)));
    if (unwatched.length === 0 || !reconciles()) return;
    for (const run of unwatched) this.watch(run.childSessionId, run.runId);
  }

  // ── completions ─────────────────────────────────────────────────────────────

  /**
   * Applies a child's completion once (key: child id + run id). Returns false for a duplicate —
   * which still restarts a finished child that says messages reached its run after it reported.
   */
  onCompletion(completion: ChildCompletion): boolean {
    const fresh = this.tracker.onCompletion(completion, () => patched(LATE_MESSAGES_PATCH), () => patched(LATE_MESSAGES_AFTER_FAILED_START_PATCH));
    if (fresh) this.reported(completion.childSessionId, completion.runId);
    return fresh;
  }

  /** A run's outcome read from the run itself: applied like the child's own report. */
  private reconcile(childSessionId: string, runId: string, outcome: RunEnd): void {
    const fresh = this.tracker.onRunClosed(childSessionId, runId, outcome, startsAfterOpenRunCloses);
    if (!fresh) return;
    this.reported(childSessionId, runId);
    const notice = this.parent?.onRunClosedUnreported?.(childSessionId, runId);
    if (notice) {
      this.unsentNotices++;
      this.notices.push(notice.finally(() => this.unsentNotices--));
    }
    log.warn('child run closed without reporting; its outcome was read from the run', { childSessionId, runId, status: outcome.status });
  }

  /** A child run reported (fresh): its watch is no longer needed, and whoever waited on the run hears of it. */
  private reported(childSessionId: string, runId: string): void {
    this.watches.reported(childSessionId, runId);
    this.parent?.onRunEnded?.(childSessionId, runId);
  }

  // ── managing one child ──────────────────────────────────────────────────────

  /**
   * A follow-up for a child: queued into its running run (merged at its next turn), added
   * to its queued start, or — once it has finished, or when its run closes before the
   * message reaches it — a new run from the snapshot of the run that reported.
   * Never throws in runs that reconcile; `ok: false` for a child it cannot reach.
   */
  async sendMessage(childSessionId: string, message: string): Promise<ToolCallOutcome> {
    const route = this.tracker.routeMessage(childSessionId, message);
    switch (route.kind) {
      case 'answered':
        return route.outcome;
      case 'restart':
        return this.restartWithMessage(route.child, message);
      case 'starting':
        // Recorded before: a second job for the child, whose start found the first run open.
        if (!reconciles() || !startsAfterOpenRunCloses()) return this.restartWithMessage(route.child, message);
        return this.tracker.keepForNextRun(route.child, message);
      case 'signal':
        try {
          await getExternalWorkflowHandle(sessionWorkflowId(childSessionId)).signal(injectMessageSignal, { content: message });
          return this.tracker.messageDelivered(route.child);
        } catch (error) {
          if (!reconciles()) throw error;
          return this.tracker.messageMissedRun(route.child, message, startsAfterOpenRunCloses);
        }
    }
  }

  private restartWithMessage(child: TrackedChild, message: string): ToolCallOutcome {
    const reconcile = reconciles();
    return this.tracker.restartWithMessage(child, message, reconcile, () => reconcile && startsAfterOpenRunCloses());
  }

  /**
   * Cancels a queued or running child. Never throws in runs that reconcile: a child that just
   * closed says so; `ok: false` only for an unknown child.
   */
  async cancelOne(childSessionId: string): Promise<ToolCallOutcome> {
    const route = this.tracker.routeCancel(childSessionId);
    if (route.kind === 'answered') return route.outcome;
    try {
      await getExternalWorkflowHandle(sessionWorkflowId(childSessionId)).cancel();
    } catch (error) {
      if (!reconciles()) throw error;
      return this.tracker.cancelMissedRun(route.child);
    }
    return this.tracker.cancelRequested(route.child);
  }

  // ── cancellation ────────────────────────────────────────────────────────────

  /**
   * The parent run is ending: spawns still queued end `cancelled` without starting, nothing
   * starts any more (ChildTracker.close), and a start in flight is cancelled once it has started.
   */
  close(): void {
    this.cancelling = true;
    this.tracker.close();
  }

  /** The run waits to continue-as-new: queued spawns stay queued, to be carried (pump). */
  holdStarts(): void {
    this.holding = true;
  }

  /** It did not continue after all: the queue starts again. */
  releaseStarts(): void {
    this.holding = false;
  }

  private holding = false;

  private unsentNotices = 0;

  /** A notice to the root is on its way: this run must not close (nor continue-as-new) before it is recorded. */
  hasUnsentNotices(): boolean {
    return this.unsentNotices > 0;
  }

  /** Resolves once every notice to the root this parent sent has been recorded (sent before the run ends: a closed run's signals are dropped). */
  async noticesSent(): Promise<void> {
    while (this.notices.length > 0) await Promise.all(this.notices.splice(0));
  }

  /** Cancels every open child run and waits (bounded) until each has reported. */
  async cancelAll(): Promise<void> {
    this.cancelling = true;
    this.tracker.cancelQueued();
    await Promise.all(this.tracker.running().map((c) => this.requestCancel(c.childSessionId)));
    await condition(() => this.tracker.runningCount() === 0, this.options.cancelGraceSecs * 1000);
  }

  private requestCancel(childSessionId: string): Promise<void> {
    return getExternalWorkflowHandle(sessionWorkflowId(childSessionId))
      .cancel()
      .catch((error: unknown) => log.warn('could not cancel child', { childSessionId, error: String(error) }));
  }
}

/**
 * The spawn queue's depth across the worker's sessions, as two counters (a depth is their
 * difference: `bamboo_spawns_queued - bamboo_spawns_dequeued`). The workflow metric meter
 * emits nothing while a history replays, and nothing unless the worker exports metrics.
 */
function countQueueChange(delta: number): void {
  if (delta > 0) metricMeter.createCounter('bamboo_spawns_queued', '1', 'Child runs that entered a spawn queue').add(delta);
  else if (delta < 0) metricMeter.createCounter('bamboo_spawns_dequeued', '1', 'Child runs that left a spawn queue (started or cancelled)').add(-delta);
}
