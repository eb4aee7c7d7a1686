/**
 * sessionWorkflow: a root session — a durable conversation that runs the agent loop on
 * user messages, spawns children through its tools, waits for them and resumes with their
 * results.
 *
 * Guarantees:
 *  - a parent is never stranded: every child run reports once by signal; the wait ends when
 *    its policy holds (`all` | `any` | `first_error`) or its lease expires, whichever first;
 *  - each finished child's status and answer reach the transcript exactly once, in one hidden
 *    resume message per wake-up;
 *  - cancelling the session cancels its children and waits (bounded) for their reports;
 *  - long sessions continue-as-new between turns, carrying the session, the children, the
 *    completions already applied and the messages still queued;
 *  - the session stays open for follow-ups until it has been idle for `idleTtlSecs`.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  makeContinueAsNewFunc,
  patched,
} from '@temporalio/workflow';
import { CONTINUE_AS_NEW_BUDGET_BYTES, jsonBytes, planContinueAsNew } from '../common/compaction';
import { EventsQueryInputSchema } from '../common/events';
import { SessionOptionsSchema, type SessionOptions } from '../common/options';
import { SessionRequestsClosedSchema, SteerInputSchema } from '../common/requests';
import { SessionWorkflowInputSchema, UserMessageSchema, type CarriedState, type SessionWorkflowInput, type SessionWorkflowResult } from '../common/root-session';
import { ChildCompletionSchema } from '../common/run';
import type { RunStatus } from '../common/run-status';
import { upsertsStatus } from '../common/search-attributes';
import { hasPendingUserMessage, type Session } from '../common/session';
import { sessionUsage, subtreeTotals, type SessionUsage } from '../common/session-usage';
import { addSpend, NO_SPEND, type Spend } from '../common/spend';
import { transcriptPage } from '../common/transcript-page';
import { describeRejected } from '../common/validation';
import { watchdogPolicyForSession } from '../common/watchdog';
import { eventsQuery, injectMessageSignal, requestClosedSignal, requestRaisedSignal, respondUpdate, sessionRequestsClosedSignal, stateQuery, steerUpdate, subSessionCompletedSignal, transcriptQuery, usageQuery, userMessageSignal, type SessionRunState } from '../common/workflow-interface';
import { runAgentLoop } from './agent-loop';
import { decideInFirstTask } from './child-reconciliation';
import { RunBudget } from './deadline';
import { Children } from './children';
import { awaitChildren } from './child-wait';
import { runWithinBudget } from './deadline';
import { ASKER_RUN_ENDED, PersonRequests, RequestDesk } from './person-requests';
import { Steering } from './steering';
import { parseSignal } from './signal-input';
import { withAskUser } from './ask-user';
import { keepSnapshotSmall } from './snapshot-size';
import { EventLog } from './event-log';
import { newMessage } from './messages';
import { parentToolset } from './parent-tools';
import { publishRunEnd, upsertChangedRunAttributes, upsertRunAttributes } from './run-reporting';

type Phase = NonNullable<SessionRunState['phase']>;

class RootSession {
  readonly events: EventLog;
  readonly children: Children;
  readonly pendingUser: string[];
  phase: Phase = 'idle';
  turn = 0;
  lastRunStatus?: RunStatus;
  lastRunError?: string;
  /** What the root's own turns spent (model calls), counted as each call returns. */
  selfSpend: Spend;
  /** Requests for a person from anywhere in the tree, and the root's own. */
  readonly desk: RequestDesk;
  readonly requests: PersonRequests;
  readonly steering = new Steering();
  /** This run's state was found too large to carry (continueAsNewInput): it stays open until its next turn. */
  continueAsNewRefused = false;
  /** This run writes lean turns (LEAN_TURNS_PATCH): no deadline timer per turn, a turn's end in one upsert. */
  leanTurns = false;

  /** Whether this run upserts its status and spend (SessionOptions.searchAttributes). */
  upsertsStatus(): boolean {
    return upsertsStatus(this.options.searchAttributes);
  }

  constructor(
    readonly session: Session,
    readonly options: SessionOptions,
    carried?: CarriedState,
  ) {
    this.events = new EventLog(carried?.lastEventSeq ?? 0);
    this.children = new Children(session.id, options, this.events, carried, {
      depth: session.spawnDepth,
      selfSpend: () => this.selfSpend,
      rootSessionId: session.rootSessionId,
      // A child run that ended (terminated, say) waits for nothing any more.
      onRunEnded: (childSessionId, runId) => this.desk.closeAllOf(childSessionId, ASKER_RUN_ENDED, runId),
    });
    this.pendingUser = [...(carried?.pendingUserMessages ?? [])];
    this.lastRunStatus = carried?.lastRunStatus;
    this.lastRunError = carried?.lastRunError;
    this.selfSpend = carried?.selfSpend ?? NO_SPEND;
    this.desk = new RequestDesk(session.id, carried);
    this.requests = new PersonRequests(session, options.requestTimeoutSecs, this.events, this.desk);
    this.desk.local = this.requests;
  }

  /** Messages queued for the next turn: steers among them are merged at the turn about to start. */
  takePending(): string[] {
    this.steering.merged(this.turn + 1);
    return this.pendingUser.splice(0);
  }

  usage(): SessionUsage {
    return sessionUsage(this.selfSpend, this.children.tracked.values(), this.children.childrenSpend, this.children.budgetStatus());
  }

  snapshot(): SessionRunState {
    const waiting = this.children.waiting;
    return {
      sessionId: this.session.id,
      kind: 'root',
      status: this.phase === 'running' ? 'running' : (this.lastRunStatus ?? 'pending'),
      phase: this.phase,
      lastRunStatus: this.lastRunStatus,
      lastRunError: this.lastRunError,
      messageCount: this.session.messages.length,
      turn: this.turn,
      pendingInjectedMessages: this.pendingUser.length,
      children: this.children.summary(true),
      waiting: waiting
        ? {
            policy: waiting.policy,
            childSessionIds: [...this.children.tracked.values()].filter((c) => c.awaited && !c.reported).map((c) => c.childSessionId),
            leaseExpiresAt: waiting.leaseExpiresAt,
          }
        : null,
      ...subtreeTotals(this.usage()),
      pendingRequests: this.desk.list(),
    };
  }

  carried(): CarriedState {
    return {
      ...this.children.carried(),
      pendingUserMessages: [...this.pendingUser],
      lastEventSeq: this.events.lastSequence,
      lastRunStatus: this.lastRunStatus,
      lastRunError: this.lastRunError,
      ...(this.selfSpend === NO_SPEND ? {} : { selfSpend: this.selfSpend }),
      ...this.desk.carried(),
    };
  }

  result(status: SessionWorkflowResult['status']): SessionWorkflowResult {
    return { status, session: this.session, children: this.children.summary() };
  }
}

