/**
 * childSessionWorkflow: one run of a child session (a sub-agent), end to end.
 *
 * Guarantees:
 *  - every run ends in a terminal status (completed | error | cancelled | timeout | skipped)
 *    with the reference's exact error texts (docs/architecture.md#statuses), and returns a ChildRunResult whose `session`
 *    is the next run's input;
 *  - on every terminal status the parent (`bamboo-session-<parentSessionId>`) receives
 *    exactly one `subSessionCompleted` signal, sent from a non-cancellable scope; a parent
 *    that is no longer running is logged, not fatal;
 *  - the idle and total watchdogs (WatchdogPolicy, `child_watchdog.*` overrides) end the
 *    run as `timeout`, and a fired watchdog wins over whatever the run was doing;
 *  - a long run continues-as-new between rounds, its chain reporting once; a run that has
 *    spawned does so only while none of its children is open or queued, and carries their state;
 *  - invalid input fails the workflow at once (non-retryable), naming the bad field.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BambooActivities } from '../worker/activities';
import { amountsOfSpend, budgetStatus, firstExhausted, limitsOf, MODEL_CALL_RESOURCES, NOTHING, type BudgetStatus } from '../common/budget';
import { jsonBytes, MIN_SESSION_BUDGET_BYTES, planContinueAsNew } from '../common/compaction';
import { CHILD_NOT_KIND_CHILD, CHILD_SESSION_NOT_FOUND, FailureTypes, NO_PENDING_MESSAGE } from '../common/errors';
import { EventsQueryInputSchema } from '../common/events';
import { SessionOptionsSchema, type SessionOptions } from '../common/options';
import { SteerInputSchema } from '../common/requests';
import { CURRENT_HISTORY_SHAPE, ChildCompletionSchema, ChildRunResultSchema, InjectMessageSchema, SpawnJobSchema, type ChildCompletion, type ChildContinuation, type ChildRunResult, type SpawnJob } from '../common/run';
import { FINAL_RESPONSE_CAP } from '../common/run-close';
import type { RunStatus, TerminalRunStatus } from '../common/run-status';
import { upsertsStatus } from '../common/search-attributes';
import { hasPendingUserMessage, lastAssistantText, type Session } from '../common/session';
import { sessionUsage, subtreeTotals, type SessionUsage } from '../common/session-usage';
import { addSpend, NO_SPEND, type Spend } from '../common/spend';
import { transcriptPage } from '../common/transcript-page';
import { describeRejected, describeZodError } from '../common/validation';
import { watchdogPolicyForSession, type WatchdogPolicy } from '../common/watchdog';
import { eventsQuery, injectMessageSignal, requestDecidedSignal, stateQuery, steerUpdate, subSessionCompletedSignal, transcriptQuery, usageQuery, type SessionRunState } from '../common/workflow-interface';
import { bookkeepingOptions } from './activity-options';
import { runAgentLoop, type LoopPosition } from './agent-loop';
import { converseWithExternalAgent } from './external-conversation';
import { RunBudget } from './deadline';
import { runWithinBudget } from './deadline';
import { Children, LATE_MESSAGES_PATCH } from './children';
import { decideInFirstTask } from './child-reconciliation';
import { awaitChildren } from './child-wait';
import { PersonRequests, tellRootRunEnded } from './person-requests';
import { Steering } from './steering';
import { parseSignal } from './signal-input';
import { withAskUser } from './ask-user';
import { keepSnapshotSmall } from './snapshot-size';
import { parentToolset } from './parent-tools';
import { EventLog } from './event-log';
import { newMessage } from './messages';
import { classifyFailure, type RunOutcome } from './deadline';
import { notifyParent, publishRunEnd, upsertChangedRunAttributes, upsertRunAttributes, type RunAttributes } from './run-reporting';

class ChildRun {
  status: RunStatus = 'pending';
  error?: string;
  session: Session | null = null;
  turn = 0;
  readonly injected: string[] = [];
  events = new EventLog();
  /** The spawning parent's options (or the defaults): how large the session may grow, how it waits. */
  options: SessionOptions = SessionOptionsSchema.parse({});
  /** Present when this child may spawn children of its own (spawnOptions.maxSpawnDepth > its depth). */
  children?: Children;
  /** What this run's (and its chain's) model calls and external runs spent, counted as each ends. */
  spend: Spend = NO_SPEND;
  /** Requests for a person this run waits for (set once its session is known). */
  requests?: PersonRequests;
  readonly steering = new Steering();
  /** Its children's state was found too large to carry (carriedChildrenFit): logged once. */
  continueAsNewRefused = false;
  /** The watchdog in force, for the `state` query (set when the run starts executing). */
  watchdog?: { policy: WatchdogPolicy; budget: RunBudget };

  constructor(readonly childSessionId: string) {}

  addSpend(spend: Spend): void {
    this.spend = addSpend(this.spend, spend);
  }

  /** The messages queued since the last turn boundary, merged at `turn` (steers among them get their receipts). */
  takeInjected(turn: number): string[] {
    this.steering.merged(turn);
    return this.injected.splice(0);
  }

  usage(): SessionUsage {
    return sessionUsage(this.spend, this.children?.tracked.values() ?? [], this.children?.childrenSpend ?? NO_SPEND, this.budgetStatus());
  }

  /** This run's budget is its parent's share for it (options.budget); it covers its calls and its children's. */
  budgetStatus(): BudgetStatus | undefined {
    if (this.children) return this.children.budgetStatus();
    return this.options.budget ? budgetStatus(this.options.budget, amountsOfSpend(this.spend), NOTHING) : undefined;
  }

  budgetExhausted(): string | undefined {
    if (this.children) return this.children.budgetExhausted();
    return this.options.budget ? firstExhausted(limitsOf(this.options.budget), amountsOfSpend(this.spend), MODEL_CALL_RESOURCES) : undefined;
  }

  snapshot(): SessionRunState {
    return {
      sessionId: this.childSessionId,
      kind: 'child',
      status: this.status,
      lastRunStatus: this.status,
      lastRunError: this.error,
      messageCount: this.session?.messages.length ?? 0,
      turn: this.turn,
      pendingInjectedMessages: this.injected.length,
      children: this.children?.summary(true) ?? [],
      waiting: null,
      ...subtreeTotals(this.usage()),
      ...(this.session?.metadata.subagent_type ? { subagentType: this.session.metadata.subagent_type } : {}),
      ...(this.watchdog
        ? {
            watchdog: {
              maxIdleSecs: this.watchdog.policy.maxIdleSecs,
              maxTotalSecs: this.watchdog.policy.maxTotalSecs,
              deadlineAt: new Date(this.watchdog.budget.deadlineMs).toISOString(),
              ...(this.watchdog.budget.pausedSinceIso() ? { pausedSince: this.watchdog.budget.pausedSinceIso() } : {}),
            },
          }
        : {}),
    };
  }
}

