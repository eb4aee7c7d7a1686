/**
 * A parent's children in a small simulated world, for model-based tests: the real plain state
 * (ChildTracker, RunWatches) driven as workflows/children.ts drives it, and around it what
 * Temporal and the child runs may do, in any order — a start settles (or finds a run open), a
 * run reports by signal and closes later (or is terminated and never reports), a handle's
 * result or a watch activity resolves late, a signal comes twice, someone else starts a run of
 * the session, the parent continues-as-new.
 *
 * Each method named after a Children method does what that method does (with the patch
 * `bamboo-start-after-open-run-closes` applied): keep them in step when children.ts changes.
 */
import { addSpend, CarriedStateSchema, NO_SPEND, SessionOptionsSchema, type Amounts, type ChildCompletion, type Session, type SessionOptionsInput, type Spend, type TerminalRunStatus } from '../../common';
import { ChildTracker, type RunEnd } from '../../workflows/child-tracker';
import { HANDLE_WATCH, RunWatches, type Stoppable } from '../../workflows/run-watches';
import { job, PARENT, T0 } from './tracker';

export const RUN_SPEND: Spend = { usage: { inputTokens: 2, outputTokens: 1 }, costMicroUsd: 0, unpricedCalls: 0 };

interface Run {
  id: string;
  childId: string;
  /** Started by this parent (else by someone else: the CLI, another program). */
  own: boolean;
  open: boolean;
  reported: boolean;
  /** How it ends; `undefined` until it reports or closes. */
  end?: RunEnd & { unansweredMessages?: number };
  cancelRequested: boolean;
  /** Messages signalled into it before it reported, not answered by it (the parent's follow-ups among them). */
  unanswered: number;
  followUpsUnanswered: string[];
  /** The parent run (generation) that holds its handle, if any. */
  handleOf?: number;
  /** The budget share its child held when it started (a run the parent started). */
  share?: Amounts;
}

interface ActivityWatch extends Stoppable {
  childId: string;
  runId?: string;
  /** The run the activity waits on: `runId`, or the session's latest run when it was scheduled. */
  target?: string;
  stopped: boolean;
  generation: number;
}

type Delivery =
  | { kind: 'signal'; completion: ChildCompletion }
  /** The parent's signal (a follow-up) or cancel request to the session's run: its outcome comes back later. */
  | { kind: 'message'; childId: string; message: string; answeredByRun: boolean }
  | { kind: 'cancel'; childId: string }
  | { kind: 'handle'; generation: number; childId: string; runId: string }
  | { kind: 'watch'; watch: ActivityWatch };

export class ChildTreeWorld {
  tracker: ChildTracker;
  watches = new RunWatches<Stoppable>();
  readonly options;
  readonly runs = new Map<string, Run>();
  /** Per session: its open run (at most one: workflow id = session) and its latest run. */
  readonly sessions = new Map<string, { open?: string; latest?: string }>();
  deliveries: Delivery[] = [];
  readonly signalsSent: ChildCompletion[] = [];
  inFlight: ReturnType<typeof job>[] = [];
  activityWatches: ActivityWatch[] = [];
  generation = 0;
  cancelling = false;
  /** Fresh applications per run key (child/run): exactly one each once every run has closed. */
  readonly fresh = new Map<string, number>();
  foreignSpend = false;
  /** The parent's own model calls (its budget covers them too). */
  selfSpend: Spend = NO_SPEND;
  /** The tokens of the largest call the parent made: how far one call may cross a limit. */
  largestCall = 0;
  /** The tokens of the calls that crossed a child's share, one per run at most. */
  childCallsOver = 0;
  /** Every follow-up the parent sent, and what became of it (none yet: in a job, on the child, or on its way). */
  readonly messages = new Map<string, { childId: string; fate?: string }>();
  private nextRun = 1;
  private nextMessage = 1;
  private nextChild = 1;

  constructor(options: SessionOptionsInput) {
    this.options = SessionOptionsSchema.parse(options);
    this.tracker = this.newTracker();
  }

