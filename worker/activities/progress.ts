/**
 * Heartbeats and the idle watchdog for one activity attempt.
 *
 * Temporal's heartbeat timeout cannot tell a dead worker from a silent model, so the two
 * are split (README, "Watchdog"):
 *  - liveness: a heartbeat every second (or every half heartbeat timeout, if shorter) while
 *    the attempt runs, so a killed worker is noticed within `heartbeatTimeout` and the attempt
 *    is retried on another worker, and so cancellation reaches a stalled call (it is delivered
 *    in heartbeat responses). The first beat goes out after one such tick, not at once: a call
 *    that ends sooner (most tool calls, a quick model answer) costs the server no heartbeat;
 *  - idle: only real progress (a streamed chunk, a runner event, a tool note) resets the
 *    idle clock; after max_idle without it the attempt fails non-retryably with the
 *    reference's idle-timeout message, which the workflow maps to status `timeout`;
 *  - total: at the run's deadline (`runDeadline`, the workflow's total-time budget) the attempt
 *    stops its work and fails non-retryably (type BambooTotalTimeout), so a run whose budget
 *    runs out mid-call ends only after the call has really stopped, with no workflow timer
 *    running beside every call; the activity's schedule-to-close is the backstop for a dead worker.
 * Heartbeat details carry a small progress record for the Temporal UI and `bamboo watch`
 * (each beat sends the latest); they are not written to history event by event.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailureTypes, idleTimeoutMessage, type ProgressDetails } from '../../common';

const LIVENESS_TICK_MS = 1000;
/** How long an aborted attempt waits for its work to stop before reporting. */
const CLEANUP_GRACE_MS = 15_000;
const TAIL_CHARS = 240;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ProgressTracker {
  /** Aborted on cancellation or when the idle or total watchdog fires. */
  readonly signal: AbortSignal;
  /** Record one real progress event; `text` is appended to the visible tail. */
  record(event: { text?: string; note?: string }): void;
}

export async function withProgressWatchdog<T>(
  options: { phase: string; maxIdleSecs: number; runDeadline?: string },
  work: (tracker: ProgressTracker) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  const watchdogAbort = new AbortController();
  const signal = AbortSignal.any([ctx.cancellationSignal, watchdogAbort.signal]);
  let lastProgress = Date.now();
  const details: ProgressDetails = {
    phase: options.phase,
    events: 0,
    textChars: 0,
    tail: '',
    lastProgressAt: new Date(lastProgress).toISOString(),
  };
  const beat = () => ctx.heartbeat(details);

  let idleTimer: NodeJS.Timeout | undefined;
  let rejectWatchdog: (failure: ApplicationFailure) => void = () => undefined;
  const watchdogFired = new Promise<never>((_, reject) => (rejectWatchdog = reject));
  const fire = (failure: ApplicationFailure) => {
    watchdogAbort.abort(failure);
    rejectWatchdog(failure);
  };
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      // Node may fire a timer a millisecond early: the timer firing is what says max_idle passed.
      const idleSecs = Math.max(options.maxIdleSecs, Math.floor((Date.now() - lastProgress) / 1000));
      const failure = ApplicationFailure.create({
        message: idleTimeoutMessage(idleSecs, options.maxIdleSecs),
        type: FailureTypes.idleTimeout,
        nonRetryable: true,
        details: [{ idleSecs, maxIdleSecs: options.maxIdleSecs, lastProgress: details }],
      });
      fire(failure);
    }, options.maxIdleSecs * 1000);
  };
  // The workflow words the total-timeout message (it knows the run's elapsed time and budget).
  const untilDeadlineMs = options.runDeadline ? Math.max(0, Date.parse(options.runDeadline) - Date.now()) : Infinity;
  // Node timers overflow past ~24.8 days; a deadline further off is left to schedule-to-close.
  const totalTimer =
    untilDeadlineMs <= MAX_TIMER_MS
      ? setTimeout(
          () => fire(ApplicationFailure.create({ message: `the run's total time budget ran out at ${options.runDeadline}`, type: FailureTypes.totalTimeout, nonRetryable: true })),
          untilDeadlineMs,
        )
      : undefined;

  const tracker: ProgressTracker = {
    signal,
    record({ text, note }) {
      lastProgress = Date.now();
      details.events += 1;
      details.lastProgressAt = new Date(lastProgress).toISOString();
      if (text) {
        details.textChars += text.length;
        details.tail = (details.tail + text).slice(-TAIL_CHARS);
      }
      if (note !== undefined) details.note = note;
      armIdle(); // the next liveness beat carries it
    },
  };

  armIdle();
  const heartbeatTimeoutMs = ctx.info.heartbeatTimeoutMs;
  const liveness = setInterval(beat, heartbeatTimeoutMs ? Math.min(LIVENESS_TICK_MS, heartbeatTimeoutMs / 2) : LIVENESS_TICK_MS);
  try {
    const attempt = work(tracker).catch((error: unknown) => {
      // Once aborted, the reason (a watchdog's failure or cancellation) is the truth, not the
      // AbortError the interrupted call happened to throw.
      throw signal.aborted ? signal.reason : error;
    });
    try {
      return await Promise.race([attempt, watchdogFired, ctx.cancelled]);
    } catch (error) {
      // Aborted: give the work a moment to clean up (close the stream, CancelTask, kill the
      // process group) so the attempt ends only after it has really stopped.
      if (signal.aborted) await Promise.race([attempt.catch(() => undefined), sleep(CLEANUP_GRACE_MS, undefined, { ref: false })]);
      throw error;
    }
  } finally {
    clearInterval(liveness);
    clearTimeout(idleTimer);
    clearTimeout(totalTimer);
  }
}
