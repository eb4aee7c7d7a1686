/**
 * Signals and queries of Bamboo's session workflows: one name, one type, imported by
 * workflows and clients alike (contract names, docs/architecture.md#temporal-mapping).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PendingRequest, RequestClosed, RequestDecision, SessionRequestsClosed, RespondInput, RespondReceipt, SteerInput, SteerReceipt } from './requests';
import type { SessionUsage } from './session-usage';
import type { Usage } from './spend';
import type { ChildCompletion, ChildRunResult, InjectMessage, SpawnJob } from './run';
import type { EventsQueryInput, SequencedEvent } from './events';
import type { Message } from './session';
import type { RunStatus } from './run-status';
import type { TranscriptQuery } from './transcript-page';
import type { UserMessage } from './root-session';

/**
 * Sent by a child run to its parent, by workflow id only, so it reaches the parent's
 * current run even after continue-as-new. Sent exactly once per child run, for every
 * terminal status; parents must treat it idempotently by (childSessionId, runId).
 */
export const subSessionCompletedSignal = defineSignal<[ChildCompletion]>('subSessionCompleted');

/**
 * A new user message for a root session: it starts a turn when the session is idle, and is
 * merged at the next turn boundary when a turn is running.
 */
export const userMessageSignal = defineSignal<[UserMessage]>('userMessage');

/**
 * Queues a user message into a running session. It is merged at the next turn boundary;
 * if the run ends first, it is appended to the run's final session. Invalid payloads are
 * logged and dropped (a signal cannot answer); clients validate before sending.
 */
export const injectMessageSignal = defineSignal<[InjectMessage]>('injectMessage');

export interface SessionRunState {
  sessionId: string;
  kind: 'root' | 'child';
  status: RunStatus;
  /** Root sessions: what the session is doing now. */
  phase?: 'idle' | 'running' | 'waiting' | 'cancelling';
  lastRunStatus?: RunStatus;
  lastRunError?: string;
  messageCount: number;
  turn: number;
  pendingInjectedMessages: number;
  /** Each child's status, title and (when it failed) the error text. */
  children: { childSessionId: string; status: RunStatus; title?: string; error?: string }[];
  waiting: null | { policy: string; childSessionIds: string[]; leaseExpiresAt: string };
  /** The session's usage with its whole subtree's, and the priced part's cost in micro-dollars. */
  subtreeUsage?: Usage;
  subtreeCostMicroUsd?: number;
  /** Child sessions: the subagent type it was spawned as. */
  subagentType?: string;
  /**
   * Child sessions, once running: its watchdog, and when its total time runs out. While it waits
   * for a person its clock stands still (`pausedSince`); the deadline moves by the pause on resume.
   */
  watchdog?: { maxIdleSecs: number; maxTotalSecs: number; deadlineAt: string; pausedSince?: string };
  /** Root sessions: requests from anywhere in the tree waiting for a person. */
  pendingRequests?: PendingRequest[];
}

/** The run's current state; cheap, never blocks. */
export const stateQuery = defineQuery<SessionRunState>('state');

/** Durable events with sequence numbers greater than `afterSeq` (bounded window). */
export const eventsQuery = defineQuery<SequencedEvent[], [EventsQueryInput?]>('events');

/**
 * Messages [from, count) of the session's transcript, at most `maxBytes` of them (see
 * common/transcript-page.ts). Model activities read long transcripts through it instead
 * of carrying them in their (history-recorded) input.
 */
export const transcriptQuery = defineQuery<Message[], [TranscriptQuery]>('transcript');

/** The child workflow's signature (workflow type `childSessionWorkflow`), for starting it by name. */
export type ChildSessionWorkflow = (job: SpawnJob) => Promise<ChildRunResult>;

/**
 * The session's ledger: its own usage, each child's (with the child's own subtree), the
 * total, and the cost of the calls whose model has a price. Each child run counts once.
 */
export const usageQuery = defineQuery<SessionUsage>('usage');

/** A session asks its root for a person's decision (by workflow id: reaches the root's current run). */
export const requestRaisedSignal = defineSignal<[PendingRequest]>('requestRaised');

/** A session tells its root that a request no longer waits (it expired, or the run ended). */
export const requestClosedSignal = defineSignal<[RequestClosed]>('requestClosed');

/** A parent tells the root that a run of its child closed without reporting: that run's requests no longer wait. */
export const sessionRequestsClosedSignal = defineSignal<[SessionRequestsClosed]>('sessionRequestsClosed');

/** The root routes a recorded decision to the session that waits for it. */
export const requestDecidedSignal = defineSignal<[RequestDecision]>('requestDecided');

/**
 * On a root: a person's decision on a pending request. The validator rejects unknown and
 * already answered ids; the update returns once the decision is recorded and routed.
 */
export const respondUpdate = defineUpdate<RespondReceipt, [RespondInput]>('respond');

/**
 * On any running session: a message merged at its next turn boundary (the durable version
 * of `injectMessage`); returns once merged, or once the run ended with it unmerged.
 */
export const steerUpdate = defineUpdate<SteerReceipt, [SteerInput]>('steer');