  private newTracker(carried?: ConstructorParameters<typeof ChildTracker>[0]['carried']): ChildTracker {
    return new ChildTracker({ parentSessionId: PARENT, options: this.options, events: { add: () => undefined }, now: () => T0, carried, selfSpend: () => this.selfSpend });
  }

  // ── the parent's model, through its tools ─────────────────────────────────

  spawn(): void {
    const share = this.tracker.reserve(1);
    if (!share.ok) return;
    const id = `c${this.nextChild++}`;
    this.sessions.set(id, {});
    // A first spawn carries the child's snapshot (spawn-tools.ts); later runs load theirs.
    const session: Session = { id, kind: 'child', parentSessionId: PARENT, rootSessionId: PARENT, spawnDepth: 1, model: 'scripted-model', messages: [], metadata: {} };
    this.tracker.enqueue({ ...job(id), session }, id, share.reservation);
  }

  /** A model call of the parent's own turn: made only while the budget has something left (agent-loop.ts). */
  parentCall(tokens: number): void {
    if (this.tracker.exhausted()) return;
    this.selfSpend = addSpend(this.selfSpend, { usage: { inputTokens: tokens, outputTokens: 0 }, costMicroUsd: 0, unpricedCalls: 0 });
    this.largestCall = Math.max(this.largestCall, tokens);
  }

  /** Children.sendMessage. */
  sendMessage(childId: string, answeredByRun: boolean): void {
    const message = `m${this.nextMessage++}`;
    this.messages.set(message, { childId });
    const route = this.tracker.routeMessage(childId, message);
    let outcome = route.kind === 'answered' ? route.outcome : undefined;
    if (route.kind === 'restart') outcome = this.tracker.restartWithMessage(route.child, message, true);
    else if (route.kind === 'starting') outcome = this.tracker.keepForNextRun(route.child, message);
    else if (route.kind === 'signal') this.deliveries.push({ kind: 'message', childId, message, answeredByRun });
    if (outcome && !outcome.ok) this.fate(message, 'refused');
  }

  /** The follow-up's signal reached the session's open run, or found none. */
  private messageSignalled(childId: string, message: string, answeredByRun: boolean): void {
    const child = this.tracker.child(childId)!;
    const open = this.openRunOf(childId);
    if (!open) {
      if (!this.tracker.messageMissedRun(child, message).ok) this.fate(message, 'refused');
      return;
    }
    // Merged at its next turn, or left unanswered and counted in its report — or, once the run
    // has reported, counted in a report again (childSessionWorkflow's reportLateMessages).
    if (!open.own) this.fate(message, 'reached a run started elsewhere (its report is not the child’s)');
    else if (open.reported) this.reportAgain(open, message);
    else if (answeredByRun) this.fate(message, 'answered');
    else {
      open.unanswered += 1;
      open.followUpsUnanswered.push(message);
    }
    this.tracker.messageDelivered(child);
  }

  /** The follow-ups a job carries: its own, and (loading a snapshot) those its child's earlier runs left unanswered. */
  private messagesOf(spawnJob: ReturnType<typeof job>): string[] {
    const earlier = spawnJob.snapshotRunId ? [...this.runs.values()].filter((r) => r.childId === spawnJob.childSessionId).flatMap((r) => r.followUpsUnanswered) : [];
    return [...(spawnJob.appendMessages ?? []), ...earlier];
  }

  private fate(message: string, fate: string): void {
    const record = this.messages.get(message);
    if (record && !record.fate) record.fate = fate;
  }

  /** Children.cancelOne: the cancel request's outcome comes back later. */
  cancelOne(childId: string): void {
    const route = this.droppingJobs(() => this.tracker.routeCancel(childId));
    if (route.kind === 'cancel') this.deliveries.push({ kind: 'cancel', childId });
  }

  /** Children.cancelAll (its bounded wait is the rest of the run). */
  cancelAll(): void {
    this.cancelling = true;
    this.droppingJobs(() => this.tracker.cancelQueued());
    for (const child of this.tracker.running()) this.requestCancel(child.childSessionId);
  }

