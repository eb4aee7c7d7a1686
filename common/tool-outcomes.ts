/**
 * What the model reads when a tool call ended without an answer of its own (ok: false), each
 * counted as a failure of that tool. Shared by the tool activity and the agent loop
 * (deterministic: workflows import it).
 */

/** Reference: a tool call may run at most 120 s (a tool may set a shorter `timeoutSecs`). */
export const MAX_TOOL_TIMEOUT_SECS = 120;

export function toolTimedOutMessage(toolName: string, limitSecs: number): string {
  return `Error: tool ${toolName} timed out after ${limitSecs} seconds`;
}

/** A non-idempotent tool whose previous attempt was cut short: it is not run again. */
export function toolOutcomeUnknownMessage(toolName: string): string {
  return `Error: outcome unknown: the worker running tool ${toolName} stopped during the call; it was not run again, check before retrying`;
}

/** An idempotent tool whose worker stopped on every attempt. */
export function toolWorkerLostMessage(toolName: string): string {
  return `Error: tool ${toolName} could not complete: the worker running it stopped responding on every attempt`;
}

export function toolFailedMessage(toolName: string, reason: string): string {
  return `Error: tool ${toolName} failed: ${reason}`;
}
