/**
 * What a parent knows about its children, as plain state: the tracked children, the spawn
 * queue and the running count, the completions applied (keyed by child id + run id), the
 * durable wait and its resume message, follow-ups, and what continue-as-new carries.
 *
 * No Temporal here: `children.ts` performs the starts, signals, cancellations and waits, and
 * tells the tracker what happened; the tracker decides what that means. Time comes from the
 * injected clock (workflow code passes workflow time), so the same inputs always give the
 * same state — and a unit test can drive it with plain objects.
 */
import type { Amounts, Budget, BudgetStatus } from '../common/budget';
import type { TrackedChild } from '../common/children';
import type { ToolCallOutcome } from '../common/model-turn';
import type { SessionOptions, WaitPolicy } from '../common/options';
import type { CarriedState } from '../common/root-session';
import type { ChildCompletion, SpawnJob } from '../common/run';
import { FINAL_RESPONSE_CAP } from '../common/run-close';
import type { TerminalRunStatus } from '../common/run-status';
import { NO_SPEND, spendOfCall, type Spend } from '../common/spend';
import type { EventLog } from './event-log';
import { ChildLedger, type Reserved } from './child-ledger';
import { isTerminal, resumeMessage, waitHolds } from './child-resume';

export { isTerminal } from './child-resume';
export type { Reserved } from './child-ledger';

/** A pending child carried without its start job (repairOrphanedPending). */
export const ORPHANED_START_LOST = 'its next run was lost when its parent continued-as-new (state from an older version); send it the message again, or spawn it again';

/** Continue-as-new carries at most this many children already reported, without their answers. */
export const REPORTED_CHILDREN_CARRIED = 200;
/** …and this many completion keys (duplicates arrive close to the original). */
export const COMPLETION_KEYS_CARRIED = 1000;

export interface WaitState {
  policy: WaitPolicy;
  leaseExpiresAt: string;
}

export type CarriedChildren = Pick<CarriedState, 'children' | 'queued' | 'seenCompletions' | 'waiting' | 'childrenSpend' | 'budgetCharged'>;
/** How a run ended, as read from the run itself (or said by the child). */
export type RunEnd = Pick<ChildCompletion, 'status' | 'error' | 'finalResponse' | 'subtreeSpend'>;

/** Where a follow-up goes: answered from state alone, or the child's running run, or a new run. */
export type MessageRoute =
  | { kind: 'answered'; outcome: ToolCallOutcome }
  | { kind: 'signal'; child: TrackedChild }
  | { kind: 'starting'; child: TrackedChild }
  | { kind: 'restart'; child: TrackedChild };

/** What cancelling one child takes: answered from state alone, or a cancellation of its run. */
export type CancelRoute = { kind: 'answered'; outcome: ToolCallOutcome } | { kind: 'cancel'; child: TrackedChild };

const ok = (content: string): ToolCallOutcome => ({ ok: true, content });
const refused = (content: string): ToolCallOutcome => ({ ok: false, content });
const COULD_NOT_START = 'could not start child session: ';
const noSuchChild = (childSessionId: string) => refused(`Error: no child session ${childSessionId}`);
const CANCELLED_BEFORE_START = 'Cancelled by parent before it started';

export interface ChildTrackerDeps {
  parentSessionId: string;
  options: SessionOptions;
  events: Pick<EventLog, 'add'>;
  /** Milliseconds since the epoch: `Date.now` of the workflow (deterministic). */
  now: () => number;
  carried?: CarriedChildren;
  /** The parent's spawn depth (root = 0): whether its children may spawn in turn. */
  parentDepth?: number;
  /** What the parent's own model calls spent so far (its budget covers them too). */
  selfSpend?: () => Spend;
  /** Told when jobs enter (+n) or leave (−n) the spawn queue: the spawn-queue-depth metric. */
  onQueueChange?: (delta: number) => void;
}


export interface ChildSummary {
  childSessionId: string;
  status: TrackedChild['status'];
  title?: string;
  error?: string;
}

