/**
 * External child runtimes (`runtime.kind=external`): a runner profile claims a child by
 * its `external.agent_id` / `external.protocol` metadata. Concrete runners (A2A,
 * subprocess) plug in here.
 */
import type { Session } from '../domain';

export interface ExternalRunnerEvent {
  text?: string;
  note?: string;
}

export interface ExternalRunner {
  readonly agentId: string;
  readonly protocol: string;
  /** Runs the child's pending turn; returns the assistant's final text. */
  run(session: Session, context: { signal: AbortSignal; progress(event: ExternalRunnerEvent): void }): Promise<string>;
}

export function findExternalRunner(runners: readonly ExternalRunner[], metadata: Record<string, string>) {
  const agentId = metadata['external.agent_id'];
  const protocol = metadata['external.protocol'];
  return runners.find((r) => r.agentId === agentId && (protocol === undefined || r.protocol === protocol));
}
