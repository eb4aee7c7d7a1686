/**
 * A child session's runs overlap from its parent's point of view: a run reports by signal
 * and closes a moment later, and the parent may want the next run in between. These tests
 * drive the parent's plain state (workflows/child-tracker.ts, workflows/run-watches.ts)
 * through those overlaps (issue 25).
 */
import { NOTHING, type Session, type Spend } from '../../common';
import { HANDLE_WATCH, RunWatches } from '../../workflows/run-watches';
import { completion, drainQueue, job, PARENT, spawnRunning, trackerSetup } from '../helpers/tracker';

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

describe('starts, reports and other runs of the session', () => {
  it('a follow-up for a child whose start is in flight is kept for the run after it, never signalled into the run still closing', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'first', true);
    const next = tracker.nextStart()!; // in flight
    const route = tracker.routeMessage('a', 'second');
    expect(route.kind).toBe('starting');
    expect(tracker.keepForNextRun(tracker.child('a')!, 'second')).toEqual({ ok: true, content: 'child session a is starting a run; the message starts the run after it' });
    tracker.started(tracker.child('a')!, 'a-run2');
    tracker.startSettled(next);
    tracker.onCompletion(completion('a', 'a-run2', 'completed'));
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run2', appendMessages: ['second'] }]);
  });

  it('a report that arrives before its run’s start is known is applied once the start names that run', () => {
    const { tracker } = trackerSetup();
    tracker.enqueue(job('a'), 'a');
    const next = tracker.nextStart()!;
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'quick' }));
    expect(tracker.child('a')!.status).toBe('pending');
    tracker.started(tracker.child('a')!, 'a-run1');
    tracker.startSettled(next);
    expect(tracker.child('a')).toMatchObject({ status: 'completed', finalResponse: 'quick', runId: 'a-run1' });
    expect(tracker.runningCount()).toBe(0);
  });

  it("a report of someone else's run of the session does not finish the child's own open run, nor release its share", () => {
    const { tracker, events } = trackerSetup({ budget: { maxSessions: 10 } });
    const share = tracker.reserve(1);
    if (!share.ok) throw new Error(share.message);
    tracker.enqueue(job('a'), 'a', share.reservation);
    const [first] = drainQueue(tracker);
    tracker.started(tracker.child(first.childSessionId)!, 'a-run1');
    tracker.onCompletion(completion('a', 'cli-run', 'error', { error: 'elsewhere' }));
    expect(tracker.child('a')).toMatchObject({ status: 'running', runId: 'a-run1', reservation: share.reservation });
    expect(events).toContainEqual({ type: 'sub_session_completed', childSessionId: 'a', status: 'error', error: 'elsewhere' });
    expect(tracker.onRunClosed('a', 'a-run1', { status: 'completed' })).toBe(true);
    expect(tracker.reserved()).toEqual(NOTHING);
  });

  it('a first spawn whose start found the session running adopts that run: its report is the child’s', () => {
    const { tracker } = trackerSetup();
    const session: Session = { id: 'a', kind: 'child', parentSessionId: PARENT, rootSessionId: PARENT, spawnDepth: 1, model: 'm', messages: [], metadata: {} };
    tracker.enqueue({ ...job('a'), session }, 'a');
    const spawn = tracker.nextStart()!;
    tracker.alreadyRunning(tracker.child('a')!, spawn, true);
    tracker.startSettled(spawn);
    tracker.onCompletion(completion('a', 'cli-run', 'completed', { finalResponse: 'theirs' }));
    expect(tracker.child('a')).toMatchObject({ status: 'completed', finalResponse: 'theirs', runId: 'cli-run' });
    expect(tracker.isDeferred('a')).toBe(false);
    expect(drainQueue(tracker)).toEqual([]);
  });

  it('cancelling a child whose start waits for an open run cancels it before it starts and releases its share', () => {
    const { tracker } = trackerSetup({ budget: { maxSessions: 10 } });
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    expect(tracker.restartWithMessage(tracker.child('a')!, 'again', true).ok).toBe(true);
    const [next] = drainQueue(tracker);
    tracker.alreadyRunning(tracker.child('a')!, next, true);
    expect(tracker.routeCancel('a')).toEqual({ kind: 'answered', outcome: { ok: true, content: 'child session a cancelled before it started' } });
    expect(tracker.child('a')).toMatchObject({ status: 'cancelled' });
    expect(tracker.reserved()).toEqual(NOTHING);
    tracker.onRunClosed('a', 'a-run1', { status: 'completed' });
    expect(drainQueue(tracker)).toEqual([]);
  });

  it('continue-as-new carries a start waiting for an open run as a queued start, tried again by the next run', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'again', true);
    const [next] = drainQueue(tracker);
    tracker.alreadyRunning(tracker.child('a')!, next, true);
    const carried = tracker.carried(true);
    expect(carried.children).toMatchObject([{ childSessionId: 'a', status: 'pending' }]);
    expect(carried.queued).toMatchObject([{ childSessionId: 'a', appendMessages: ['again'] }]);
    expect(tracker.child('a')!.status).toBe('running'); // this run's state is untouched
    const after = trackerSetup({}, JSON.parse(JSON.stringify(carried))).tracker;
    expect(drainQueue(after)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1' }]);
  });

  it('a child left running by a start recorded before deferred starts begins its next run when the run it waited on closes', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'lost once', true);
    const [next] = drainQueue(tracker);
    tracker.alreadyRunningAsRecorded(tracker.child('a')!, next);
    // As recorded, without the patch: nothing starts.
    tracker.onRunClosed('a', 'a-run1', { status: 'completed' }, () => false);
    expect(drainQueue(tracker)).toEqual([]);
    // Live again on this code (the patch applies): the close, watched again at the lease's end, starts the run.
    tracker.onRunClosed('a', 'a-run1', { status: 'completed' }, () => true);
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1', appendMessages: ['lost once'] }]);
  });
});