export class ChildTracker {
  readonly tracked = new Map<string, TrackedChild>();
  private readonly queue: SpawnJob[] = [];
  private readonly seen = new Set<string>();
  /** Starts in flight: they count as running. */
  private starting = 0;
  /** The same, per child (normally one each): a follow-up for a child being started waits for the run after it. */
  private readonly startingIds = new Map<string, number>();
  /**
   * Jobs whose start found a run of the session still open — the run that just reported,
   * still closing, or someone else's. Each starts once that run has closed; the child counts as
   * running meanwhile, and keeps the job's share of the budget (issue 25).
   */
  private readonly deferred = new Map<string, SpawnJob>();
  /** Reports that arrived while their child's start was in flight: applied once the start names its run. */
  private readonly held = new Map<string, { completion: ChildCompletion; spent: boolean }>();
  /**
   * Children marked running by a start that found a run open, as recorded before deferred
   * starts (or before reconciliation): whichever run reports next is theirs.
   */
  private readonly adopting = new Set<string>();
  waiting: WaitState | null;
  /** The parent's run is ending (`close`): nothing starts any more. */
  private closing = false;
  private readonly parentSessionId: string;
  private readonly options: SessionOptions;
  private readonly events: Pick<EventLog, 'add'>;
  private readonly now: () => number;
  private readonly ledger: ChildLedger;
  private readonly queueChanged: (delta: number) => void;

  constructor({ parentSessionId, options, events, now, carried, parentDepth, selfSpend, onQueueChange }: ChildTrackerDeps) {
    this.parentSessionId = parentSessionId;
    this.options = options;
    this.events = events;
    this.now = now;
    this.ledger = new ChildLedger({ options, parentDepth: parentDepth ?? 0, selfSpend: selfSpend ?? (() => NO_SPEND), children: () => this.tracked.values(), carried });
    this.queueChanged = onQueueChange ?? (() => undefined);
    for (const child of carried?.children ?? []) this.tracked.set(child.childSessionId, child);
    this.queue.push(...(carried?.queued ?? []));
    for (const key of carried?.seenCompletions ?? []) this.seen.add(key);
    this.waiting = carried?.waiting ?? null;
  }

  /** Everything the children reported spending, each fresh completion once (survives pruning). */
  get childrenSpend(): Spend {
    return this.ledger.childrenSpend;
  }

  // ── spawning with backpressure ──────────────────────────────────────────────

  /** Queues a child run; it starts when a slot is free. `reservation`: its share of the budget. */
  enqueue(job: SpawnJob, title: string, reservation?: Amounts): void {
    this.tracked.set(job.childSessionId, { childSessionId: job.childSessionId, title, status: 'pending', model: job.model, reported: false, awaited: true, ...(reservation ? { reservation } : {}) });
    this.queue.push(job);
    this.queueChanged(1);
  }

  // ── the budget (child-ledger.ts) ────────────────────────────────────────────

  /** Spent by the parent's own calls, its children's reports and the runs charged in full. */
  spent(): Amounts {
    return this.ledger.spent();
  }

  /** Held for children queued or running. */
  reserved(): Amounts {
    return this.ledger.reserved();
  }

  /** The contract's text when a model call has nothing left to spend; undefined otherwise. */
  exhausted(): string | undefined {
    return this.ledger.exhausted();
  }

  /** A child run's share of what is left, or why it cannot have one (`spawnsLeft`: this round's spawns not handled yet, this one included). */
  reserve(spawnsLeft: number): Reserved {
    return this.ledger.reserve(spawnsLeft);
  }

  budgetStatus(): BudgetStatus | undefined {
    return this.ledger.budgetStatus();
  }

  /** The options a child run gets: the parent's, with the child's own share as its budget. */
  optionsFor(childBudget: Budget | undefined): SessionOptions {
    return this.ledger.optionsFor(childBudget);
  }

  /** Runs started and not yet finished, including starts in flight. */
  runningCount(): number {
    let n = this.starting;
    for (const child of this.tracked.values()) if (child.status === 'running') n += 1;
    return n;
  }

  hasRoom(): boolean {
    return !this.closing && this.queue.length > 0 && this.runningCount() < this.options.maxRunningChildren;
  }

  /**
   * The parent's run is ending: queued jobs end `cancelled` without starting, and nothing is
   * queued any more — a restart a late report asks for, or a job that waited for an open run,
   * would start a run no parent supervises. Their messages stay on the child (or in its final
   * session), for whoever runs the child next.
   */
  close(): void {
    this.closing = true;
    this.cancelQueued();
  }

  /** The next queued job when there is room, counted as starting until `startSettled(job)`. */
  nextStart(): SpawnJob | undefined {
    if (!this.hasRoom()) return undefined;
    const job = this.queue.shift()!;
    this.starting += 1;
    this.startingIds.set(job.childSessionId, (this.startingIds.get(job.childSessionId) ?? 0) + 1);
    this.queueChanged(-1);
    return job;
  }