export async function childSessionWorkflow(input: SpawnJob): Promise<ChildRunResult> {
  const run = new ChildRun(typeof input?.childSessionId === 'string' ? input.childSessionId : '');
  registerHandlers(run);
  const parsed = SpawnJobSchema.safeParse(input);
  if (!parsed.success) return rejectInvalidJob(input, describeRejected(input, parsed.error));
  const job = parsed.data;
  if (job.continuation) {
    run.events = new EventLog(job.continuation.lastEventSeq);
    run.spend = job.continuation.spend ?? { ...NO_SPEND, usage: job.continuation.usage };
    run.turn = job.continuation.round - 1;
  }
  run.options = SessionOptionsSchema.parse(job.spawnOptions ?? {}); // the parent's, or the defaults
  run.status = 'running';
  announce(job, { kind: 'child', parentSessionId: job.parentSessionId, model: job.model, ...(upsertsStatus(run.options.searchAttributes) ? { status: 'running' } : {}) });
  run.events.add({ type: 'execution_started', sessionId: job.childSessionId, runId: workflowInfo().runId });

  const outcome = await runChild(run, job);
  if (outcome.continueFrom) return continueRunAsNew(run, job, outcome.continueFrom);
  return finish(run, job, outcome);
}

/**
 * A run of history shape 2 (SpawnJob.historyShape) was started with its search attributes, so it
 * upserts only what its start did not say; the first shape upserts them all (as its recorded
 * histories did). With `upsertRunEnd` at the end, a shape-2 run that only calls activities
 * writes one event more than bare Temporal (bench/RESULTS.md).
 */
