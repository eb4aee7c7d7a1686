/**
 * Watches of child runs' closes that hold no activity slot (issue 25).
 *
 * `awaitSessionRunClose` waits for a run to close, which may take hours. As a running activity
 * it held one of the worker's activity slots all that time, and a few roots with many
 * children starved every model and tool call on the worker. Now the activity hands its wait
 * to this book and completes asynchronously (CompleteAsyncError): its slot is free at once.
 * The watch then
 *  - heartbeats through the client, so a watch whose worker died times out on the activity's
 *    heartbeat timeout and is retried on another worker, as before;
 *  - learns from the heartbeat's answer that the workflow stopped waiting (the child
 *    reported), stops its long poll and reports the cancellation;
 *  - completes the activity with the run's close, or fails it (the activity's retry policy
 *    retries: the server unreachable, say).
 * The workflow side is unchanged: same activity, same options, same history.
 */
import { ActivityCancelledError, ActivityNotFoundError, type Client } from '@temporalio/client';
import type { RunCloseReport } from '../../common';

export interface CloseWatchOptions {
  /** How often a watch heartbeats: well within the activity's heartbeat timeout (60 s). */
  heartbeatMs?: number;
}

/** Heartbeats that may fail in a row (the server unreachable) before the watch gives up: the server has timed it out by then. */
const FAILED_BEATS_TOLERATED = 4;

export interface CloseWatches {
  /** Starts a watch for the activity `taskToken`, settled through `client`; `close(signal)` waits for the run's close and stops when `signal` aborts. */
  watch(client: Client, taskToken: Uint8Array, close: (signal: AbortSignal) => Promise<RunCloseReport>): void;
  /** Watches in progress in this process. */
  readonly size: number;
}

export function createCloseWatches({ heartbeatMs = 15_000 }: CloseWatchOptions = {}): CloseWatches {
  let live = 0;
  return {
    get size() {
      return live;
    },
    watch(client, taskToken, close) {
      live += 1;
      const stop = new AbortController();
      let failedBeats = 0;
      const beat = setInterval(() => {
        client.activity.heartbeat(taskToken).then(
          () => void (failedBeats = 0),
          (error: unknown) => {
            if (error instanceof ActivityCancelledError) {
              stop.abort();
              client.activity.reportCancellation(taskToken).catch(() => undefined);
            } else if (error instanceof ActivityNotFoundError || ++failedBeats > FAILED_BEATS_TOLERATED) {
              stop.abort(); // timed out, reset, its workflow closed: nobody waits for it any more
            }
          },
        );
      }, heartbeatMs);
      beat.unref(); // a watch never keeps the process alive
      close(stop.signal)
        .then(
          (report) => client.activity.complete(taskToken, report),
          (error: unknown) => (stop.signal.aborted ? undefined : client.activity.fail(taskToken, error)),
        )
        .catch(() => undefined) // the activity is gone (completed, timed out): nothing to settle
        .finally(() => {
          clearInterval(beat);
          live -= 1;
        });
    },
  };
}