  /** The start of `job` has settled (started, found a run open, or failed). */
  startSettled(job: SpawnJob): void {
    this.starting -= 1;
    const id = job.childSessionId;
    const left = (this.startingIds.get(id) ?? 1) - 1;
    if (left > 0) return void this.startingIds.set(id, left);
    this.startingIds.delete(id);
    // A report held for this start was not its run's (someone else's run, found open): recorded only.
    const held = this.held.get(id);
    this.held.delete(id);
    if (held) this.recordOtherRun(held.completion);
  }

  /** Jobs queued (or waiting for an open run to close) and not started. */
  hasQueued(): boolean {
    return this.queue.length > 0 || this.deferred.size > 0;
  }

  /** True while a start is in flight: not a safe moment to continue-as-new. */
  isStarting(): boolean {
    return this.starting > 0;
  }

  /**
   * No child run open — started, starting, or waiting for an open run to close (those count as
   * running) — none queued, and no wait open: what a child session needs to continue-as-new.
   */
  isQuiet(): boolean {
    return this.runningCount() === 0 && this.queue.length === 0 && this.waiting === null;
  }

  child(childSessionId: string): TrackedChild | undefined {
    return this.tracked.get(childSessionId);
  }

  /** Children whose run is open. */
  running(): TrackedChild[] {
    return [...this.tracked.values()].filter((c) => c.status === 'running');
  }

  /** The run started (`runId`: its first execution's). A report that came before the start did is applied now. */
  started(child: TrackedChild, runId: string): void {
    if (child.status === 'pending') {
      child.status = 'running';
      child.runId = runId;
    }
    this.events.add({ type: 'sub_session_started', childSessionId: child.childSessionId, title: child.title });
    const held = this.held.get(child.childSessionId);
    if (held?.completion.runId !== runId) return;
    this.held.delete(child.childSessionId);
    this.finishRun(child, held.completion, held.spent);
  }

  /**
   * The start found a run of the session open: the run that just reported and is still
   * closing, or someone else's. The child counts as running. In runs that reconcile, the job
   * waits for that run to close — a watch of the session's current run, or any report of the
   * child, says so — and then starts; a first spawn's job adopts the open run instead when
   * that run reports (the reference: a second spawn of a running session returns the running
   * one). Runs recorded before reconciliation only mark the child running.
   */
  alreadyRunning(child: TrackedChild, job: SpawnJob, reconciling: boolean): void {
    child.status = 'running';
    if (!reconciling) return void this.adopting.add(child.childSessionId);
    const earlier = this.deferred.get(child.childSessionId);
    // Two jobs for one child (a follow-up while its start was in flight, as recorded before): one run, both messages.
    this.deferred.set(child.childSessionId, earlier ? { ...earlier, appendMessages: [...(earlier.appendMessages ?? []), ...(job.appendMessages ?? [])] } : job);
  }

  /**
   * `alreadyRunning` as recorded before deferred starts (patch `bamboo-start-after-open-run-closes`):
   * the job's follow-ups wait on the child and whichever run reports next is the child's — which
   * left the child running for good when that run had already reported (issue 25).
   */
  alreadyRunningAsRecorded(child: TrackedChild, job: SpawnJob): void {
    if (child.status === 'pending') child.status = 'running';
    if (job.appendMessages?.length) child.pendingMessages = [...(child.pendingMessages ?? []), ...job.appendMessages];
    this.adopting.add(child.childSessionId);
  }

  /** A job waits for an open run of its session to close before it starts. */
  isDeferred(childSessionId: string): boolean {
    return this.deferred.has(childSessionId);
  }

  /** Marked running by a start recorded before deferred starts: its watch is the session's, as then. */
  isAdopting(childSessionId: string): boolean {
    return this.adopting.has(childSessionId);
  }

  /**
   * A start the server refused (not "already started"). `keepsMessages`: the caller's patch
   * check — the follow-ups the job carried stay on the child for its next run (a late report of
   * the run before restarts it; before, they went with the job).
   */
  startFailed(child: TrackedChild, reason: string, job?: SpawnJob, keepsMessages: () => boolean = () => true): void {
    child.reservation = undefined; // a run that never started spent nothing
    this.apply({ status: 'error', error: `${COULD_NOT_START}${reason}` }, child);
    if (job?.appendMessages?.length && keepsMessages()) child.pendingMessages = [...job.appendMessages, ...(child.pendingMessages ?? [])];
  }

