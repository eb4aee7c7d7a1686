/**
 * The agent loop as workflow code: model turn → tool calls → repeat, with the reference's
 * limits (docs/architecture.md#agent-loop-limits). Every model call and tool call is an activity; the transcript lives in workflow
 * state and its snapshot is the run's result.
 */
import { TimeoutType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { BambooActivities } from '../worker/activities';
import { recordContext } from '../common/context-window';
import { FailureTypes } from '../common/errors';
import type { ModelTurnInput, ModelTurnResult, ToolCallOutcome } from '../common/model-turn';
import { deniedToolMessage } from '../common/requests';
import type { Message, ModelRef, Session, ToolCall } from '../common/session';
import { addSpend, NO_SPEND, spendOfCall, type Spend } from '../common/spend';
import { MAX_TOOL_TIMEOUT_SECS, toolFailedMessage, toolTimedOutMessage, toolWorkerLostMessage } from '../common/tool-outcomes';
import { toolPolicyScopes } from '../common/tool-policy-scopes';
import { transcriptDigest } from '../common/transcript-page';
import type { WatchdogPolicy } from '../common/watchdog';
import { modelCallOptions, toolCallOptions } from './activity-options';
import type { RunBudget } from './deadline';
import type { EventLog } from './event-log';
import { newMessage } from './messages';
import { argumentsPreview, type PersonRequests } from './person-requests';
import { keepSnapshotSmall } from './snapshot-size';
import { callWithinWindow, summariseIfDue } from './summaries';

export const AGENT_LOOP_LIMITS = {
  maxRounds: 200,
  maxToolCallsPerRound: 80,
  maxConsecutiveToolFailures: 3,
} as const;

export interface AgentLoopHost {
  session: Session;
  model: string;
  modelRef?: ModelRef;
  providerName?: string;
  disabledTools?: string[];
  policy: WatchdogPolicy;
  budget: RunBudget;
  /** SessionOptions.transcriptBudgetBytes: the session is compacted to it before each model call. */
  transcriptBudgetBytes: number;
  events: EventLog;
  /** Removes and returns messages injected since the last turn boundary (merged at `turn`). */
  takeInjected(turn: number): string[];
  hasInjected(): boolean;
  onTurn(turn: number): void;
  /** Tools run by the workflow itself (spawning and managing children). */
  workflowTools?: WorkflowToolset;
  /** Where an earlier run of this chain stopped (continue-as-new): its next round and tool failure counts. */
  resumeFrom?: LoopPosition;
  /** Asked at each round boundary; true stops the loop there so the run can continue-as-new. */
  continueAsNewDue?(): boolean;
  /** Told what each model call spent, as soon as it returns (a run that fails later still counts it). */
  onSpend?(spend: Spend): void;
  /** Asked before each model call: the `Session budget exceeded: …` text when nothing is left. */
  budgetExhausted?(): string | undefined;
  /** Where an `ask` tool call goes for a person's approval (person-requests.ts). */
  requests?: PersonRequests;
}

/** A point between two rounds of the loop, carried across continue-as-new. */
export interface LoopPosition {
  round: number;
  toolFailures: Record<string, number>;
}

export interface WorkflowToolset {
  /** Names from WORKFLOW_TOOL_SPECS (only names travel through history). */
  names: string[];
  handles(name: string): boolean;
  /** @param round every call of the model's reply (spawns in one round share the budget evenly). */
  run(call: ToolCall, round: readonly ToolCall[]): Promise<ToolCallOutcome>;
}

export interface AgentLoopOutcome {
  /** What this loop's model calls spent (their usage, cost where priced). */
  spend: Spend;
  turns: number;
  /** Set when the loop stopped at a round boundary to continue-as-new: where to go on. */
  stoppedAt?: LoopPosition;
}

export async function runAgentLoop(host: AgentLoopHost): Promise<AgentLoopOutcome> {
  let spend: Spend = NO_SPEND;
  const failures = new Map<string, number>(Object.entries(host.resumeFrom?.toolFailures ?? {}));
  const firstRound = host.resumeFrom?.round ?? 1;
  const sent: SentTranscript = {};
  for (let turn = firstRound; turn <= AGENT_LOOP_LIMITS.maxRounds; turn++) {
    if (turn > firstRound && host.continueAsNewDue?.()) {
      return { spend, turns: turn - 1, stoppedAt: { round: turn, toolFailures: Object.fromEntries(failures) } };
    }
    mergeInjected(host, turn);
    // Also bounds what the transcript query returns. Compacted, the earlier messages changed:
    // a worker's cached copy no longer matches, so the next call sends no tail.
    if (keepSnapshotSmall(host.session, host.events, host.transcriptBudgetBytes)) sent.count = undefined;
    host.onTurn(turn);
    stopIfBudgetExhausted(host);
    // A summary changes the earlier messages: a worker's cached copy no longer matches either.
    const summarised = (summarySpend: Spend) => {
      sent.count = undefined;
      spend = addSpend(spend, summarySpend);
      host.onSpend?.(summarySpend);
      stopIfBudgetExhausted(host);
    };
    const due = await summariseIfDue(host);
    if (due) summarised(due);
    const reply = await callWithinWindow(host, () => callModel(host, turn, sent), summarised);
    // What the call was sent (nothing joins the transcript while a call is out) and the model's window.
    recordContext(host.session, reply.context, reply.usage.inputTokens, host.session.messages.length);
    const callSpend = spendOfCall(reply.usage, reply.costMicroUsd);
    spend = addSpend(spend, callSpend);
    host.onSpend?.(callSpend);
    host.session.messages.push(
      newMessage('assistant', reply.content, reply.toolCalls.length ? { toolCalls: reply.toolCalls } : {}),
    );
    if (reply.toolCalls.length === 0) {
      // A finished answer is a turn boundary: a message injected meanwhile gets its own turn.
      if (host.hasInjected()) continue;
      return { spend, turns: turn };
    }
    const toolMessages = await runToolCalls(host, reply.toolCalls, failures, reply.toolPolicy);
    host.session.messages.push(...toolMessages);
  }
  throw ApplicationFailure.nonRetryable(
    `Agent loop stopped after the maximum of ${AGENT_LOOP_LIMITS.maxRounds} rounds`,
    'BambooLoopLimit',
  );
}

/** A model call is made only while the session's budget has something left (common/budget.ts). */
function stopIfBudgetExhausted(host: AgentLoopHost): void {
  const exceeded = host.budgetExhausted?.();
  if (exceeded) throw ApplicationFailure.create({ message: exceeded, type: FailureTypes.budgetExceeded, nonRetryable: true });
}

function mergeInjected(host: AgentLoopHost, turn: number): void {
  const injected = host.takeInjected(turn);
  if (injected.length === 0) return;
  for (const content of injected) host.session.messages.push(newMessage('user', content, { metadata: { injected: 'true' } }));
  host.events.add({ type: 'message_merged', count: injected.length });
}

function callModel(host: AgentLoopHost, turn: number, sent: SentTranscript) {
  const label = `${host.modelRef?.provider ?? host.providerName ?? 'default'}/${host.model}`;
  setCurrentDetails(`**Turn ${turn}** · calling model \`${label}\` · ${host.session.messages.length} messages`);
  const { callModel } = proxyActivities<BambooActivities>(
    modelCallOptions(host.policy, host.budget, `${host.session.title ?? host.session.id} · model ${label} · turn ${turn}`),
  );
  return callModel({
    sessionId: host.session.id,
    turn,
    model: host.model,
    modelRef: host.modelRef,
    providerName: host.providerName,
    subagentType: host.session.metadata.model_override === 'true' ? undefined : host.session.metadata.subagent_type,
    ...transcriptFor(host.session.messages, sent),
    disabledTools: host.disabledTools,
    workflowTools: host.workflowTools?.names,
    ...policyScopes(host.session),
    maxIdleSecs: host.policy.maxIdleSecs,
    runDeadline: host.budget.deadlineIso(),
  });
}

/** The scopes of the worker's tool policy for this session (absent for a session without any, as before). */
function policyScopes(session: Session): { toolPolicyScopes?: string[] } {
  const scopes = toolPolicyScopes(session);
  return scopes.length > 0 ? { toolPolicyScopes: scopes } : {};
}

/**
 * Small transcripts travel inline (one less round trip per model call); past
 * INLINE_TRANSCRIPT_BYTES the activity reads them through the `transcript` query instead, so
 * a turn's history does not carry the whole transcript again (bench/RESULTS.md has both figures).
 * Every query is a billable action on Temporal Cloud, so a call also carries the messages added
 * since the loop's previous call (up to TAIL_BYTES: each message goes into history once) and
 * the transcript's digest: a worker that cached the previous call's transcript assembles this
 * one without a query (worker/activities/transcript-cache.ts).
 */
export const INLINE_TRANSCRIPT_BYTES = 4 * 1024;
const TAIL_BYTES = 16 * 1024;

/** How many messages the loop's previous model call was sent (its transcript is what a worker may have cached). */
interface SentTranscript {
  count?: number;
}

function transcriptFor(messages: Message[], sent: SentTranscript): Pick<ModelTurnInput, 'messages' | 'transcript'> {
  const json = JSON.stringify(messages);
  const since = sent.count;
  sent.count = messages.length;
  if (json.length <= INLINE_TRANSCRIPT_BYTES) return { messages };
  const { workflowId, runId } = workflowInfo();
  const ref = { workflowId, runId, messageCount: messages.length, digest: transcriptDigest(messages) };
  if (since === undefined || since > messages.length) return { transcript: ref };
  const tail = messages.slice(since);
  if (JSON.stringify(tail).length > TAIL_BYTES) return { transcript: ref };
  return { transcript: { ...ref, since, tail } };
}

type ToolPolicy = ModelTurnResult['toolPolicy'];

async function runToolCalls(host: AgentLoopHost, calls: ToolCall[], failures: Map<string, number>, policy: ToolPolicy): Promise<Message[]> {
  const allowed = calls.slice(0, AGENT_LOOP_LIMITS.maxToolCallsPerRound);
  setCurrentDetails(`running ${allowed.length} tool call(s): ${allowed.map((c) => `\`${c.name}\``).join(', ')}`);
  const outcomes = await Promise.all(allowed.map((call) => runToolCall(host, call, allowed, policy?.[call.name])));
  const messages = allowed.map((call, i) => newMessage('tool', outcomes[i].content, { toolCallId: call.id }));
  for (const call of calls.slice(AGENT_LOOP_LIMITS.maxToolCallsPerRound)) {
    const limit = `Error: more than ${AGENT_LOOP_LIMITS.maxToolCallsPerRound} tool calls in one round; this call was not run`;
    messages.push(newMessage('tool', limit, { toolCallId: call.id }));
  }
  allowed.forEach((call, i) => {
    const count = outcomes[i].ok ? 0 : (failures.get(call.name) ?? 0) + 1;
    failures.set(call.name, count);
    if (count >= AGENT_LOOP_LIMITS.maxConsecutiveToolFailures) {
      throw ApplicationFailure.nonRetryable(
        `Tool ${call.name} failed ${count} consecutive times; last error: ${outcomes[i].content}`,
        'BambooToolFailureLimit',
      );
    }
  });
  return messages;
}

async function runToolCall(host: AgentLoopHost, call: ToolCall, round: readonly ToolCall[], policy: 'ask' | 'deny' | undefined): Promise<ToolCallOutcome> {
  host.events.add({ type: 'tool_start', toolCallId: call.id, toolName: call.name });
  const outcome = await decideAndRun(host, call, round, policy);
  if (outcome.ok) host.events.add({ type: 'tool_complete', toolCallId: call.id, toolName: call.name });
  else host.events.add({ type: 'tool_error', toolCallId: call.id, toolName: call.name, error: outcome.content });
  return outcome;
}

/**
 * The worker's tool policy for this call: `deny` is an error result; `ask` waits for a
 * person (the run's total-time budget pauses meanwhile, and no idle watchdog runs: no
 * activity is in flight); a call a person did not approve answers the model with why. A
 * refusal by a person is not a tool failure: it does not count toward the failure limit.
 */
async function decideAndRun(host: AgentLoopHost, call: ToolCall, round: readonly ToolCall[], policy: 'ask' | 'deny' | undefined): Promise<ToolCallOutcome> {
  if (policy === 'deny') return { ok: false, content: `Error: tool ${call.name} is denied by policy` };
  if (policy === 'ask') {
    const decision = await askPerson(host, call);
    if (decision.decision !== 'approve') return { ok: true, content: deniedToolMessage(call.name, decision) };
  }
  if (host.workflowTools?.handles(call.name)) return host.workflowTools.run(call, round);
  return runToolActivity(host, call, policy === 'ask');
}

async function askPerson(host: AgentLoopHost, call: ToolCall) {
  if (!host.requests) return { decision: 'deny' as const, reason: 'no person can be asked from this session', by: 'timeout' as const };
  setCurrentDetails(`waiting for a person to approve \`${call.name}\``);
  host.budget.pause();
  try {
    return await host.requests.ask({ kind: 'tool', tool: call.name, argumentsPreview: argumentsPreview(call.arguments) });
  } finally {
    host.budget.resume();
  }
}

