/**
 * How a run that ended early maps to a terminal status and the reference's text
 * (classifyFailure in workflows/deadline.ts), with failures built as the SDK delivers them.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { FailureTypes, idleTimeoutMessage } from '../../common';
import { classifyFailure, RunBudget } from '../../workflows/deadline';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** An activity's failure as the workflow sees it: ActivityFailure wrapping the cause. */
function fromActivity(cause: Error): ActivityFailure {
  return new ActivityFailure('Activity task failed', 'callModel', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker-1', cause);
}

describe('classifyFailure', () => {
  let budget: RunBudget;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    budget = new RunBudget(60, T0 - 7_500); // started 7.5 s ago
  });

  afterEach(() => jest.useRealTimers());

  it('a fired deadline wins over whatever the run was doing: total timeout at the moment it fired', () => {
    const idle = ApplicationFailure.create({ message: 'idle', type: FailureTypes.idleTimeout, nonRetryable: true });
    expect(classifyFailure(fromActivity(idle), budget, 60)).toEqual({
      status: 'timeout',
      error: 'Child session timed out after 60 seconds (max_total_secs=60)',
    });
    expect(classifyFailure(new CancelledFailure('cancelled by the deadline'), budget, 61).error).toBe('Child session timed out after 61 seconds (max_total_secs=60)');
  });

  it("the idle watchdog's failure is a timeout with its own text", () => {
    const idle = ApplicationFailure.create({ message: idleTimeoutMessage(2, 2), type: FailureTypes.idleTimeout, nonRetryable: true });
    expect(classifyFailure(fromActivity(idle), budget)).toEqual({
      status: 'timeout',
      error: 'Child session idle timeout after 2 seconds without events (max_idle_secs=2)',
    });
  });

  it("an activity's schedule-to-close timeout is the total timeout, with the elapsed seconds", () => {
    const timeout = new TimeoutFailure(undefined, undefined, TimeoutType.SCHEDULE_TO_CLOSE);
    expect(classifyFailure(fromActivity(timeout), budget)).toEqual({
      status: 'timeout',
      error: 'Child session timed out after 7 seconds (max_total_secs=60)',
    });
  });

  it('a cancellation is `cancelled` with the reference text', () => {
    expect(classifyFailure(new CancelledFailure('Workflow cancelled'), budget)).toEqual({ status: 'cancelled', error: 'Child session cancelled' });
    expect(classifyFailure(fromActivity(new CancelledFailure('Activity cancelled')), budget)).toEqual({ status: 'cancelled', error: 'Child session cancelled' });
  });

  it("an error whose message contains `cancelled` is a cancellation, with that message — case-sensitive, as the reference's contains(\"cancelled\")", () => {
    const failure = ApplicationFailure.create({ message: 'runner reported: task cancelled by user' });
    expect(classifyFailure(fromActivity(failure), budget)).toEqual({ status: 'cancelled', error: 'runner reported: task cancelled by user' });
    for (const message of ['runner reported: task Cancelled by user', 'CANCELLED', 'the order was Cancelled']) {
      expect(classifyFailure(fromActivity(ApplicationFailure.create({ message })), budget)).toEqual({ status: 'error', error: message });
    }
  });

  it("any other failure is an error with the cause's readable message", () => {
    const provider = ApplicationFailure.create({ message: 'model provider returned 500', type: FailureTypes.providerError, nonRetryable: true });
    expect(classifyFailure(fromActivity(provider), budget)).toEqual({ status: 'error', error: 'model provider returned 500' });
    const startToClose = new TimeoutFailure(undefined, undefined, TimeoutType.START_TO_CLOSE);
    expect(classifyFailure(fromActivity(startToClose), budget)).toEqual({ status: 'error', error: 'activity timed out (START_TO_CLOSE)' });
    expect(classifyFailure(new Error(''), budget)).toEqual({ status: 'error', error: 'Error' });
    expect(classifyFailure('a thrown string', budget)).toEqual({ status: 'error', error: 'a thrown string' });
  });
});

describe('RunBudget', () => {
  afterEach(() => jest.useRealTimers());

  it('counts the budget from when the run began, with the clock of the workflow', () => {
    jest.useFakeTimers({ now: T0 });
    const budget = new RunBudget(10, T0 - 4_000);
    expect(budget.deadlineMs).toBe(T0 + 6_000);
    expect(budget.remainingMs()).toBe(6_000);
    expect(budget.elapsedSecs()).toBe(4);
    jest.setSystemTime(T0 + 60_000);
    expect(budget.remainingMs()).toBe(0);
  });

  it('starts its deadline timer when armed, once, unless the run may never wait on anything unbounded', () => {
    const armed: string[] = [];
    const waits = new RunBudget(10, T0, { timer: 'while-waiting' });
    waits.whenArmed(() => armed.push('timer'));
    expect([waits.timerArmed, waits.mayArm]).toEqual([false, true]);
    waits.armTimer();
    waits.armTimer();
    expect(armed).toEqual(['timer']);

    const neverWaits = new RunBudget(10, T0, { timer: 'never' });
    expect(neverWaits.mayArm).toBe(false);
    expect(() => neverWaits.armTimer()).toThrow(/may not wait on anything unbounded/);
    expect(new RunBudget(10, T0, { timer: 'whole-run' }).mayArm).toBe(true); // a timer from the start: the first history shape
  });
});