  /**
   * The runs to watch for how they close, one per running child: its run, or (a start
   * deferred) the session's current run — the one it waits for. `sessionKeyed`: watched as
   * recorded before run-keyed watches (any watch of the child counts).
   */
  openRuns(): { childSessionId: string; runId?: string; sessionKeyed: boolean }[] {
    return this.running().map((c) => {
      const id = c.childSessionId;
      return { childSessionId: id, runId: this.deferred.has(id) ? undefined : c.runId, sessionKeyed: this.adopting.has(id) };
    });
  }

  // ── completions ─────────────────────────────────────────────────────────────

  /**
   * Applies a child's completion once (key: child id + run id), whichever path reports it
   * first; an unknown child is tracked from now on, unawaited. A completion that left
   * follow-ups unanswered, or that follow-ups missed, queues the child's next run.
   * @returns false for a duplicate.
   */
  onCompletion(completion: ChildCompletion, restartsForLateMessages: () => boolean = () => true, restartsAfterFailedStart: () => boolean = () => true): boolean {
    const key = `${completion.childSessionId}/${completion.runId}`;
    let child = this.tracked.get(completion.childSessionId);
    if (this.seen.has(key)) {
      const held = this.held.get(completion.childSessionId);
      // The first report waits for its start to name the run: it takes the later count along.
      if (held?.completion.runId === completion.runId && (completion.unansweredMessages ?? 0) > (held.completion.unansweredMessages ?? 0)) {
        held.completion = { ...held.completion, unansweredMessages: completion.unansweredMessages };
      } else if (child) this.restartIfMessagesWait(child, this.lateMessages(child, completion, restartsForLateMessages, restartsAfterFailedStart));
      return false;
    }
    this.seen.add(key);
    if (!child) {
      // A run this parent did not start (e.g. started from the CLI): track it from now on.
      child = { childSessionId: completion.childSessionId, title: completion.childSessionId, status: 'running', reported: false, awaited: false };
      this.tracked.set(child.childSessionId, child);
    }
    const spend = spendOf(completion);
    if (spend) this.ledger.count(child, spend);
    switch (this.whoseReport(child, completion.runId)) {
      case 'held':
        this.held.set(child.childSessionId, { completion, spent: spend !== undefined });
        break;
      case 'other':
        this.recordOtherRun(completion);
        break;
      case 'current':
        this.finishRun(child, completion, spend !== undefined);
    }
    return true;
  }

  /**
   * Whose report a fresh completion is: the child's current run's (or the open run its deferred
   * start waits for); a run whose start is in flight, not yet named (`held` until it is); or
   * another run of the session (someone else's) while the child has a run or a start of its
   * own — which it must not finish.
   */
  private whoseReport(child: TrackedChild, runId: string): 'current' | 'held' | 'other' {
    const id = child.childSessionId;
    if (this.deferred.has(id) || this.adopting.has(id)) return 'current';
    if (child.status === 'pending') return this.startingIds.has(id) ? 'held' : 'other';
    if (child.status === 'running') return child.runId === undefined || child.runId === runId ? 'current' : 'other';
    return 'current'; // finished: the latest report is its state (a run started elsewhere, say)
  }

  /** The child's current run has reported: the child finishes; a job that waited for the run starts now. */
  private finishRun(child: TrackedChild, completion: ChildCompletion, spent: boolean): void {
    const id = child.childSessionId;
    const waiting = this.deferred.get(id);
    this.deferred.delete(id);
    this.adopting.delete(id);
    // A follow-up that waited for this run keeps its own share; anything else was this run's share.
    const followUp = waiting && !waiting.session ? waiting : undefined;
    if (!followUp) this.ledger.release(child, spent);
    child.runId = completion.runId;
    this.apply(completion, child);
    if (followUp) return this.requeue(child, followUp);
    // A first spawn adopted the open run; follow-ups it gathered start the run after it.
    if (waiting?.appendMessages?.length) child.pendingMessages = [...(child.pendingMessages ?? []), ...waiting.appendMessages];
    this.restartIfMessagesWait(child, completion.unansweredMessages ?? 0);
  }

