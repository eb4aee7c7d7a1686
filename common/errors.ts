/**
 * The exact error texts users and programs match on (DESIGN §4: contract).
 */
export const CHILD_SESSION_NOT_FOUND = 'child session not found';
export const CHILD_NOT_KIND_CHILD = 'spawn job child session is not kind=child';
export const NO_PENDING_MESSAGE = 'No pending message to execute';
export const EXTERNAL_RUNNER_NOT_CONFIGURED =
  'Child session requires external runtime, but no external runner is configured';

export function totalTimeoutMessage(elapsedSecs: number, maxTotalSecs: number): string {
  return `Child session timed out after ${elapsedSecs} seconds (max_total_secs=${maxTotalSecs})`;
}

export function idleTimeoutMessage(idleSecs: number, maxIdleSecs: number): string {
  return `Child session idle timeout after ${idleSecs} seconds without events (max_idle_secs=${maxIdleSecs})`;
}

export function noExternalRunnerMatchedMessage(agentId: string | undefined, protocol: string | undefined): string {
  return `No external runner matched child session runtime metadata: agent_id=${agentId ?? '<unset>'}, protocol=${protocol ?? '<unset>'}`;
}

/** Failure types our activities throw, so workflows can map them to run statuses. */
export const FailureTypes = {
  invalidInput: 'BambooInvalidInput',
  idleTimeout: 'BambooIdleTimeout',
  providerError: 'BambooProviderError',
  externalRunner: 'BambooExternalRunnerError',
} as const;
