/**
 * The durable wait's two rules as plain functions: when a wait policy holds, and the hidden
 * message a parent resumes with (docs/architecture.md#the-durable-wait).
 */
import type { TrackedChild } from '../common/children';
import type { WaitPolicy } from '../common/options';
import type { TerminalRunStatus } from '../common/run-status';

// eslint-disable-next-line no-restricted-syntax -- read-only (ReadonlySet)
const TERMINAL: ReadonlySet<string> = new Set(['completed', 'error', 'cancelled', 'timeout', 'skipped']);

export function isTerminal(status: string): status is TerminalRunStatus {
  return TERMINAL.has(status);
}

/** The policy holds over the awaited children: `all` done, `any` done, or the first failure (or all done). */
export function waitHolds(policy: WaitPolicy, awaited: readonly TrackedChild[]): boolean {
  const finished = awaited.filter((c) => isTerminal(c.status));
  if (awaited.length === 0) return true;
  switch (policy) {
    case 'all':
      return finished.length === awaited.length;
    case 'any':
      return finished.length > 0;
    case 'first_error':
      return finished.length === awaited.length || finished.some((c) => c.status !== 'completed');
  }
}

/**
 * Each finished child once, with its status and final answer (or error), then how many are
 * still unfinished; first, when the lease expired (`leaseSecs`), that the children keep running.
 */
export function resumeMessage(finished: readonly TrackedChild[], remaining: number, leaseExpiredAfterSecs?: number): string {
  const lines = finished.map((c) => {
    const head = `Runtime notification: child session \`${c.childSessionId}\` (“${c.title}”) finished with status \`${c.status}\`.`;
    const body = c.status === 'completed' ? (c.finalResponse ?? '(no answer)') : `Error: ${c.error ?? c.status}`;
    return `${head}\n${body}`;
  });
  if (leaseExpiredAfterSecs !== undefined) lines.unshift(`Runtime notification: the wait for child sessions expired after ${leaseExpiredAfterSecs} seconds; they keep running.`);
  lines.push(`Remaining child sessions: ${remaining}.`);
  return lines.join('\n\n');
}
