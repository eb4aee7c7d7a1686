/** How a closed child run ended, read from the run itself: statuses and texts the parent shows. */
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { outcomeOfFailure, outcomeOfResult, RUN_CANCELLED, RUN_EXECUTION_TIMEOUT, RUN_TERMINATED, type Session } from '../../common';

const session = (answer: string): Session => ({
  id: 'c1',
  kind: 'child',
  rootSessionId: 'r',
  spawnDepth: 1,
  model: 'm',
  metadata: {},
  messages: [
    { id: '1', role: 'user', content: 'task', createdAt: '2026-01-01T00:00:00Z' },
    { id: '2', role: 'assistant', content: answer, createdAt: '2026-01-01T00:00:01Z' },
  ],
});

test('a completed run reports its status and final answer, capped at 4000 characters', () => {
  const result = { parentSessionId: 'p', childSessionId: 'c1', status: 'completed', session: session('a'.repeat(5000)) };
  expect(outcomeOfResult(result)).toEqual({ status: 'completed', error: undefined, finalResponse: 'a'.repeat(4000) });
});

test('a run that ended error or timeout reports its own error text, without an answer', () => {
  const result = { parentSessionId: 'p', childSessionId: 'c1', status: 'timeout', error: 'Child session timed out after 5 seconds (max_total_secs=5)', session: session('partial') };
  expect(outcomeOfResult(result)).toEqual({ status: 'timeout', error: 'Child session timed out after 5 seconds (max_total_secs=5)', finalResponse: undefined });
});

test('an unreadable result is an error, not a crash', () => {
  expect(outcomeOfResult({ nonsense: true })).toEqual({ status: 'error', error: 'child session run returned an unreadable result' });
});

test('a terminated run is an error naming the reason when there is one', () => {
  expect(outcomeOfFailure(new TerminatedFailure('operator stopped it'))).toEqual({ status: 'error', error: `${RUN_TERMINATED}: operator stopped it` });
  expect(outcomeOfFailure(new TerminatedFailure('Workflow execution terminated'))).toEqual({ status: 'error', error: RUN_TERMINATED });
  expect(outcomeOfFailure(new TerminatedFailure(undefined))).toEqual({ status: 'error', error: RUN_TERMINATED });
});

test('an execution timeout is a timeout, a cancelled run is cancelled, a failed run carries its message', () => {
  expect(outcomeOfFailure(new TimeoutFailure(undefined, undefined, TimeoutType.START_TO_CLOSE))).toEqual({ status: 'timeout', error: RUN_EXECUTION_TIMEOUT });
  expect(outcomeOfFailure(new CancelledFailure('cancelled'))).toEqual({ status: 'cancelled', error: RUN_CANCELLED });
  expect(RUN_CANCELLED).toContain('cancelled'); // reference rule: a cancellation's text says so
  expect(outcomeOfFailure(ApplicationFailure.nonRetryable('invalid SpawnJob: model: must be a non-empty string'))).toEqual({
    status: 'error',
    error: 'invalid SpawnJob: model: must be a non-empty string',
  });
  expect(outcomeOfFailure('strange')).toEqual({ status: 'error', error: 'child session run failed' });
});
