/**
 * Which child runs a parent is watching for their close, as plain state: children.ts turns
 * each watch into a child handle's result or an `awaitSessionRunClose` activity, and asks
 * this book whether a close that arrives is still wanted. No Temporal here, so the rules can
 * be unit-tested and driven by the model-based tests.
 *
 * A watch is keyed by run (issue 25): a child's runs overlap as the parent sees them — a run
 * reports, then closes a moment later, when the next one may already have started — and the
 * late close of one run must never end, or stand in for, the watch of another.
 */

export interface Stoppable {
  stop(): void;
}

/** A watch that only waits for a handle's result: nothing to cancel. */
export const HANDLE_WATCH: Stoppable = Object.freeze({ stop: () => undefined });

/** A watch of the session's current run, whichever it is (a start deferred until it closes). */
const CURRENT_RUN = '*';

export class RunWatches<W extends Stoppable = Stoppable> {
  /** Per child, its watches by run id (or CURRENT_RUN). */
  private readonly live = new Map<string, Map<string, W>>();

  /** Watches a child's run (`runId` absent: the session's current run, whichever it is). */
  add(childSessionId: string, runId: string | undefined, watch: W): void {
    const runs = this.live.get(childSessionId) ?? new Map<string, W>();
    runs.set(runId ?? CURRENT_RUN, watch);
    this.live.set(childSessionId, runs);
  }

  /** A watch of that run (or of the child's current run) is live. */
  has(childSessionId: string, runId?: string): boolean {
    return this.live.get(childSessionId)?.has(runId ?? CURRENT_RUN) ?? false;
  }

  /** Any watch of the child is live: the test before run-keyed watches. */
  hasAnyFor(childSessionId: string): boolean {
    return this.live.has(childSessionId);
  }

  /** The close of a run watched by its handle: still wanted unless the child reported first. */
  wanted(childSessionId: string, runId: string): boolean {
    return this.has(childSessionId, runId);
  }

  /** A handle's run has closed: its watch is over (no other run's). */
  handleClosed(childSessionId: string, runId: string): void {
    this.remove(childSessionId, runId);
  }

  /** An activity watch resolved: it is over, unless another has replaced it meanwhile. */
  resolved(childSessionId: string, runId: string | undefined, watch: W): boolean {
    if (this.live.get(childSessionId)?.get(runId ?? CURRENT_RUN) !== watch) return false;
    this.remove(childSessionId, runId);
    return true;
  }

  /**
   * The child reported run `runId`: that run's watch is no longer needed, nor a watch of the
   * session's current run (the open run a deferred start waits for has reported: the start is
   * tried again). Watches of the child's other runs go on.
   */
  reported(childSessionId: string, runId: string): void {
    for (const run of [runId, undefined]) {
      this.live.get(childSessionId)?.get(run ?? CURRENT_RUN)?.stop();
      this.remove(childSessionId, run);
    }
  }

  /** Histories recorded before run-keyed watches: a run's close ended every watch of its child, unstopped. */
  forgetAllOf(childSessionId: string): void {
    this.live.delete(childSessionId);
  }

  private remove(childSessionId: string, runId: string | undefined): void {
    const runs = this.live.get(childSessionId);
    runs?.delete(runId ?? CURRENT_RUN);
    if (runs?.size === 0) this.live.delete(childSessionId);
  }
}