  /** The follow-ups in jobs that `cancel` dropped end with them. */
  private droppingJobs<T>(cancel: () => T): T {
    const inJobs = () =>
      new Set([
        ...this.tracker.carried(false).queued.flatMap((j) => this.messagesOf(j)),
        // A start waiting for an open run takes the follow-ups kept on its child along (ChildTracker.requeue).
        ...[...this.tracker.tracked.values()].filter((c) => this.tracker.isDeferred(c.childSessionId)).flatMap((c) => c.pendingMessages ?? []),
      ]);
    const before = inJobs();
    const result = cancel();
    const after = inJobs();
    for (const message of before) if (!after.has(message)) this.fate(message, 'cancelled before its run started');
    return result;
  }

  private requestCancel(childId: string): boolean {
    const open = this.openRunOf(childId);
    if (open) open.cancelRequested = true;
    return open !== undefined;
  }

  // ── starts ────────────────────────────────────────────────────────────────

  /** Children.pump: every queued job that fits starts (its start command goes out). */
  pump(): void {
    for (let next = this.tracker.nextStart(); next; next = this.tracker.nextStart()) this.inFlight.push(next);
  }

  /** Children.start, once the server has answered. */
  settleStart(index: number, fails: boolean): void {
    const [spawnJob] = this.inFlight.splice(index % this.inFlight.length, 1);
    const id = spawnJob.childSessionId;
    const child = this.tracker.child(id)!;
    if (fails) {
      this.tracker.startFailed(child, 'namespace not found', spawnJob);
      // Its follow-ups, and those kept for the run after it, go with it: the child shows the failure.
      for (const message of [...this.messagesOf(spawnJob), ...(child.pendingMessages ?? [])]) this.fate(message, 'its run could not start');
    }
    else if (this.sessions.get(id)?.open) this.foundOpenRun(child, spawnJob);
    else {
      const run = this.newRun(id, true);
      for (const message of this.messagesOf(spawnJob)) this.fate(message, 'started a run');
      run.share = child.reservation;
      this.tracker.started(child, run.id);
      this.watches.add(id, run.id, HANDLE_WATCH);
      if (this.cancelling) this.requestCancel(id);
    }
    this.tracker.startSettled(spawnJob);
  }

  /** Children.foundOpenRun. */
  private foundOpenRun(child: ReturnType<ChildTracker['child']> & object, spawnJob: ReturnType<typeof job>): void {
    this.tracker.alreadyRunning(child, spawnJob, true);
    this.watch(child.childSessionId, undefined);
  }

  /** Someone else starts a run of the session (the CLI), when none is open. */
  startForeignRun(childId: string): void {
    if (!this.sessions.get(childId)?.open) this.newRun(childId, false);
  }

  private newRun(childId: string, own: boolean): Run {
    const run: Run = { id: `${childId}-r${this.nextRun++}`, childId, own, open: true, reported: false, cancelRequested: false, unanswered: 0, followUpsUnanswered: [], ...(own ? { handleOf: this.generation } : {}) };
    this.runs.set(run.id, run);
    this.sessions.set(childId, { open: run.id, latest: run.id });
    return run;
  }

  // ── runs report and close ─────────────────────────────────────────────────

  openRunOf(childId: string): Run | undefined {
    const open = this.sessions.get(childId)?.open;
    return open ? this.runs.get(open) : undefined;
  }

  openRuns(): Run[] {
    return [...this.runs.values()].filter((r) => r.open);
  }