describe('found by the model-based tests (child-tracker.model.test.ts)', () => {
  it('a follow-up to a finished child takes the follow-ups already waiting on it along: one run answers them all', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'first', true);
    const next = tracker.nextStart()!;
    tracker.keepForNextRun(tracker.child('a')!, 'second'); // its run is starting
    tracker.startFailed(tracker.child('a')!, 'namespace not found');
    tracker.startSettled(next);
    tracker.restartWithMessage(tracker.child('a')!, 'third', true);
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', appendMessages: ['second', 'third'] }]);
    expect(tracker.child('a')!.pendingMessages).toBeUndefined();
  });

  it('cancelling a start that waits for an open run ends the follow-ups waiting with it: the cancelled child is not restarted by them', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'first', true);
    const next = tracker.nextStart()!;
    tracker.keepForNextRun(tracker.child('a')!, 'second');
    tracker.alreadyRunning(tracker.child('a')!, next, true); // a-run1 still closing
    tracker.startSettled(next);
    tracker.routeCancel('a');
    tracker.onRunClosed('a', 'a-run1', { status: 'completed' });
    expect(tracker.child('a')).toMatchObject({ status: 'cancelled' });
    expect(drainQueue(tracker)).toEqual([]);
  });

  it('a follow-up that missed its run while the child’s next run is already queued joins that run, not the one after it', () => {
    const { tracker } = trackerSetup({ maxRunningChildren: 1 });
    spawnRunning(tracker, 'a');
    tracker.enqueue(job('b'), 'b');
    const route = tracker.routeMessage('a', 'the follow-up'); // a is running: signalled
    expect(route.kind).toBe('signal');
    // a-run1 reports (leaving a message unanswered: its restart is queued behind b), then the signal finds it closed.
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    tracker.messageMissedRun(tracker.child('a')!, 'the follow-up');
    expect(tracker.child('a')!.pendingMessages).toBeUndefined();
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'b' }, { childSessionId: 'a', snapshotRunId: 'a-run1', appendMessages: ['the follow-up'] }]);
  });

  it('continue-as-new carries the follow-ups kept for a start waiting on an open run inside that start', () => {
    const { tracker } = trackerSetup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'first', true);
    const next = tracker.nextStart()!;
    tracker.keepForNextRun(tracker.child('a')!, 'second');
    tracker.alreadyRunning(tracker.child('a')!, next, true);
    tracker.startSettled(next);
    const carried = tracker.carried(true);
    expect(carried.queued).toMatchObject([{ childSessionId: 'a', appendMessages: ['first', 'second'] }]);
    expect(carried.children[0].pendingMessages).toBeUndefined();
  });
});
