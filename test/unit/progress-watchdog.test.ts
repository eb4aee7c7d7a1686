/**
 * Liveness heartbeats and the idle watchdog of one activity attempt (worker/activities/progress.ts),
 * without a server: the SDK's MockActivityEnvironment gives the attempt a real activity
 * Context (its heartbeats are recorded, its cancellation is ours to request) and jest's fake
 * timers stand in for the clock.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { FailureTypes, type ProgressDetails } from '../../common';
import { withProgressWatchdog, type ProgressTracker } from '../../worker/activities/progress';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** Work that makes no progress of its own and stops when the attempt is aborted. */
function stalledUntilAborted(tracker: ProgressTracker): Promise<never> {
  return new Promise((_, reject) => tracker.signal.addEventListener('abort', () => reject(new Error('The operation was aborted')), { once: true }));
}

function attempt<T>(maxIdleSecs: number, work: (tracker: ProgressTracker) => Promise<T>, heartbeatTimeoutMs?: number) {
  const env = new MockActivityEnvironment(heartbeatTimeoutMs ? { heartbeatTimeoutMs } : undefined, { logger: new DefaultLogger('ERROR') }); // failing attempts are expected here
  const heartbeats: ProgressDetails[] = [];
  // The same details object is sent on every beat: keep a copy of each.
  env.on('heartbeat', (details: ProgressDetails) => heartbeats.push(structuredClone(details)));
  let tracker: ProgressTracker | undefined;
  const result = env.run(() =>
    withProgressWatchdog({ phase: 'model test-model', maxIdleSecs }, (t) => {
      tracker = t;
      return work(t);
    }),
  );
  const settled = result.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );
  return { env, heartbeats, settled, tracker: () => tracker! };
}

describe('withProgressWatchdog', () => {
  beforeEach(() => jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('heartbeats every second while the attempt runs, the first after a second, carrying the progress record', async () => {
    const run = attempt(60, stalledUntilAborted);
    await jest.advanceTimersByTimeAsync(999);
    expect(run.heartbeats).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(2_001);
    expect(run.heartbeats).toHaveLength(3);
    expect(run.heartbeats[2]).toEqual({ phase: 'model test-model', events: 0, textChars: 0, tail: '', lastProgressAt: at(0) });
    run.env.cancel();
    await run.settled;
  });

  it('beats every half heartbeat timeout when that is shorter than a second, so a short liveness window never lapses', async () => {
    const run = attempt(60, stalledUntilAborted, 600);
    await jest.advanceTimersByTimeAsync(299);
    expect(run.heartbeats).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(701);
    expect(run.heartbeats).toHaveLength(3);
    run.env.cancel();
    await run.settled;
  });

  it('records each progress event in the details, which the next beat carries: count, text characters, a bounded tail, the note', async () => {
    const run = attempt(60, stalledUntilAborted);
    await jest.advanceTimersByTimeAsync(500);
    run.tracker().record({ text: 'a'.repeat(200) });
    await jest.advanceTimersByTimeAsync(250);
    run.tracker().record({ text: 'b'.repeat(100), note: 'streaming' });
    expect(run.heartbeats).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(250);
    expect(run.heartbeats).toHaveLength(1);
    expect(run.heartbeats[0]).toEqual({
      phase: 'model test-model',
      events: 2,
      textChars: 300,
      tail: 'a'.repeat(140) + 'b'.repeat(100),
      note: 'streaming',
      lastProgressAt: at(750),
    });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(run.heartbeats).toHaveLength(2);
    expect(run.heartbeats.at(-1)).toMatchObject({ events: 2, lastProgressAt: at(750) }); // a liveness beat is not progress
    run.env.cancel();
    await run.settled;
  });

  it('progress resets the idle clock', async () => {
    const run = attempt(2, stalledUntilAborted);
    await jest.advanceTimersByTimeAsync(1_500);
    run.tracker().record({ note: 'tool running' });
    await jest.advanceTimersByTimeAsync(1_900); // 3.4 s since the start, 1.9 s since progress
    expect(run.tracker().signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(100);
    expect(run.tracker().signal.aborted).toBe(true);
    const { error } = await run.settled;
    expect((error as ApplicationFailure).message).toBe('Child session idle timeout after 2 seconds without events (max_idle_secs=2)');
  });

  it('without progress for max_idle the attempt fails non-retryably with the reference text and aborts the tracker signal', async () => {
    const run = attempt(5, stalledUntilAborted);
    await jest.advanceTimersByTimeAsync(4_999);
    expect(run.tracker().signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const { error } = await run.settled;
    expect(error).toBeInstanceOf(ApplicationFailure);
    const failure = error as ApplicationFailure;
    expect(failure.message).toBe('Child session idle timeout after 5 seconds without events (max_idle_secs=5)');
    expect(failure.type).toBe(FailureTypes.idleTimeout);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details).toEqual([{ idleSecs: 5, maxIdleSecs: 5, lastProgress: expect.objectContaining({ events: 0, lastProgressAt: at(0) }) }]);
    expect(run.tracker().signal.reason).toBe(failure);
  });

  it('cancellation aborts the tracker signal and ends the attempt cancelled, not with the AbortError of the interrupted call', async () => {
    const run = attempt(60, stalledUntilAborted);
    await jest.advanceTimersByTimeAsync(1_000);
    run.env.cancel();
    const { error } = await run.settled;
    expect(run.tracker().signal.aborted).toBe(true);
    expect(error).toBeInstanceOf(CancelledFailure);
  });

  it("returns the work's result and stops both timers", async () => {
    const run = attempt(2, async (tracker) => {
      tracker.record({ text: 'done' });
      return 'answer';
    });
    expect(await run.settled).toEqual({ value: 'answer', error: undefined });
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(run.heartbeats).toHaveLength(0); // it ended before the first beat was due, and nothing beats after
  });
});