  /** The run signals its parent (childSessionWorkflow's finish); it stays open a moment longer. */
  /**
   * `spent`: the part of its budget share the run used; `overCall`: the tokens of one call that
   * crossed its share (a call's size is known when it returns; the child stops before the next).
   */
  report(run: Run, status: TerminalRunStatus, extraUnanswered = 0, spent = 1, overCall = 0): void {
    if (!run.open || run.reported) return;
    run.reported = true;
    const unanswered = run.unanswered + extraUnanswered;
    const budgeted = run.share && this.options.budget?.maxTokens !== undefined;
    if (budgeted) this.childCallsOver += overCall;
    const tokens = budgeted ? Math.floor(run.share!.tokens * spent) + overCall : undefined;
    const subtreeSpend = tokens === undefined ? RUN_SPEND : { ...RUN_SPEND, usage: { inputTokens: tokens, outputTokens: 0 } };
    run.end = { status: run.cancelRequested ? 'cancelled' : status, subtreeSpend, ...(unanswered ? { unansweredMessages: unanswered } : {}) };
    // A run that did not complete answers nothing more (childSessionWorkflow counts unanswered messages only when completed).
    if (run.end.status !== 'completed') run.followUpsUnanswered.forEach((m) => this.fate(m, `its run ended ${run.end!.status}`));
    if (!run.own) this.foreignSpend = true;
    const completion: ChildCompletion = { parentSessionId: PARENT, childSessionId: run.childId, runId: run.id, completedAt: new Date(T0).toISOString(), ...run.end };
    this.signalsSent.push(completion);
    this.deliveries.push({ kind: 'signal', completion });
  }

  /** A message reached a run that had reported: a completed run reports again with it counted; any other keeps it unanswered. */
  private reportAgain(run: Run, message: string): void {
    if (run.end!.status !== 'completed') return this.fate(message, `its run ended ${run.end!.status}`);
    run.unanswered += 1;
    run.followUpsUnanswered.push(message);
    run.end = { ...run.end!, unansweredMessages: run.unanswered };
    const completion: ChildCompletion = { parentSessionId: PARENT, childSessionId: run.childId, runId: run.id, completedAt: new Date(T0).toISOString(), ...run.end };
    this.signalsSent.push(completion);
    this.deliveries.push({ kind: 'signal', completion });
  }

  /** The run closes: normally (after reporting, which it does first if it has not), or terminated without a word. */
  close(run: Run, terminated: boolean): void {
    if (!run.open) return;
    if (!run.reported && !terminated) this.report(run, 'completed');
    if (!run.reported) {
      run.end = { status: 'error', error: 'Child session run was terminated' };
      run.followUpsUnanswered.forEach((m) => this.fate(m, 'its run was terminated'));
    }
    run.open = false;
    this.sessions.get(run.childId)!.open = undefined;
    if (run.handleOf === this.generation) this.deliveries.push({ kind: 'handle', generation: this.generation, childId: run.childId, runId: run.id });
    for (const watch of this.activityWatches) if (watch.target === run.id) this.deliveries.push({ kind: 'watch', watch });
    this.activityWatches = this.activityWatches.filter((w) => w.target !== run.id);
  }

  // ── deliveries into the parent ───────────────────────────────────────────

  deliver(index: number): void {
    const [delivery] = this.deliveries.splice(index % this.deliveries.length, 1);
    if (delivery.kind === 'signal') return this.onCompletion(delivery.completion);
    if (delivery.kind === 'message') return this.messageSignalled(delivery.childId, delivery.message, delivery.answeredByRun);
    if (delivery.kind === 'cancel') {
      const child = this.tracker.child(delivery.childId)!;
      return void (this.requestCancel(delivery.childId) ? this.tracker.cancelRequested(child) : this.tracker.cancelMissedRun(child));
    }
    if (delivery.kind === 'handle') {
      if (delivery.generation !== this.generation) return; // the handle belonged to a run that continued-as-new
      const wanted = this.watches.wanted(delivery.childId, delivery.runId); // closeWanted, patched
      this.watches.handleClosed(delivery.childId, delivery.runId);
      if (wanted) this.reconcile(delivery.childId, delivery.runId, this.runs.get(delivery.runId)!.end!);
      return;
    }
    const { watch } = delivery;
    if (watch.generation !== this.generation || watch.stopped) return; // cancelled: resolves with nothing
    this.watches.resolved(watch.childId, watch.runId, watch);
    this.reconcile(watch.childId, watch.target!, this.runs.get(watch.target!)!.end!);
  }

  /** A signal the parent already had comes again. */
  duplicateSignal(index: number): void {
    this.deliveries.push({ kind: 'signal', completion: this.signalsSent[index % this.signalsSent.length] });
  }

