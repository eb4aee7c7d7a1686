/**
 * A child session's runs overlap from its parent's point of view: a run reports by signal
 * and closes a moment later, and the parent may want the next run in between. These tests
 * drive the parent's plain state (workflows/child-tracker.ts, workflows/run-watches.ts)
 * through those overlaps (issue 25).
 */
import { NOTHING, type Spend } from '../../common';
import { HANDLE_WATCH, RunWatches } from '../../workflows/run-watches';
import { completion, drainQueue, job, spawnRunning, trackerSetup } from '../helpers/tracker';

const SPENT: Spend = { usage: { inputTokens: 3, outputTokens: 2 }, costMicroUsd: 0, unpricedCalls: 0 };

describe('a next run that finds the reported run still closing', () => {
  it('a follow-up whose start found the reported run still closing starts once that run has closed', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    // a-run1 reports by signal; its close comes a moment later.
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'draft' }));
    tracker.restartWithMessage(tracker.child('a')!, 'next question', true);
    const [next] = drainQueue(tracker);
    tracker.alreadyRunning(tracker.child('a')!, next, true); // "already started": a-run1 is still open

    // The only close that can come now is a-run1's, whose report was already applied.
    expect(tracker.onRunClosed('a', 'a-run1', { status: 'completed' })).toBe(false);
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1', appendMessages: ['next question'] }]);
    tracker.started(tracker.child('a')!, 'a-run2');
    tracker.onCompletion(completion('a', 'a-run2', 'completed', { finalResponse: 'answered' }));
    expect(tracker.child('a')).toMatchObject({ status: 'completed', finalResponse: 'answered', awaited: true });
    expect(tracker.runningCount()).toBe(0);
  });

  it('a run that left messages unanswered is restarted once it has closed, and the restart’s budget share is released when it reports', () => {
    const { tracker } = trackerSetup({ budget: { maxSessions: 10 } });
    const share = tracker.reserve(1);
    if (!share.ok) throw new Error(share.message);
    tracker.enqueue(job('a'), 'a', share.reservation);
    const [first] = drainQueue(tracker);
    tracker.started(tracker.child(first.childSessionId)!, 'a-run1');
    tracker.beginWaitIfNeeded();

    // The restart is queued in the same workflow task as the report, racing the run's close.
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1, subtreeSpend: SPENT }));
    const [restart] = drainQueue(tracker);
    expect(restart).toMatchObject({ childSessionId: 'a', snapshotRunId: 'a-run1' });
    tracker.alreadyRunning(tracker.child('a')!, restart, true);

    tracker.onRunClosed('a', 'a-run1', { status: 'completed', subtreeSpend: SPENT });
    const [again] = drainQueue(tracker);
    expect(again).toMatchObject({ childSessionId: 'a', snapshotRunId: 'a-run1' });
    tracker.started(tracker.child('a')!, 'a-run2');
    tracker.onCompletion(completion('a', 'a-run2', 'completed', { subtreeSpend: SPENT }));

    expect(tracker.reserved()).toEqual(NOTHING);
    expect(tracker.waitSatisfied()).toBe(true);
    expect(tracker.spent().sessions).toBe(2);
  });
});

describe('watches of a child’s runs', () => {
  it('a late close of a run the child reported neither is wanted nor ends the watch of its newer run', () => {
    const watches = new RunWatches();
    watches.add('a', 'a-run1', HANDLE_WATCH);
    watches.reported('a', 'a-run1'); // a-run1 reported by signal
    watches.add('a', 'a-run2', HANDLE_WATCH); // the next run started before a-run1's close reached the parent

    expect(watches.wanted('a', 'a-run1')).toBe(false);
    watches.handleClosed('a', 'a-run1');
    // a-run2 is terminated: it never reports, so its close is the only way the parent learns of it.
    expect(watches.wanted('a', 'a-run2')).toBe(true);
  });

  it('an activity watch of one run is neither found nor stopped through another run of the same child', () => {
    const stopped: string[] = [];
    const watches = new RunWatches();
    watches.add('a', 'a-run1', { stop: () => stopped.push('a-run1') });
    expect(watches.has('a', 'a-run2')).toBe(false);
    watches.reported('a', 'a-run2');
    expect(stopped).toEqual([]);
    expect(watches.has('a', 'a-run1')).toBe(true);
  });
});