function announce(job: SpawnJob, values: RunAttributes): void {
  if (writesShape2(job)) upsertChangedRunAttributes(values);
  else upsertRunAttributes(values);
}

/** Runs started by this version's starters; recorded runs without the field replay the first shape. */
function writesShape2(job: SpawnJob): boolean {
  return job.historyShape === CURRENT_HISTORY_SHAPE;
}

function registerHandlers(run: ChildRun): void {
  setHandler(stateQuery, () => run.snapshot());
  setHandler(usageQuery, () => run.usage());
  setHandler(transcriptQuery, (query) => transcriptPage(run.session?.messages ?? [], query));
  setHandler(eventsQuery, (query) => run.events.after(EventsQueryInputSchema.parse(query ?? {}).afterSeq));
  setHandler(injectMessageSignal, (payload) => {
    const message = parseSignal(InjectMessageSchema, payload, 'injectMessage');
    if (message) run.injected.push(message.content);
  });
  setHandler(subSessionCompletedSignal, (payload) => {
    const parsed = ChildCompletionSchema.safeParse(payload);
    if (parsed.success && run.children) run.children.onCompletion(parsed.data);
    else log.warn('ignored a subSessionCompleted signal', { reason: parsed.success ? 'this run spawns no children' : describeRejected(payload, parsed.error) });
  });
  setHandler(requestDecidedSignal, (payload) => {
    if (run.requests) run.requests.decided(payload);
    else log.warn('ignored a requestDecided signal: this run asked nothing');
  });
  setHandler(
    steerUpdate,
    (input) => run.steering.accept(() => run.injected.push(SteerInputSchema.parse(input).content)),
    { validator: (input) => validateSteer(run, input) },
  );
}

/**
 * Steering reaches any running session: an agent loop merges it at its next turn; an external
 * agent gets it as a follow-up in the same context once its current task ends
 * (external-conversation.ts).
 */