export async function sessionWorkflow(input: SessionWorkflowInput): Promise<SessionWorkflowResult> {
  const parsed = SessionWorkflowInputSchema.safeParse(input);
  if (!parsed.success) {
    throw ApplicationFailure.create({ message: `invalid session input: ${describeRejected(input, parsed.error)}`, type: 'BambooInvalidInput', nonRetryable: true });
  }
  const root = new RootSession(parsed.data.session, SessionOptionsSchema.parse(parsed.data.options ?? {}), parsed.data.carried);
  registerHandlers(root);
  root.desk.start(); // a carried count is published again
  root.children.watchUnwatched(); // children adopted across continue-as-new have no handle here
  root.leanTurns = patched(LEAN_TURNS_PATCH);
  decideInFirstTask(); // with lean turns' marker: one task of markers, not two
  const attributes = {
    kind: 'root',
    rootSessionId: root.session.rootSessionId,
    model: root.session.model,
    ...(root.upsertsStatus() ? { status: root.lastRunStatus ?? 'pending' } : {}),
  };
  // startSession (and continue-as-new) set these at the start: a lean run upserts only what differs.
  if (root.leanTurns) upsertChangedRunAttributes(attributes);
  else upsertRunAttributes(attributes);
  root.children.pump().catch((error: unknown) => {
    if (!isCancellation(error)) throw error;
  });
  root.desk.expireStaleRequests().catch((error: unknown) => {
    if (!isCancellation(error)) throw error;
  });
  try {
    await converse(root);
    return root.result('idle_expired');
  } catch (error) {
    if (!isCancellation(error)) throw error;
    return cancelTree(root);
  }
}