  /**
   * A report again from the run the child finished with, counting messages that reached the run
   * after its first report: they wait in its final session for the next run. A report of an
   * older run says nothing of the child now (its next run has the messages).
   */
  private lateMessages(child: TrackedChild, completion: ChildCompletion, restarts: () => boolean, afterFailedStart: () => boolean): number {
    const unanswered = completion.unansweredMessages ?? 0;
    if (unanswered === 0 || child.runId !== completion.runId || !child.model) return 0;
    // The child must still stand where that run left it, or have failed to start its next run
    // (`afterFailedStart`: the caller's patch check): one the parent cancelled since is not restarted.
    const stands = child.status === completion.status || (child.status === 'error' && child.error?.startsWith(COULD_NOT_START) === true && afterFailedStart());
    return stands && restarts() ? unanswered : 0;
  }

  /** A report of another run of the session: its spend is counted (in onCompletion), the child's own run goes on. */
  private recordOtherRun(completion: ChildCompletion): void {
    this.events.add({ type: 'sub_session_completed', childSessionId: completion.childSessionId, status: completion.status, error: completion.error });
  }

  /**
   * A deferred job goes back to the front of the queue: the run it waited for has closed (or
   * another has — then its start finds the run open again and waits again). A follow-up
   * continues from the snapshot of the run that reported last, with every message gathered.
   */
  private requeue(child: TrackedChild, job: SpawnJob): void {
    this.deferred.delete(child.childSessionId);
    if (this.closing) return this.cancelBeforeStart(child);
    const next = this.withKeptMessages({ ...job, ...(job.session || !child.runId ? {} : { snapshotRunId: child.runId }) });
    Object.assign(child, { status: 'pending', reported: false, awaited: true, error: undefined, finalResponse: undefined, pendingMessages: undefined });
    this.queue.unshift(next);
    this.queueChanged(1);
  }

  /** A deferred job with the follow-ups kept on its child for the run after the one that was starting. */
  private withKeptMessages(job: SpawnJob): SpawnJob {
    const messages = [...(job.appendMessages ?? []), ...(this.tracked.get(job.childSessionId)?.pendingMessages ?? [])];
    return messages.length ? { ...job, appendMessages: messages } : job;
  }

  /**
   * A watched run has closed (its handle's result, or an activity that waited on it): its
   * outcome is applied like the child's own report, once per (child id, run id). A start
   * deferred for the child is tried again now. A child left running by a start recorded before
   * deferred starts, whose run had already reported, starts its next run now (`mayRepair`: the
   * caller's patch check — histories recorded before replay as they were).
   * @returns false for a run that had already reported.
   */
  onRunClosed(childSessionId: string, runId: string, end: RunEnd, mayRepair: () => boolean = () => true): boolean {
    if (this.onCompletion(this.completionOfRun(childSessionId, runId, end))) return true;
    const child = this.tracked.get(childSessionId);
    const job = this.deferred.get(childSessionId);
    if (child && job) this.requeue(child, job);
    else if (child?.status === 'running' && child.runId === runId && mayRepair()) this.repair(child);
    return false;
  }

  /**
   * Children carried as `pending` with no job to start them: state a child run carried before
   * `bamboo-hold-starts-at-continue`, whose continuation dropped the queue (a restart a late
   * report queued while it waited to continue). Each would wait until the lease.
   */
  orphanedPending(): TrackedChild[] {
    const queued = new Set([...this.queue, ...this.deferred.values()].map((job) => job.childSessionId));
    return [...this.tracked.values()].filter((c) => c.status === 'pending' && !queued.has(c.childSessionId) && !this.startingIds.has(c.childSessionId));
  }

  /**
   * Ends each orphaned child with an error that says what happened, so its wait ends and the
   * parent's model can send the message again. It is not started again: its lost job may have
   * been a start in flight at continue-as-new, whose run exists and may still report (then as
   * another run's), and a second start would fork the session.
   */
  repairOrphanedPending(): void {
    for (const child of this.orphanedPending()) {
      child.reservation = undefined; // held for the lost job
      this.apply({ status: 'error', error: ORPHANED_START_LOST }, child);
    }
  }

