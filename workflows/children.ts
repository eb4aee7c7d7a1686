/**
 * A parent's children, in workflow state: spawning with backpressure, completions
 * (idempotent by child id + run id), the durable wait, and cancellation.
 *
 * Guarantees:
 *  - a completion is applied once, whenever it arrives — before the parent starts waiting,
 *    while it waits, or after a continue-as-new (it is carried);
 *  - never more than `maxRunningChildren` runs started and not yet finished; further spawns
 *    queue and start as slots free;
 *  - every finished child's result reaches the parent's transcript exactly once, in a resume
 *    message.
 */
import {
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
  sessionWorkflowId,
  type CarriedState,
  type ChildCompletion,
  type SessionOptions,
  type SpawnJob,
  type TerminalRunStatus,
  type TrackedChild,
  type WaitPolicy,
} from '../src/domain';
import { injectMessage } from './definitions';
import type { EventLog } from './event-log';
import type { childSessionWorkflow } from './child-session';

const ANSWER_CAP = 4000;
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
    try {
      const handle = await startChild<typeof childSessionWorkflow>('childSessionWorkflow', {
        workflowId: sessionWorkflowId(job.childSessionId),
        taskQueue: workflowInfo().taskQueue,
        args: [job],
        // Children outlive a parent run that continues-as-new, and report by workflow id.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Cancelling the parent cancels children explicitly (see cancelAll), not implicitly.
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        staticSummary: `child session “${child.title}” (${job.childSessionId}) of ${job.parentSessionId} · ${job.model}`,
        typedSearchAttributes: childStartSearchAttributes(job),
      });
      // The child reports by signal; its result is also its own history.
      handle.result().catch(() => undefined);
      if (child.status === 'pending') {
        child.status = 'running';
        child.runId = handle.firstExecutionRunId;
      }
      this.events.add({ type: 'sub_session_started', childSessionId: job.childSessionId, title: child.title });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        // A run of that session is already open: it will report to its own parent.
        if (child.status === 'pending') child.status = 'running';
        return;
      }
      log.warn('could not start child session', { childSessionId: job.childSessionId, error: String(error) });
      this.apply({ status: 'error', error: `could not start child session: ${errorText(error)}` }, child);
    }
  }

  // ── completions ─────────────────────────────────────────────────────────────

  /** Applies a child's completion once (key: child id + run id). Returns false for a duplicate. */
  onCompletion(completion: ChildCompletion): boolean {
    const key = `${completion.childSessionId}/${completion.runId}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    let child = this.tracked.get(completion.childSessionId);
    if (!child) {
      // A run this parent did not start (e.g. started from the CLI): track it from now on.
      child = { childSessionId: completion.childSessionId, title: completion.childSessionId, status: 'running', reported: false, awaited: false };
      this.tracked.set(child.childSessionId, child);
    }
    child.runId = completion.runId;
    this.apply(completion, child);
    return true;
  }

  private apply(outcome: { status: TerminalRunStatus; error?: string; finalResponse?: string }, child: TrackedChild): void {
    child.status = outcome.status;
    child.error = outcome.error;
    child.finalResponse = outcome.finalResponse?.slice(0, ANSWER_CAP);
    child.reported = false;
    this.events.add({ type: 'sub_session_completed', childSessionId: child.childSessionId, status: outcome.status, error: outcome.error });
  }

  // ── the durable wait ────────────────────────────────────────────────────────

  private awaited(): TrackedChild[] {
    return [...this.tracked.values()].filter((c) => c.awaited && !c.reported);
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
   * to its queued start, or — once it has finished — a new run from its latest snapshot.
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
      await getExternalWorkflowHandle(sessionWorkflowId(childSessionId)).signal(injectMessage, { content: message });
      return `message queued into the running child session ${childSessionId}`;
    }
    if (!child.model) return `Error: child session ${childSessionId} was not started by this session`;
    Object.assign(child, { status: 'pending', reported: false, awaited: true, error: undefined, finalResponse: undefined });
    this.queue.push({ parentSessionId: this.parentSessionId, childSessionId, model: child.model, appendMessages: [message] });
    return `child session ${childSessionId} restarted with the message`;
  }

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
    await getExternalWorkflowHandle(sessionWorkflowId(childSessionId)).cancel();
    return `cancellation of child session ${childSessionId} requested`;
  }

  // ── cancellation ────────────────────────────────────────────────────────────

  /** Cancels every open child run and waits (bounded) until each has reported. */
  async cancelAll(): Promise<void> {
    for (const job of this.queue.splice(0)) {
      const child = this.tracked.get(job.childSessionId);
      if (child) this.apply({ status: 'cancelled', error: 'Cancelled by parent before it started' }, child);
    }
    const open = [...this.tracked.values()].filter((c) => c.status === 'running');
    await Promise.all(
      open.map((c) =>
        getExternalWorkflowHandle(sessionWorkflowId(c.childSessionId))
          .cancel()
          .catch((error: unknown) => log.warn('could not cancel child', { childSessionId: c.childSessionId, error: String(error) })),
      ),
    );
    await condition(() => this.runningCount() === 0, this.options.cancelGraceSecs * 1000);
  }

  summary(): { childSessionId: string; status: TrackedChild['status'] }[] {
    return [...this.tracked.values()].map((c) => ({ childSessionId: c.childSessionId, status: c.status }));
  }

  carried(): Pick<CarriedState, 'children' | 'queued' | 'seenCompletions' | 'waiting'> {
    return { children: [...this.tracked.values()], queued: [...this.queue], seenCompletions: [...this.seen], waiting: this.waiting };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