function registerHandlers(root: RootSession): void {
  const queueUserMessage = (payload: unknown, signal: string) => {
    const message = parseSignal(UserMessageSchema, payload, signal);
    if (message) root.pendingUser.push(message.content);
  };
  setHandler(userMessageSignal, (payload) => queueUserMessage(payload, 'userMessage'));
  setHandler(injectMessageSignal, (payload) => queueUserMessage(payload, 'injectMessage'));
  setHandler(subSessionCompletedSignal, (payload) => {
    const completion = parseSignal(ChildCompletionSchema, payload, 'subSessionCompleted');
    if (completion && !root.children.onCompletion(completion)) log.info('duplicate completion ignored', { childSessionId: completion.childSessionId });
  });
  setHandler(requestRaisedSignal, (payload) => root.desk.add(payload));
  setHandler(requestClosedSignal, (payload) => root.desk.closedBySession(payload));
  setHandler(sessionRequestsClosedSignal, (payload) => {
    const closed = parseSignal(SessionRequestsClosedSchema, payload, 'sessionRequestsClosed');
    if (closed) root.desk.closeAllOf(closed.sessionId, closed.reason, closed.runId);
  });
  setHandler(respondUpdate, (input) => root.desk.respond(input), { validator: (input) => root.desk.validate(input) });
  setHandler(
    steerUpdate,
    (input) => root.steering.accept(() => root.pendingUser.push(SteerInputSchema.parse(input).content)),
    {
      validator: (input) => {
        const parsed = SteerInputSchema.safeParse(input);
        if (!parsed.success) throw new Error(`invalid steer input: ${describeRejected(input, parsed.error)}`);
        if (root.phase === 'cancelling') throw new Error(`session ${root.session.id} is being cancelled`);
      },
    },
  );
  setHandler(stateQuery, () => root.snapshot());
  setHandler(usageQuery, () => root.usage());
  setHandler(eventsQuery, (query) => root.events.after(EventsQueryInputSchema.parse(query ?? {}).afterSeq));
  setHandler(transcriptQuery, (query) => transcriptPage(root.session.messages, query));
}

/** The session's life: turns on user messages, waits for children, resumes; ends when idle long enough. */
async function converse(root: RootSession): Promise<void> {
  let turnDue = hasPendingUserMessage(root.session);
  for (;;) {
    // A turn boundary: a root whose deployment has a new current version moves to it now (upgradeWanted).
    if ((turnDue || root.pendingUser.length > 0) && upgradeWanted(root) && patched(UPGRADE_AT_TURN_PATCH)) await continueAsNewNow(root, true);
    if (turnDue || root.pendingUser.length > 0) {
      await runTurn(root);
      turnDue = false;
      root.children.beginWaitIfNeeded();
      continue;
    }
    if (root.children.waiting) {
      root.phase = 'waiting';
      setCurrentDetails(`waiting for children (${root.children.waiting.policy}) until ${root.children.waiting.leaseExpiresAt}`);
      if (await awaitChildren(root.session, root.children, () => root.pendingUser.length > 0 || continueAsNewDue(root))) {
        turnDue = true;
        continue;
      }
    } else {
      root.phase = 'idle';
      setCurrentDetails(`idle · ${root.session.messages.length} messages · ${root.children.tracked.size} children`);
      // A child restarted for a follow-up it missed is awaited again: wait for it.
      const woke = await condition(
        () => root.pendingUser.length > 0 || continueAsNewDue(root) || root.children.hasAwaitedChildren(),
        root.options.idleTtlSecs * 1000,
      );
      if (root.children.hasAwaitedChildren()) root.children.beginWaitIfNeeded();
      else if (!woke && root.children.runningCount() === 0) return;
    }
    if (continueAsNewDue(root)) await continueAsNewNow(root);
  }
}