  /**
   * The state issue 25 left behind, met again (a history recorded before the fix, or carried
   * from it): running, with no run that can still close. Its follow-ups start the next run now.
   */
  private repair(child: TrackedChild): void {
    this.adopting.delete(child.childSessionId);
    if (this.closing) return this.cancelBeforeStart(child);
    child.reservation = undefined; // held for a run that never started
    const share = child.model ? this.reserve(1) : { ok: false as const, message: 'its next run could not start' };
    if (!share.ok) return this.apply({ status: 'error', error: share.message }, child);
    const messages = child.pendingMessages ?? [];
    Object.assign(child, { status: 'pending', reported: false, awaited: true, pendingMessages: undefined, reservation: share.reservation });
    this.queue.push({
      parentSessionId: this.parentSessionId,
      childSessionId: child.childSessionId,
      model: child.model!,
      snapshotRunId: child.runId,
      ...(messages.length > 0 ? { appendMessages: messages } : {}),
      spawnOptions: this.optionsFor(share.childBudget),
    });
    this.queueChanged(1);
  }

  /** The completion a run's own outcome stands for, stamped with the clock. */
  completionOfRun(childSessionId: string, runId: string, end: RunEnd): ChildCompletion {
    return { ...end, parentSessionId: this.parentSessionId, childSessionId, runId, completedAt: new Date(this.now()).toISOString() };
  }

  /**
   * Follow-ups that missed a closing run (or that it left unanswered) start the child's next
   * run, from the snapshot of the run that reported.
   */
  private restartIfMessagesWait(child: TrackedChild, unanswered: number): string | undefined {
    const messages = child.pendingMessages ?? [];
    if (this.closing || !isTerminal(child.status) || (messages.length === 0 && unanswered === 0) || !child.model) return undefined;
    const share = this.reserve(1);
    if (!share.ok) {
      // The follow-ups stay on the child (manage_children get shows them): the budget cannot start a run.
      return share.message;
    }
    child.pendingMessages = undefined;
    this.awaitAgain(child, share.reservation);
    this.queueChanged(1);
    this.queue.push({
      parentSessionId: this.parentSessionId,
      childSessionId: child.childSessionId,
      model: child.model,
      snapshotRunId: child.runId,
      ...(messages.length > 0 ? { appendMessages: messages } : {}),
      spawnOptions: this.optionsFor(share.childBudget),
    });
    return undefined;
  }

  private awaitAgain(child: TrackedChild, reservation?: Amounts): void {
    Object.assign(child, { status: 'pending', reported: false, awaited: true, error: undefined, finalResponse: undefined, reservation });
  }

  private apply(outcome: { status: TerminalRunStatus; error?: string; finalResponse?: string }, child: TrackedChild): void {
    child.status = outcome.status;
    child.error = outcome.error;
    child.finalResponse = outcome.finalResponse?.slice(0, FINAL_RESPONSE_CAP);
    child.reported = false;
    this.events.add({ type: 'sub_session_completed', childSessionId: child.childSessionId, status: outcome.status, error: outcome.error });
  }

  // ── the durable wait ────────────────────────────────────────────────────────

  /** Children in the wait set not reported yet. */
  awaited(): TrackedChild[] {
    return [...this.tracked.values()].filter((c) => c.awaited && !c.reported);
  }

  hasAwaitedChildren(): boolean {
    return this.awaited().length > 0;
  }

  /** Starts waiting (policy and lease from the options) if an awaited child has not been reported. */
  beginWaitIfNeeded(): void {
    if (this.waiting || this.awaited().length === 0) return;
    const leaseExpiresAt = new Date(this.now() + this.options.waitLeaseSecs * 1000).toISOString();
    this.waiting = { policy: this.options.waitPolicy, leaseExpiresAt };
  }

  leaseRemainingMs(): number {
    return this.waiting ? Math.max(0, Date.parse(this.waiting.leaseExpiresAt) - this.now()) : 0;
  }

  /** The wait policy holds: `all` done, `any` done, or the first failure (or all done). */
  waitSatisfied(): boolean {
    return this.waiting !== null && waitHolds(this.waiting.policy, this.awaited());
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
    return resumeMessage(finished, remaining, leaseExpired ? this.options.waitLeaseSecs : undefined);
  }

  // ── follow-ups and cancelling one child ─────────────────────────────────────

  /** The child's tracked state as JSON, or a refusal for an unknown child. */
  describeChild(childSessionId: string): ToolCallOutcome {
    const child = this.tracked.get(childSessionId);
    return child ? ok(JSON.stringify(child)) : noSuchChild(childSessionId);
  }