  /** Children.onCompletion. */
  private onCompletion(completion: ChildCompletion): void {
    if (this.tracker.onCompletion(completion)) this.reported(completion.childSessionId, completion.runId);
    // A report that counts follow-ups of a child the parent has cancelled since restarts nothing:
    // they end with the cancel, as those in its dropped restart did.
    const child = this.tracker.child(completion.childSessionId);
    const hasJob = [...this.tracker.carried(false).queued, ...this.inFlight].some((j) => j.childSessionId === completion.childSessionId);
    const run = this.runs.get(completion.runId);
    if (child?.status === 'cancelled' && !hasJob) run?.followUpsUnanswered.forEach((m) => this.fate(m, 'its child was cancelled'));
    // Nor does one whose session a run started elsewhere has taken over since (that run is the session's now).
    const latest = this.runs.get(this.sessions.get(completion.childSessionId)?.latest ?? '');
    if (run && latest && latest !== run && !latest.own) run.followUpsUnanswered.forEach((m) => this.fate(m, 'a run started elsewhere took the session over'));
  }

  /** Children.reconcile. */
  private reconcile(childId: string, runId: string, end: RunEnd): void {
    if (this.tracker.onRunClosed(childId, runId, end, () => true)) this.reported(childId, runId);
  }

  /** Children.reported. */
  private reported(childId: string, runId: string): void {
    const key = `${childId}/${runId}`;
    this.fresh.set(key, (this.fresh.get(key) ?? 0) + 1);
    this.watches.reported(childId, runId);
  }

  // ── watches ───────────────────────────────────────────────────────────────

  /** Children.watch: an awaitSessionRunClose activity. */
  private watch(childId: string, runId: string | undefined): void {
    if (this.watches.has(childId, runId)) return;
    const watch: ActivityWatch = {
      childId,
      runId,
      target: runId ?? this.sessions.get(childId)?.latest,
      stopped: false,
      generation: this.generation,
      stop: () => void (watch.stopped = true),
    };
    this.watches.add(childId, runId, watch);
    const target = watch.target ? this.runs.get(watch.target) : undefined;
    if (target && !target.open) this.deliveries.push({ kind: 'watch', watch });
    else if (target) this.activityWatches.push(watch);
  }

  /** Children.watchUnwatched. */
  watchUnwatched(): void {
    const unwatched = this.tracker.openRuns().filter((run) => !(run.sessionKeyed ? this.watches.hasAnyFor(run.childSessionId) : this.watches.has(run.childSessionId, run.runId)));
    for (const run of unwatched) this.watch(run.childSessionId, run.runId);
  }

  // ── the parent's own life ────────────────────────────────────────────────

  /** The durable wait: begun when an awaited child has not reported; resumed once its policy holds. */
  waitStep(): void {
    this.tracker.beginWaitIfNeeded();
    if (this.tracker.waitSatisfied()) this.tracker.takeResumeMessage(false);
  }

  leaseExpires(): void {
    if (!this.tracker.waiting) return;
    this.watchUnwatched();
    this.tracker.takeResumeMessage(true);
  }

  /** Between turns (a tool's signal or cancel is awaited by its turn) and with no start in flight (root-session.ts). */
  mayContinueAsNew(): boolean {
    return !this.tracker.isStarting() && !this.deliveries.some((d) => d.kind === 'message' || d.kind === 'cancel');
  }

  /** Continue-as-new: the carried state through JSON and its schema, handles and activities left behind. */
  continueAsNew(): void {
    if (!this.mayContinueAsNew()) return;
    const carried = CarriedStateSchema.parse(JSON.parse(JSON.stringify({ ...this.tracker.carried(true), pendingUserMessages: [], lastEventSeq: 0 })));
    this.generation += 1;
    this.tracker = this.newTracker(carried);
    this.watches = new RunWatches<Stoppable>();
    this.activityWatches = [];
    // Signals reach the new run; the old run's handles, activities and pending calls are left behind.
    this.deliveries = this.deliveries.filter((d) => d.kind === 'signal');
    this.watchUnwatched();
  }

  /** After every step, as a workflow task ends: the pump starts what fits, the wait moves on. */
  settle(): void {
    this.pump();
    this.waitStep();
  }
}