async function runTurn(root: RootSession): Promise<void> {
  const { session } = root;
  root.phase = 'running';
  for (const content of root.takePending()) session.messages.push(newMessage('user', content));
  if (root.upsertsStatus()) upsertRunAttributes({ status: 'running' });
  root.events.add({ type: 'execution_started', sessionId: session.id, runId: workflowInfo().runId });
  const policy = watchdogPolicyForSession(session);
  // A turn waits on nothing unbounded (a person's answer has its own expiry; its children are
  // awaited between turns): its activities stop themselves at the deadline (runDeadline), so a
  // lean turn writes no deadline timer, as a child without children does.
  const budget = new RunBudget(policy.maxTotalSecs, Date.now(), { timer: root.leanTurns ? 'never' : 'whole-run' });
  const result = await runWithinBudget(budget, () =>
    runAgentLoop({
      session,
      model: session.model,
      modelRef: session.modelRef,
      providerName: session.metadata.provider_name,
      policy,
      budget,
      transcriptBudgetBytes: root.options.transcriptBudgetBytes,
      events: root.events,
      takeInjected: () => root.takePending(),
      hasInjected: () => root.pendingUser.length > 0,
      onTurn: () => (root.turn += 1),
      workflowTools: withAskUser(parentToolset(session, root.children, root.options), root.requests, budget),
      requests: root.requests,
      onSpend: (spend) => (root.selfSpend = addSpend(root.selfSpend, spend)),
      budgetExhausted: () => root.children.budgetExhausted(),
    }),
  );
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('session cancelled');
  const outcome = result.ok ? { status: 'completed' as const, error: undefined } : result.outcome;
  root.lastRunStatus = outcome.status;
  root.lastRunError = outcome.error;
  // With searchAttributes 'at-start' Temporal's status and the `state` query say how the turn ended.
  if (root.upsertsStatus()) publishRunEnd(root.leanTurns, outcome.status, root.usage());
  if (outcome.status === 'completed') root.events.add({ type: 'complete', usage: result.ok ? result.value.spend.usage : undefined });
  else root.events.add({ type: 'error', message: outcome.error ?? outcome.status });
  keepSnapshotSmall(session, root.events, root.options.transcriptBudgetBytes); // continue-as-new and the result carry it whole
  root.continueAsNewRefused = false; // a turn changes what would be carried: measure again
}

function continueAsNewDue(root: RootSession): boolean {
  if (root.continueAsNewRefused || root.children.isStarting()) return false;
  if (root.steering.hasQueued()) return false; // a steer's receipt belongs to this run: merge first
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= root.options.historyEventBudget;
}

/**
 * Continues-as-new once every handler has finished, unless a steer arrives meanwhile: a `respond`
 * update can still be signalling a child when the run decides to continue, and a steer accepted
 * then waits for a merge that only a turn makes. The turn runs first, and the run continues later.
 */
async function continueAsNewNow(root: RootSession, upgrade = false): Promise<void> {
  root.children.holdStarts(); // spawns queued meanwhile are carried, not started
  await condition(() => allHandlersFinished() || root.steering.hasQueued());
  if (root.steering.hasQueued()) return root.children.releaseStarts();
  const input = continueAsNewInput(root);
  if (!input) return root.children.releaseStarts();
  log.info('continuing as new', { historyLength: workflowInfo().historyLength, ...(upgrade ? { upgrade: 'to the current worker deployment version' } : {}) });
  if (upgrade) return makeContinueAsNewFunc<typeof sessionWorkflow>({ initialVersioningBehavior: 'AUTO_UPGRADE' })(input);
  return continueAsNew<typeof sessionWorkflow>(input);
}