  /**
   * Routes a follow-up: added to the child's queued (or deferred) start, or to be signalled
   * into its running run, or kept for the run after the one being started, or (finished) to
   * start its next run; an unknown child, or one this session did not start, is refused.
   */
  routeMessage(childSessionId: string, message: string): MessageRoute {
    const child = this.tracked.get(childSessionId);
    if (!child) return { kind: 'answered', outcome: noSuchChild(childSessionId) };
    const queued = this.queue.find((job) => job.childSessionId === childSessionId) ?? this.deferred.get(childSessionId);
    if (queued) {
      queued.appendMessages = [...(queued.appendMessages ?? []), message];
      return { kind: 'answered', outcome: ok(`message added to the queued child session ${childSessionId}`) };
    }
    if (child.status === 'running') return { kind: 'signal', child };
    if (this.startingIds.has(childSessionId)) return { kind: 'starting', child };
    if (!child.model) return { kind: 'answered', outcome: refused(`Error: child session ${childSessionId} was not started by this session`) };
    return { kind: 'restart', child };
  }

  /**
   * A follow-up for a child whose run is being started: a signal could reach the previous run,
   * still closing, and be lost there; kept, it starts the run after the one starting.
   */
  keepForNextRun(child: TrackedChild, message: string): ToolCallOutcome {
    child.pendingMessages = [...(child.pendingMessages ?? []), message];
    return ok(`child session ${child.childSessionId} is starting a run; the message starts the run after it`);
  }

  messageDelivered(child: TrackedChild): ToolCallOutcome {
    return ok(`message queued into the running child session ${child.childSessionId}`);
  }

  /**
   * The run closed before the message reached it: its next run gets the message — the one
   * already queued (or waiting for an open run) if there is one, else one started for it.
   * `joinsQueuedRun`: the caller's patch check (histories recorded before kept the message for
   * the run after the queued one).
   */
  messageMissedRun(child: TrackedChild, message: string, joinsQueuedRun: () => boolean = () => true): ToolCallOutcome {
    const next = this.queue.find((job) => job.childSessionId === child.childSessionId) ?? this.deferred.get(child.childSessionId);
    if (next && joinsQueuedRun()) {
      next.appendMessages = [...(next.appendMessages ?? []), message];
      return ok(`child session ${child.childSessionId} finished before the message reached it; the message joins its next run`);
    }
    child.pendingMessages = [...(child.pendingMessages ?? []), message];
    const refusal = this.restartIfMessagesWait(child, 0);
    if (refusal) return refused(`Error: ${refusal}; child session ${child.childSessionId} finished before the message reached it`);
    return ok(`child session ${child.childSessionId} finished before the message reached it; the message starts its next run`);
  }

  /**
   * A finished child's next run, with the message; `fromSnapshot` continues from the run
   * that reported (runs recorded before reconciliation load the newest closed run instead).
   * Follow-ups already waiting on the child go with it, one run answering them all
   * (`takesKept`: the caller's patch check — histories recorded before left them for a run of their own).
   */
  restartWithMessage(child: TrackedChild, message: string, fromSnapshot: boolean, takesKept: () => boolean = () => true): ToolCallOutcome {
    if (this.closing) return refused(`Error: this session's run is ending; child session ${child.childSessionId} is not restarted`);
    const share = this.reserve(1);
    if (!share.ok) return refused(`Error: ${share.message}`);
    const kept = child.pendingMessages?.length && takesKept() ? child.pendingMessages : [];
    const messages = [...kept, message];
    this.awaitAgain(child, share.reservation);
    if (kept.length) child.pendingMessages = undefined;
    const next: SpawnJob = { parentSessionId: this.parentSessionId, childSessionId: child.childSessionId, model: child.model!, appendMessages: messages };
    this.queue.push(fromSnapshot ? { ...next, snapshotRunId: child.runId, spawnOptions: this.optionsFor(share.childBudget) } : next);
    this.queueChanged(1);
    return ok(`child session ${child.childSessionId} restarted with the message`);
  }

