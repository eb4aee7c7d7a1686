/**
 * How a closed child run ended, read from the run itself rather than from the child's own
 * report: its result (a ChildRunResult) or the failure that closed it. A parent uses this to
 * learn the final status of a child that could not report — terminated by an operator or by
 * the server (history or payload limits), timed out by a workflow execution timeout, failed
 * before it could signal — so no parent is ever stranded.
 *
 * Pure and deterministic: used by workflow code (the child handle's result) and by
 * activities (a closed run found through the client) alike.
 */
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { lastAssistantText } from './session';
import { ChildRunResultSchema } from './run';
import type { TerminalRunStatus } from './run-status';
import type { Spend } from './spend';

/** Final answers carried to a parent are capped (reference: 4000 characters). */
export const FINAL_RESPONSE_CAP = 4000;

export interface ClosedRunOutcome {
  status: TerminalRunStatus;
  error?: string;
  finalResponse?: string;
  /** What the run reported spending (with its descendants); absent for a run that left no result. */
  subtreeSpend?: Spend;
}

/** How a session's run — a continue-as-new chain, named by its first run id — closed. */
export interface RunCloseReport {
  runId: string;
  outcome: ClosedRunOutcome;
}

export const RUN_TERMINATED = 'Child session run was terminated';
export const RUN_EXECUTION_TIMEOUT = 'Child session run timed out (workflow execution timeout)';
export const RUN_CANCELLED = 'Child session cancelled';

/** A run that completed: its ChildRunResult says how it ended. */
export function outcomeOfResult(result: unknown): ClosedRunOutcome {
  const parsed = ChildRunResultSchema.safeParse(result);
  if (!parsed.success) return { status: 'error', error: 'child session run returned an unreadable result' };
  const { status, error, session, subtreeSpend } = parsed.data;
  const answer = status === 'completed' && session ? lastAssistantText(session.messages) : undefined;
  return { status, error, finalResponse: answer?.slice(0, FINAL_RESPONSE_CAP), ...(subtreeSpend ? { subtreeSpend } : {}) };
}

/**
 * A run that closed without a result. `failure` is the cause of a ChildWorkflowFailure (in
 * a workflow) or of a WorkflowFailedError (through the client).
 */
export function outcomeOfFailure(failure: unknown, reason?: string): ClosedRunOutcome {
  if (failure instanceof TerminatedFailure) {
    const why = reason ?? (failure.message && failure.message !== 'Workflow execution terminated' ? failure.message : undefined);
    return { status: 'error', error: why ? `${RUN_TERMINATED}: ${why}` : RUN_TERMINATED };
  }
  if (failure instanceof TimeoutFailure) return { status: 'timeout', error: RUN_EXECUTION_TIMEOUT };
  if (failure instanceof CancelledFailure) return { status: 'cancelled', error: RUN_CANCELLED };
  if (failure instanceof ApplicationFailure) return { status: 'error', error: failure.message || failure.type || 'child session run failed' };
  if (failure instanceof Error) return { status: 'error', error: failure.message || 'child session run failed' };
  return { status: 'error', error: 'child session run failed' };
}