/**
 * Worker Versioning (a versioned worker only; worker/versioning.ts): a root is pinned to its
 * version during a turn, and when its deployment's current version is another, it continues-as-new
 * onto it at the next turn boundary (its pending messages folded into the session, the children
 * carried). Histories recorded without versioning never see the flag set.
 */
const UPGRADE_AT_TURN_PATCH = 'bamboo-upgrade-at-turn-boundary';

function upgradeWanted(root: RootSession): boolean {
  return workflowInfo().targetWorkerDeploymentVersionChanged === true && !root.continueAsNewRefused && !root.children.isStarting() && !root.steering.hasQueued();
}

/**
 * The next run's input, measured to fit one payload: messages no turn has taken yet join the
 * session (the next run starts with a turn for them), and the session is compacted into the
 * room the rest leaves. When the rest alone leaves too little room, this run stays open and says
 * why, instead of failing its workflow task for good.
 */
function continueAsNewInput(root: RootSession): SessionWorkflowInput | undefined {
  const pending = root.pendingUser.splice(0);
  const restBytes = jsonBytes({ options: root.options, carried: root.carried() });
  // A root always folds: its next run starts with a turn for these messages either way.
  const plan = planContinueAsNew(root.session, pending, restBytes, root.options.transcriptBudgetBytes);
  if (!plan) {
    root.pendingUser.push(...pending);
    root.continueAsNewRefused = true;
    const message = `cannot continue-as-new: the state it would carry besides the transcript is ${restBytes} bytes, over the ${CONTINUE_AS_NEW_BUDGET_BYTES}-byte budget; this run stays open`;
    log.error(message, { sessionId: root.session.id });
    root.events.add({ type: 'error', message });
    return undefined;
  }
  for (const content of pending) root.session.messages.push(newMessage('user', content));
  keepSnapshotSmall(root.session, root.events, plan.sessionBudgetBytes);
  return { session: root.session, options: root.options, carried: root.carried() };
}

/**
 * Patch id: billable actions (issue 30, bench/RESULTS.md "actions"). A root run upserts at its
 * start only what its start did not set, writes no deadline timer per turn, and ends a turn
 * with one upsert (status and usage) instead of two: three actions fewer per turn.
 */
const LEAN_TURNS_PATCH = 'bamboo-root-lean-turns';

/** Patch id: a cancelled root closes its children's queue before cancelling them (before, a late report could still queue a restart). */
const CLOSE_AT_CANCEL_PATCH = 'bamboo-root-closed-at-cancel';

/** The session was cancelled: its children are cancelled too, and it ends `cancelled`. */
async function cancelTree(root: RootSession): Promise<SessionWorkflowResult> {
  root.phase = 'cancelling';
  return CancellationScope.nonCancellable(async () => {
    // Nothing starts from here on, as when a child's run ends: a late report meanwhile restarts
    // no child, and what a run cancelled while it waited to continue-as-new held is cancelled.
    if (patched(CLOSE_AT_CANCEL_PATCH)) root.children.close();
    await root.children.cancelAll();
    // Messages that never got a turn stay in the final session; their steers' receipts say so.
    for (const content of root.pendingUser.splice(0)) root.session.messages.push(newMessage('user', content));
    root.steering.ended();
    if (!allHandlersFinished()) await condition(allHandlersFinished);
    root.lastRunStatus = 'cancelled';
    if (root.upsertsStatus()) upsertRunAttributes({ status: 'cancelled' });
    root.events.add({ type: 'cancelled', reason: 'Session cancelled' });
    return root.result('cancelled');
  });
}