  /** A queued (or deferred) child is cancelled here and now; a running one needs its run cancelled. */
  routeCancel(childSessionId: string): CancelRoute {
    const child = this.tracked.get(childSessionId);
    if (!child) return { kind: 'answered', outcome: noSuchChild(childSessionId) };
    const index = this.queue.findIndex((job) => job.childSessionId === childSessionId);
    if (index >= 0 || this.deferred.has(childSessionId)) {
      if (index >= 0) {
        this.queue.splice(index, 1);
        this.queueChanged(-1);
      }
      if (this.deferred.delete(childSessionId)) child.pendingMessages = undefined; // they waited for the run cancelled
      this.cancelBeforeStart(child);
      return { kind: 'answered', outcome: ok(`child session ${childSessionId} cancelled before it started`) };
    }
    if (child.status !== 'running') return { kind: 'answered', outcome: ok(`child session ${childSessionId} is not running (status ${child.status})`) };
    return { kind: 'cancel', child };
  }

  cancelRequested(child: TrackedChild): ToolCallOutcome {
    return ok(`cancellation of child session ${child.childSessionId} requested`);
  }

  cancelMissedRun(child: TrackedChild): ToolCallOutcome {
    return ok(`child session ${child.childSessionId} is not running any more: its run closed before the cancellation reached it`);
  }

  /** Every queued or deferred child ends `cancelled` without starting. */
  cancelQueued(): void {
    const cancelled = this.queue.splice(0);
    if (cancelled.length > 0) this.queueChanged(-cancelled.length);
    cancelled.push(...this.deferred.values());
    for (const id of this.deferred.keys()) this.tracked.get(id)!.pendingMessages = undefined; // they waited for the runs cancelled
    this.deferred.clear();
    for (const job of cancelled) {
      const child = this.tracked.get(job.childSessionId);
      if (child) this.cancelBeforeStart(child);
    }
  }

  private cancelBeforeStart(child: TrackedChild): void {
    child.reservation = undefined; // a run that never started spent nothing
    this.apply({ status: 'cancelled', error: CANCELLED_BEFORE_START }, child);
  }

  // ── reporting and carrying ──────────────────────────────────────────────────

  /** Each child's status; `detail` (the `state` query, not a result): its title and error text too. */
  summary(detail = false): ChildSummary[] {
    return [...this.tracked.values()].map((c) => ({
      childSessionId: c.childSessionId,
      status: c.status,
      // Cut: a model names its children, and a query's answer must stay well under gRPC's 4 MB.
      ...(detail ? { title: cut(c.title, SUMMARY_TITLE_CAP), ...(c.error ? { error: cut(c.error, SUMMARY_ERROR_CAP) } : {}) } : {}),
    }));
  }

  /**
   * What continue-as-new carries. `bounded`: every child not yet reported (or with follow-ups
   * waiting), the most recent reported ones without their answers (already in the
   * transcript), and the most recent completion keys; otherwise everything, as runs recorded
   * before reconciliation did.
   */
  carried(bounded: boolean): CarriedChildren {
    // A deferred job is carried as queued, with the follow-ups kept for it: the next run tries
    // its start again, and waits again if need be.
    const all = [...this.tracked.values()].map((c) => (this.deferred.has(c.childSessionId) ? { ...c, status: 'pending' as const, pendingMessages: undefined } : c));
    const queued = [...this.queue, ...[...this.deferred.values()].map((job) => this.withKeptMessages(job))];
    const spent = this.ledger.carried();
    if (!bounded) return { children: all, queued, seenCompletions: [...this.seen], waiting: this.waiting, ...spent };
    const done = (c: TrackedChild) => c.reported && isTerminal(c.status) && !c.pendingMessages?.length;
    const keptDone = new Set(all.filter(done).slice(-REPORTED_CHILDREN_CARRIED));
    const children = all
      .filter((c) => !done(c) || keptDone.has(c))
      .map((c) => (done(c) ? { ...c, finalResponse: undefined, error: c.error?.slice(0, 300) } : c));
    return { children, queued, seenCompletions: [...this.seen].slice(-COMPLETION_KEYS_CARRIED), waiting: this.waiting, ...spent };
  }
}

/** A child's title and error text in the state query, in characters (the full texts are in its own state and history). */
const SUMMARY_TITLE_CAP = 200;
const SUMMARY_ERROR_CAP = 500;

function cut(text: string, cap: number): string {
  return text.length > cap ? `${text.slice(0, cap - 1)}…` : text;
}

/** What a completion says its run and descendants spent: the full spend, else usage alone (older children). */
function spendOf(completion: ChildCompletion): Spend | undefined {
  if (completion.subtreeSpend) return completion.subtreeSpend;
  const usage = completion.subtreeUsage ?? completion.usage;
  return usage ? { ...spendOfCall(usage, undefined), unpricedCalls: 0 } : undefined;
}
