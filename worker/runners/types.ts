/**
 * External child runtimes (`runtime.kind=external`): a runner profile claims a child by its
 * `external.agent_id` / `external.protocol` metadata and runs the child's pending turn
 * outside this process (an A2A agent, a subprocess). Runners know their protocol; the
 * external-runner activity knows Temporal (heartbeats, cancellation, failures).
 */
import type { Session, Usage } from '../../common';

/** One piece of real progress: resets the idle watchdog and shows in heartbeat details. */
export interface ExternalRunnerEvent {
  /** Text the agent produced (appended to the visible tail). */
  text?: string;
  /** A short status note (e.g. "task working"). */
  note?: string;
}

export interface ExternalRunContext {
  /** Aborted on cancellation or when the idle watchdog fires; the runner must stop its work. */
  signal: AbortSignal;
  progress(event: ExternalRunnerEvent): void;
  /** 1 on the first try (the activity may retry after a retryable failure). */
  attempt: number;
  /** Something the agent sent was ignored (e.g. an invalid usage report): logged, never fatal. */
  warn?(message: string): void;
}

export interface ExternalRunResult {
  /** The agent's final answer, appended to the session as the assistant message. */
  content: string;
  /** Metadata persisted on the child session (e.g. `a2a.context_id`), for the next run. */
  metadata?: Record<string, string>;
  /** The agent needs input (A2A input-required / auth-required): `content` is its question. */
  needsClarification?: boolean;
  /** The tokens this run used, when the agent reported them (absent: it did not say). */
  usage?: Usage;
}

export interface ExternalRunner {
  readonly agentId: string;
  readonly protocol: string;
  /** The model the agent runs on, as the profile names it: the key of its price (worker/pricing.ts). */
  readonly model?: string;
  run(session: Session, context: ExternalRunContext): Promise<ExternalRunResult>;
}

/** A runner failure that says whether trying again can help (like ProviderError). */
export class ExternalRunnerError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ExternalRunnerError';
  }
}

export function findExternalRunner(runners: readonly ExternalRunner[], metadata: Record<string, string>) {
  const agentId = metadata['external.agent_id'];
  const protocol = metadata['external.protocol'];
  return runners.find((r) => r.agentId === agentId && (protocol === undefined || r.protocol === protocol));
}
