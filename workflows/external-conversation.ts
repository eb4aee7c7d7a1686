/**
 * An external agent's turn (`runtime.kind=external`) as a conversation, in workflow code.
 *
 * The runner activity hands the pending user message(s) to the agent and returns its reply.
 * Two kinds of reply need more than one call:
 *
 *  - a question (A2A `input-required` / `auth-required`, a subprocess agent's
 *    `need_clarification`): it becomes a request of kind `question` to the root of the tree
 *    (person-requests.ts), the run's total budget paused while it waits. An answer is
 *    appended as a user message and the agent is called again: `need_clarification=true`
 *    stays in the session's metadata, so the A2A runner continues THE SAME task
 *    (worker/runners/a2a-client.ts `pendingMessageRequest`), and a subprocess agent — whose
 *    protocol has no session to resume — is started again with the whole transcript, the
 *    answer last. A denied or expired question ends the run as it always did: completed, the
 *    question as its answer, `need_clarification=true` in the metadata, so a tree whose
 *    person never answers sees nothing new.
 *  - a reply while messages were injected (`injectMessage`, `bamboo send`): the agent could
 *    not take them mid-task, so they follow as user messages in the same context once the
 *    task has ended (A2A: a new task in the stored context, the previous one referenced), and
 *    the run's answer is the agent's reply to them, not the reply they missed.
 *
 * Both loops are bounded (MAX_QUESTIONS, MAX_FOLLOW_UPS); messages injected past the bound
 * stay unanswered in the final session and the parent is told (`unansweredMessages`), as
 * before. Each new path is behind a patch, so runs recorded before it replay as they ran.
 */
import { ApplicationFailure, log, patched, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { BambooActivities } from '../worker/activities';
import type { ExternalRunOutcome } from '../worker/activities/external';
import { FailureTypes } from '../common/errors';
import type { Session } from '../common/session';
import { spendOfCall, type Spend } from '../common/spend';
import type { WatchdogPolicy } from '../common/watchdog';
import { modelCallOptions } from './activity-options';
import type { RunBudget } from './deadline';
import type { EventLog } from './event-log';
import { newMessage } from './messages';
import type { PersonRequests } from './person-requests';

/** Patch id: an agent's question goes to a person and, answered, the agent goes on. Before it, the question ended the run. */
export const EXTERNAL_QUESTIONS_PATCH = 'bamboo-external-questions';
/** Patch id: messages injected while the agent worked follow in the same run. Before it, they waited for the run's end. */
export const EXTERNAL_FOLLOW_UPS_PATCH = 'bamboo-external-follow-ups';

/** Questions one run takes to a person; the next one ends the run as a question always did. */
export const MAX_QUESTIONS = 20;
/** Rounds of injected messages one run delivers; later ones are left to the next run. */
export const MAX_FOLLOW_UPS = 20;
/**
 * Every call puts the whole transcript (up to transcriptBudgetBytes, 1.5 MiB) into history as
 * the activity's input: past this much history the run makes no further call, so even the
 * largest transcripts stay far from the server's 50 MB limit. What is left goes as the bounds
 * above do: a question ends the run, messages wait for the next run.
 */
export const EXTERNAL_HISTORY_BYTES = 8 * 1024 * 1024;

/** What the conversation needs of the child run it belongs to. */
export interface ExternalRunHost {
  session: Session;
  policy: WatchdogPolicy;
  budget: RunBudget;
  events: EventLog;
  /** Where the agent's questions go; absent, a question ends the run. */
  requests?: PersonRequests;
  /** Removes and returns the messages injected since the last call (a turn boundary: `turn`). */
  takeInjected(turn: number): string[];
  hasInjected(): boolean;
  onTurn(turn: number): void;
  onSpend(spend: Spend): void;
  /** The run's (or its tree's) budget is spent: the message, else undefined. */
  budgetExhausted(): string | undefined;
}

/** Runs the session's pending turn on its external agent until the agent has nothing more to ask or answer. */
export async function converseWithExternalAgent(host: ExternalRunHost): Promise<void> {
  const { session } = host;
  let questions = 0;
  let followUps = 0;
  for (let turn = 1; ; turn++) {
    host.onTurn(turn);
    const reply = await callAgent(host);
    if (reply.needsClarification) {
      if (questions >= MAX_QUESTIONS || !host.requests || historyFull() || !patched(EXTERNAL_QUESTIONS_PATCH)) return;
      questions += 1;
      const answer = await askThePerson(host, host.requests, reply.content);
      if (answer === undefined) return; // denied or expired: the question stays the run's answer
      session.messages.push(newMessage('user', answer.text, { metadata: { answers_request: answer.requestId } }));
      appendInjected(host, turn + 1); // sent with the answer, in the agent's next call
      continue;
    }
    if (!host.hasInjected() || followUps >= MAX_FOLLOW_UPS || historyFull() || !patched(EXTERNAL_FOLLOW_UPS_PATCH)) return;
    followUps += 1;
    appendInjected(host, turn + 1); // the agent gets them in its next call
  }
}

/** One call of the runner activity; the reply joins the session (and its metadata). */
async function callAgent(host: ExternalRunHost): Promise<ExternalRunOutcome> {
  const { session, policy, budget } = host;
  const exceeded = host.budgetExhausted();
  if (exceeded) throw ApplicationFailure.create({ message: exceeded, type: FailureTypes.budgetExceeded, nonRetryable: true });
  // Options per call: the schedule-to-close follows the budget, which a person's time moved.
  const { runExternalChild } = proxyActivities<BambooActivities>(modelCallOptions(policy, budget, `${session.title ?? session.id} · external runner`));
  const reply = await runExternalChild({ session, maxIdleSecs: policy.maxIdleSecs, runDeadline: budget.deadlineIso() });
  Object.assign(session.metadata, reply.metadata ?? {});
  session.messages.push(newMessage('assistant', reply.content, { metadata: { runner: reply.runner } }));
  if (reply.needsClarification) {
    // Kept while the question is open: the next call continues the agent's task with the answer.
    session.metadata.need_clarification = 'true';
    host.events.add({ type: 'need_clarification', question: reply.content });
  } else {
    delete session.metadata.need_clarification;
  }
  if (reply.usage) host.onSpend(spendOfCall(reply.usage, reply.costMicroUsd)); // when the agent reports usage
  return reply;
}

/** The agent's question to the root's person; the answer, or undefined when denied or expired. */
async function askThePerson(host: ExternalRunHost, requests: PersonRequests, question: string): Promise<{ requestId: string; text: string } | undefined> {
  setCurrentDetails(`waiting for a person to answer the agent: ${question.slice(0, 200)}`);
  host.budget.pause(); // a person's time does not count against the run's total budget
  try {
    const decision = await requests.ask({ kind: 'question', question });
    return decision.decision === 'answer' && decision.text ? { requestId: decision.requestId, text: decision.text } : undefined;
  } finally {
    host.budget.resume();
  }
}

function historyFull(): boolean {
  const full = workflowInfo().historySize >= EXTERNAL_HISTORY_BYTES;
  if (full) log.warn('the external agent gets no further call in this run: its history is large', { historySize: workflowInfo().historySize });
  return full;
}

function appendInjected(host: ExternalRunHost, turn: number): void {
  for (const content of host.takeInjected(turn)) host.session.messages.push(newMessage('user', content, { metadata: { injected: 'true' } }));
}