function validateSteer(run: ChildRun, input: unknown): void {
  const parsed = SteerInputSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid steer input: ${describeRejected(input, parsed.error)}`);
  if (run.status !== 'running') throw new Error(`session ${run.childSessionId} is not running (status ${run.status})`);
}

async function rejectInvalidJob(input: unknown, problem: string): Promise<never> {
  const message = `invalid SpawnJob: ${problem}`;
  const ids = input as Partial<SpawnJob> | undefined;
  if (typeof ids?.parentSessionId === 'string' && ids.parentSessionId.trim() && typeof ids.childSessionId === 'string' && ids.childSessionId.trim()) {
    await notifyParent(completionFor(ids.parentSessionId, ids.childSessionId, { status: 'error', error: message }, null));
  }
  throw ApplicationFailure.create({ message, type: FailureTypes.invalidInput, nonRetryable: true });
}

interface ExecutedRun extends RunOutcome {
  /** The loop stopped at a round boundary so the run can continue-as-new from there. */
  continueFrom?: Omit<ChildContinuation, 'lastEventSeq' | 'injected'>;
}

async function runChild(run: ChildRun, job: SpawnJob): Promise<ExecutedRun> {
  if (job.continuation) return goOn(run, job, job.continuation);
  try {
    run.session = job.session ?? (await loadPreviousSnapshot(job));
  } catch (error) {
    return classifyFailure(error, new RunBudget(0));
  }
  const session = run.session;
  if (!session) return { status: 'error', error: CHILD_SESSION_NOT_FOUND };
  if (session.kind !== 'child') return { status: 'error', error: CHILD_NOT_KIND_CHILD };
  for (const content of job.appendMessages ?? []) session.messages.push(newMessage('user', content));
  if (!hasPendingUserMessage(session)) return { status: 'skipped', error: NO_PENDING_MESSAGE };

  session.model = job.model;
  session.metadata.last_run_status = 'running';
  delete session.metadata.last_run_error;
  announce(job, { rootSessionId: session.rootSessionId, model: job.model });
  run.children = childrenFor(run, session, job);
  run.requests = new PersonRequests(session, run.options.requestTimeoutSecs, run.events);
  return executeWithWatchdog(run, session, job, watchdogPolicyForSession(session));
}

/** A run continued-as-new mid-loop: the same session, from the round where the last run stopped. */
function goOn(run: ChildRun, job: SpawnJob, continuation: ChildContinuation): Promise<ExecutedRun> | ExecutedRun {
  if (!job.session) return { status: 'error', error: 'invalid SpawnJob: continuation: needs the session' };
  run.session = job.session;
  run.injected.push(...continuation.injected);
  announce(job, { rootSessionId: job.session.rootSessionId, model: job.model });
  run.children = childrenFor(run, job.session, job);
  run.requests = new PersonRequests(job.session, run.options.requestTimeoutSecs, run.events);
  return executeWithWatchdog(run, job.session, job, watchdogPolicyForSession(job.session));
}

/** The snapshot of the run that reported to the parent (job.snapshotRunId), else the newest one. */
function loadPreviousSnapshot(job: SpawnJob): Promise<Session | null> {
  const sessionId = job.childSessionId;
  const { loadSessionSnapshot } = proxyActivities<BambooActivities>(bookkeepingOptions(`load snapshot of ${sessionId}`));
  return loadSessionSnapshot({ sessionId, currentRunId: workflowInfo().runId, snapshotRunId: job.snapshotRunId });
}

/**
 * Runs the session's pending turn under the total-time deadline. The idle watchdog lives
 * in the activities; the total one is this deadline plus each activity's schedule-to-close.
 */
async function executeWithWatchdog(
  run: ChildRun,
  session: Session,
  job: SpawnJob,
  policy: WatchdogPolicy,
): Promise<ExecutedRun> {
  const startedAt = job.continuation ? Date.parse(job.continuation.startedAt) : Date.now();
  // Shape 2 starts the deadline timer only when the run waits for its children (deadline.ts),
  // so a run that cannot have children never starts one.
  const timer = !writesShape2(job) ? 'whole-run' : run.children ? 'while-waiting' : 'never';
  const budget = new RunBudget(policy.maxTotalSecs, startedAt, { timer });
  run.watchdog = { policy, budget };
  const result = await runWithinBudget(budget, () =>
    session.metadata['runtime.kind'] === 'external'
      ? runExternal(run, session, policy, budget).then(() => ({ stoppedAt: undefined }))
      : runAgentTurns(run, session, job, policy, budget),
  );
  if (!result.ok) return result.outcome;
  const { stoppedAt } = result.value;
  if (!stoppedAt) return { status: 'completed' };
  // Time spent waiting for a person does not count against the chain's total budget.
  return { status: 'completed', continueFrom: { ...stoppedAt, usage: run.spend.usage, spend: run.spend, startedAt: new Date(startedAt + budget.pausedMs).toISOString() } };
}

/**
 * Past CHILD_HISTORY_BYTES of history, or the parent's `historyEventBudget` events (or when
 * the server suggests it), a long run continues-as-new between rounds, so it stays clear of
 * the server's history limits (50 MB, 51,200 events) whatever its tools return.
 */
const CHILD_HISTORY_BYTES = 4 * 1024 * 1024;
const CHILD_CONTINUE_AS_NEW_PATCH = 'bamboo-child-continue-as-new';
/** Patch id: once a run ends nothing starts — queued spawns are cancelled, not started after it reported (issue 25). */
const CANCEL_QUEUED_AT_END_PATCH = 'bamboo-cancel-queued-spawns-at-end';
/** Messages that reach a run that spawned while it waits for its notices to the root, after its last report, are reported too. */
const MESSAGES_AT_LAST_STEP_PATCH = 'bamboo-messages-at-last-step';
/** A run chosen to continue-as-new waits for its notices to the root in the loop, where steers are merged and a cancel ends it. */
const NOTICES_BEFORE_CONTINUE_PATCH = 'bamboo-notices-before-continue';
/**
 * A child that has spawned continues-as-new too, carrying its children's state, but only while
 * they are quiet (Children.isQuiet: none running, starting, queued or waiting for an open run,
 * no wait open). A run still open is watched through this run's handle of it; the next run
 * would have to adopt it with a watch by activity, as a root does. Once it has reported (its
 * answer perhaps not yet in the transcript), all there is to know of it is carried, so the
 * next round boundary can continue. Before this patch a child that had spawned never did.
 */
const CHILD_WITH_CHILDREN_CONTINUE_AS_NEW_PATCH = 'bamboo-child-with-children-continue-as-new';

function continueAsNewDue(run: ChildRun): boolean {
  if (run.steering.hasQueued()) return false; // merge first: a steer's receipt belongs to this run
  const info = workflowInfo();
  const due = info.continueAsNewSuggested || info.historySize >= CHILD_HISTORY_BYTES || info.historyLength >= run.options.historyEventBudget;
  if (!due) return false;
  if (!hasSpawned(run)) return patched(CHILD_CONTINUE_AS_NEW_PATCH);
  // Asked only where the two versions part: histories recorded before replay without a marker.
  // The size is measured after: measuring asks the reconcile patch, whose marker comes second.
  return run.children!.isQuiet() && patched(CHILD_WITH_CHILDREN_CONTINUE_AS_NEW_PATCH) && carriedChildrenFit(run);
}

/**
 * At most this much of the next run's input is its children's state (answers not yet in the
 * transcript, follow-ups kept for a next run): past it the run stays as it is, as a root does,
 * rather than fail its continue-as-new for good.
 */
const CHILDREN_CARRIED_BYTES = 512 * 1024;

function carriedChildrenFit(run: ChildRun): boolean {
  const bytes = jsonBytes(carriedChildren(run).children);
  if (bytes <= CHILDREN_CARRIED_BYTES) return true;
  if (!run.continueAsNewRefused) log.error('cannot continue-as-new: its children’s state is too large to carry; this run stays open', { bytes, limit: CHILDREN_CARRIED_BYTES });
  run.continueAsNewRefused = true;
  return false;
}

/** A child with a child tracked (spawned, or one that reported to it) has children's state to carry. */
function hasSpawned(run: ChildRun): boolean {
  return run.children !== undefined && run.children.tracked.size > 0;
}

/** The next run of the chain goes on with the session, the loop's position and the queued messages. */
async function continueRunAsNew(run: ChildRun, job: SpawnJob, from: NonNullable<ExecutedRun['continueFrom']>): Promise<never> {
  const session = run.session!;
  run.children?.holdStarts(); // a restart a late report queues meanwhile is carried (ChildContinuation.queued)
  await condition(allHandlersFinished);
  if (run.children) await CancellationScope.nonCancellable(() => run.children!.noticesSent()); // a closed run's signals are dropped
  const children = carriedChildren(run);
  fitContinuation(run, job, session, children);
  log.info('child run continuing as new', { round: from.round, historySize: workflowInfo().historySize });
  return continueAsNew<typeof childSessionWorkflow>({
    ...job,
    session,
    appendMessages: undefined,
    snapshotRunId: undefined,
    continuation: { ...from, lastEventSeq: run.events.lastSequence, injected: run.injected.splice(0), ...children },
  });
}

/**
 * What the next run carries of this run's children (the tracker's bounded `carried()`), once
 * there are any: their state, the completions seen, the ledger. The spawn queue was empty when
 * the run chose to continue (continueAsNewDue); what a late report queued while it waited to
 * continue goes on as `queued`.
 */
function carriedChildren(run: ChildRun): Pick<ChildContinuation, 'children' | 'queued'> {
  if (!hasSpawned(run)) return {};
  const { children, seenCompletions, waiting, childrenSpend, budgetCharged, queued } = run.children!.carried();
  return {
    children: { children, seenCompletions, waiting, ...(childrenSpend ? { childrenSpend } : {}), ...(budgetCharged ? { budgetCharged } : {}) },
    ...(queued.length ? { queued } : {}),
  };
}

/**
 * Makes the next run's input fit one payload (planContinueAsNew): messages injected since the
 * last turn are carried as they are unless session and messages together would not fit; then
 * they are merged into the session now, as a turn boundary would, and compaction cuts what it
 * must. A job whose other fields alone leave no room cannot come from a valid spawn (they are
 * bounded at the boundary), so there the session gets the least room and the server decides.
 */
function fitContinuation(run: ChildRun, job: SpawnJob, session: Session, children: Pick<ChildContinuation, 'children' | 'queued'>): void {
  const restBytes = jsonBytes({ ...job, session: undefined, continuation: children.children ? children : undefined, appendMessages: undefined, snapshotRunId: undefined });
  const plan = planContinueAsNew(session, run.injected, restBytes, run.options.transcriptBudgetBytes);
  if (plan?.fold && run.injected.length > 0) {
    const merged = run.injected.splice(0);
    for (const content of merged) session.messages.push(newMessage('user', content, { metadata: { injected: 'true' } }));
    run.events.add({ type: 'message_merged', count: merged.length });
  }
  keepSnapshotSmall(session, run.events, plan?.sessionBudgetBytes ?? MIN_SESSION_BUDGET_BYTES);
}

/**
 * The agent loop; for a child that spawns children of its own, also the wait for them and
 * the resumed turns, so the child finishes only once its whole subtree has reported.
 */
async function runAgentTurns(
  run: ChildRun,
  session: Session,
  job: SpawnJob,
  policy: WatchdogPolicy,
  budget: RunBudget,
): Promise<{ stoppedAt?: LoopPosition }> {
  const { children } = run;
  let resumeFrom = job.continuation && { round: job.continuation.round, toolFailures: job.continuation.toolFailures };
  for (;;) {
    const loop = await runAgentLoop({
      session,
      model: job.model,
      modelRef: session.modelRef,
      providerName: session.metadata.provider_name,
      disabledTools: job.disabledTools,
      policy,
      budget,
      transcriptBudgetBytes: run.options.transcriptBudgetBytes,
      events: run.events,
      takeInjected: (turn) => run.takeInjected(turn),
      hasInjected: () => run.injected.length > 0,
      onTurn: (turn) => (run.turn = turn),
      workflowTools: withAskUser(children ? parentToolset(session, children, run.options) : undefined, run.requests, budget),
      requests: run.requests,
      resumeFrom,
      continueAsNewDue: () => continueAsNewDue(run),
      onSpend: (spend) => run.addSpend(spend),
      budgetExhausted: () => run.budgetExhausted(),
    });
    resumeFrom = undefined;
    if (loop.stoppedAt) {
      // Handlers finish in this run first. A steer that arrives meanwhile is merged at the next
      // round (its receipt belongs to this run; waiting for it would never end), and a start or
      // restart a handler caused means the children are no longer quiet: the loop goes on, and
      // continues-as-new at a later round boundary.
      await condition(() => allHandlersFinished() || run.steering.hasQueued());
      // Notices to the root go out before the run continues, and it waits for them here, in
      // the loop, where a steer that arrives meanwhile is merged and a cancel ends the run
      // (the condition is cancellable). Before this patch the wait came after the choice: the
      // steer was carried with its update unanswered, the cancel absorbed.
      while (!run.steering.hasQueued() && run.children?.hasUnsentNotices() && patched(NOTICES_BEFORE_CONTINUE_PATCH)) {
        await run.children.noticesSent();
        await condition(() => allHandlersFinished() || run.steering.hasQueued());
      }
      if (!run.steering.hasQueued() && (!hasSpawned(run) || run.children!.isQuiet())) return { stoppedAt: loop.stoppedAt };
      resumeFrom = loop.stoppedAt;
      continue;
    }
    children?.beginWaitIfNeeded();
    if (!children?.waiting) return {};
    setCurrentDetails(`waiting for ${children.runningCount()} child session(s)`);
    // No activity bounds this wait: the deadline timer starts with it (after the wait's own lease timer).
    const waited = awaitChildren(session, children);
    budget.armTimer();
    await waited;
  }
}

/**
 * Children may spawn only when their parent passed its options and the depth allows it. A run
 * continued-as-new takes on its previous run's children (none of them open, none queued).
 */
function childrenFor(run: ChildRun, session: Session, job: SpawnJob): Children | undefined {
  if (!job.spawnOptions || session.spawnDepth >= run.options.maxSpawnDepth) return undefined;
  const carried = job.continuation?.children && { ...job.continuation.children, queued: job.continuation.queued ?? [] };
  const children = new Children(session.id, run.options, run.events, carried, {
    depth: session.spawnDepth,
    selfSpend: () => run.spend,
    rootSessionId: session.rootSessionId,
    // The root hears of its own children's runs; one further down, from the run's parent.
    onRunClosedUnreported: (childSessionId, runId) => tellRootRunEnded(session.rootSessionId, childSessionId, runId),
  });
  children.pump().catch((error: unknown) => {
    if (!isCancellation(error)) throw error;
  });
  decideInFirstTask([CANCEL_QUEUED_AT_END_PATCH]);
  return children;
}

/** The pending turn on the session's external agent: its questions go to a person, injected messages follow (external-conversation.ts). */
function runExternal(run: ChildRun, session: Session, policy: WatchdogPolicy, budget: RunBudget): Promise<void> {
  return converseWithExternalAgent({
    session,
    policy,
    budget,
    events: run.events,
    requests: run.requests,
    takeInjected: (turn) => run.takeInjected(turn),
    hasInjected: () => run.injected.length > 0,
    onTurn: (turn) => (run.turn = turn),
    onSpend: (spend) => run.addSpend(spend),
    budgetExhausted: () => run.budgetExhausted(),
  });
}

async function finish(run: ChildRun, job: SpawnJob, executed: ExecutedRun): Promise<ChildRunResult> {
  const session = run.session;
  let outcome = executed;
  if (session) {
    session.metadata.last_run_status = outcome.status;
    if (outcome.error) session.metadata.last_run_error = outcome.error;
    else delete session.metadata.last_run_error;
  }
  // Nothing starts once the run ends: a spawn of the round that ended it (the queue would start
  // it at the end of the task), a restart a late report asks for.
  if (run.children && patched(CANCEL_QUEUED_AT_END_PATCH)) run.children.close();
  if (run.children && run.children.runningCount() > 0) {
    // A child that ends early (timeout, cancel, error) takes its own children with it.
    await CancellationScope.nonCancellable(() => run.children!.cancelAll());
  }
  // Messages injected after the last turn stay in the session; the parent learns how many
  // went unanswered, so the next run answers them.
  const unanswered = outcome.status === 'completed' ? run.injected.length : 0;
  appendInjected(run, session);
  // Validated before the parent is told: the parent never hears of a result that cannot exist.
  let result = ChildRunResultSchema.safeParse(resultOf(job, outcome, session, run));
  if (!result.success) {
    outcome = { status: 'error', error: `invalid child run result: ${describeZodError(result.error)}` };
    result = ChildRunResultSchema.safeParse(resultOf(job, outcome, null, run));
  }
  run.status = outcome.status;
  run.error = outcome.error;
  // With searchAttributes 'at-start' the parent's record and Temporal's status say how it ended.
  if (upsertsStatus(run.options.searchAttributes)) publishRunEnd(writesShape2(job), outcome.status, run.usage());
  recordTerminalEvent(run, outcome);
  setCurrentDetails(`**${outcome.status}**${outcome.error ? ` · ${outcome.error}` : ''}`);
  await notifyParent({ ...completionFor(job.parentSessionId, job.childSessionId, outcome, session), ...spendOfRun(run), ...(unanswered ? { unansweredMessages: unanswered } : {}) });
  const told = await reportLateMessages(run, job, outcome, session, unanswered);
  // Last step, so a message injected while the parent was being told is not lost.
  appendInjected(run, session);
  run.steering.ended(); // steers not merged are in the final session: their receipts say so
  if (!allHandlersFinished()) await CancellationScope.nonCancellable(() => condition(allHandlersFinished)); // a cancelled run still answers them
  // Last: a grandchild may close unreported while this run reports; a closed run's signals are
  // dropped. A message that arrives while those notices are on their way is reported too, and
  // so on until nothing is left to send (nothing awaits after this).
  for (let unanswered = told; run.children; ) {
    await CancellationScope.nonCancellable(() => run.children!.noticesSent());
    if (run.injected.length === 0 || !patched(MESSAGES_AT_LAST_STEP_PATCH)) break;
    unanswered = await reportLateMessages(run, job, outcome, session, unanswered);
    appendInjected(run, session);
  }
  return result.success ? { ...result.data, session: result.data.session ? session : null } : resultOf(job, outcome, null, run);
}

/**
 * Messages that reached the run while its report was on its way join the final session, and
 * the parent is told again, with them counted, so the child's next run answers them (the
 * parent applies the report once and starts that run; LATE_MESSAGES_PATCH).
 */
async function reportLateMessages(run: ChildRun, job: SpawnJob, outcome: RunOutcome, session: Session | null, told: number): Promise<number> {
  let unanswered = told;
  while (outcome.status === 'completed' && session && run.injected.length > 0 && patched(LATE_MESSAGES_PATCH)) {
    unanswered += run.injected.length;
    appendInjected(run, session);
    await notifyParent({ ...completionFor(job.parentSessionId, job.childSessionId, outcome, session), ...spendOfRun(run), unansweredMessages: unanswered });
  }
  return unanswered;
}

function resultOf(job: SpawnJob, outcome: RunOutcome, session: Session | null, run?: ChildRun): ChildRunResult {
  const spent = run ? spendOfRun(run) : {};
  return { parentSessionId: job.parentSessionId, childSessionId: job.childSessionId, status: outcome.status, error: outcome.error, session, spend: spent.spend, subtreeSpend: spent.subtreeSpend };
}

/** The run's own spend and its subtree's (its children's reports), for its completion and result. */
function spendOfRun(run: ChildRun): Pick<ChildCompletion, 'usage' | 'subtreeUsage' | 'spend' | 'subtreeSpend'> {
  const subtree = addSpend(run.spend, run.children?.childrenSpend ?? NO_SPEND);
  return { usage: run.spend.usage, subtreeUsage: subtree.usage, spend: run.spend, subtreeSpend: subtree };
}

/** Leftover injected messages join the final session as user messages (reference rule). */
function appendInjected(run: ChildRun, session: Session | null): void {
  if (!session) return;
  for (const content of run.injected.splice(0)) session.messages.push(newMessage('user', content, { metadata: { injected: 'true' } }));
  keepSnapshotSmall(session, run.events, run.options.transcriptBudgetBytes); // the result is the next run's input: it must fit
}

function recordTerminalEvent(run: ChildRun, outcome: ExecutedRun): void {
  if (outcome.status === 'completed') run.events.add({ type: 'complete', usage: run.spend.usage });
  else if (outcome.status === 'cancelled') run.events.add({ type: 'cancelled', reason: outcome.error ?? 'cancelled' });
  else run.events.add({ type: 'error', message: outcome.error ?? outcome.status });
}

function completionFor(
  parentSessionId: string,
  childSessionId: string,
  outcome: { status: TerminalRunStatus; error?: string },
  session: Session | null,
): ChildCompletion {
  const answer = session && outcome.status === 'completed' ? lastAssistantText(session.messages) : undefined;
  return {
    parentSessionId,
    childSessionId,
    // The key the parent deduplicates by: one per run chain (a run that continues-as-new or
    // is reset keeps it), the same id the parent's handle of the run carries.
    runId: workflowInfo().firstExecutionRunId,
    status: outcome.status,
    error: outcome.error,
    completedAt: new Date().toISOString(),
    finalResponse: answer?.slice(0, FINAL_RESPONSE_CAP),
  };
}
