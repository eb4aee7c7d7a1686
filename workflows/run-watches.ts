/**
 * Which child runs a parent is watching for their close, as plain state: children.ts turns
 * each watch into a child handle's result or an `awaitSessionRunClose` activity, and asks
 * this book whether a close that arrives is still wanted. No Temporal here, so the rules can
 * be unit-tested and driven by the model-based tests.
 *
 * A watch is keyed by the child session: one watch per child at a time.
 */

export interface Stoppable {
  stop(): void;
}

/** A watch that only waits for a handle's result: nothing to cancel. */
export const HANDLE_WATCH: Stoppable = Object.freeze({ stop: () => undefined });

export class RunWatches<W extends Stoppable = Stoppable> {
  private readonly live = new Map<string, W>();

  /** Watches a child's run (`runId` absent: the session's current run, whichever it is). */
  add(childSessionId: string, _runId: string | undefined, watch: W): void {
    this.live.set(childSessionId, watch);
  }

  /** A watch of that run (or of the child's current run) is live. */
  has(childSessionId: string, _runId?: string): boolean {
    return this.live.has(childSessionId);
  }

  /** The close of a run watched by its handle: still wanted unless the child reported first. */
  wanted(childSessionId: string, _runId: string): boolean {
    return this.live.has(childSessionId);
  }

  /** A handle's run has closed: its watch is over. */
  handleClosed(childSessionId: string, _runId: string): void {
    this.live.delete(childSessionId);
  }

  /** An activity watch resolved: it is over, unless another has replaced it meanwhile. */
  resolved(childSessionId: string, _runId: string | undefined, watch: W): boolean {
    if (this.live.get(childSessionId) !== watch) return false;
    this.live.delete(childSessionId);
    return true;
  }

  /** The child reported a run (`runId`): its watch is no longer needed. */
  reported(childSessionId: string, _runId: string): void {
    this.live.get(childSessionId)?.stop();
    this.live.delete(childSessionId);
  }
}