/**
 * Patch id: a tool activity that fails (its workers died on every attempt, the server's
 * start-to-close backstop, bad input) answers the model with an error result instead of
 * failing the run. Histories from before it replay the old way (the run failed there).
 */
export const TOOL_FAILURE_AS_RESULT_PATCH = 'tool-failure-as-result';

async function runToolActivity(host: AgentLoopHost, call: ToolCall, approved: boolean): Promise<ToolCallOutcome> {
  const { runTool } = proxyActivities<BambooActivities>(
    toolCallOptions(host.policy, host.budget, `${host.session.title ?? host.session.id} · tool ${call.name}`),
  );
  try {
    return await runTool({
      sessionId: host.session.id,
      call,
      disabledTools: host.disabledTools,
      ...policyScopes(host.session),
      ...(approved ? { approved: true } : {}),
      maxIdleSecs: host.policy.maxIdleSecs,
      runDeadline: host.budget.deadlineIso(),
    });
  } catch (error) {
    // Cancellation, the idle watchdog and the run's total budget end the run, not the call.
    if (!(error instanceof ActivityFailure) || endsTheRun(error)) throw error;
    if (!patched(TOOL_FAILURE_AS_RESULT_PATCH)) throw error;
    return { ok: false, content: toolFailureText(call.name, error.cause) };
  }
}

function endsTheRun(error: ActivityFailure): boolean {
  const { cause } = error;
  return (
    isCancellation(error) ||
    (cause instanceof ApplicationFailure && (cause.type === FailureTypes.idleTimeout || cause.type === FailureTypes.totalTimeout)) ||
    (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE)
  );
}

function toolFailureText(toolName: string, cause: Error | undefined): string {
  if (cause instanceof TimeoutFailure) {
    return cause.timeoutType === TimeoutType.START_TO_CLOSE
      ? toolTimedOutMessage(toolName, MAX_TOOL_TIMEOUT_SECS)
      : toolWorkerLostMessage(toolName);
  }
  return toolFailedMessage(toolName, cause?.message || 'the tool activity failed');
}
