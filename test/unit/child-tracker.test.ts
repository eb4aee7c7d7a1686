/**
 * The parent's children as plain state (workflows/child-tracker.ts): no server, no worker —
 * a tracker, a fake clock and the events it records.
 */
import { CarriedChildrenSchema, FINAL_RESPONSE_CAP, SessionOptionsSchema } from '../../common';
import { COMPLETION_KEYS_CARRIED, ORPHANED_START_LOST, REPORTED_CHILDREN_CARRIED } from '../../workflows/child-tracker';
import { completion, drainQueue, job, PARENT, spawnRunning, T0, trackerSetup } from '../helpers/tracker';

const setup = trackerSetup;

describe('ChildTracker: completions', () => {
  it('applies a completion once per (child id, run id), whichever path reports first', () => {
    const { tracker, events } = setup();
    spawnRunning(tracker, 'a');
    const fromRun = tracker.completionOfRun('a', 'a-run1', { status: 'timeout', error: 'execution timed out' });
    expect(tracker.onCompletion(fromRun)).toBe(true);
    expect(tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'late answer' }))).toBe(false);
    expect(tracker.child('a')).toMatchObject({ status: 'timeout', error: 'execution timed out', finalResponse: undefined });
    expect(events.filter((e) => e.type === 'sub_session_completed')).toHaveLength(1);
  });

  it('ignores a duplicate without reporting the child again', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'done' }));
    tracker.beginWaitIfNeeded();
    tracker.takeResumeMessage(false);
    expect(tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'done' }))).toBe(false);
    expect(tracker.child('a')).toMatchObject({ reported: true, awaited: false });
    expect(tracker.hasAwaitedChildren()).toBe(false);
  });

  it('treats the next run of the same child as a new completion', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    expect(tracker.onCompletion(completion('a', 'a-run1', 'completed'))).toBe(true);
    expect(tracker.onCompletion(completion('a', 'a-run2', 'error', { error: 'boom' }))).toBe(true);
    expect(tracker.child('a')).toMatchObject({ runId: 'a-run2', status: 'error', error: 'boom' });
  });

  it('tracks a child it did not start from its completion on, unawaited', () => {
    const { tracker } = setup();
    expect(tracker.onCompletion(completion('stranger', 'r1', 'completed', { finalResponse: 'hi' }))).toBe(true);
    expect(tracker.child('stranger')).toMatchObject({ title: 'stranger', status: 'completed', awaited: false, reported: false, runId: 'r1' });
    tracker.beginWaitIfNeeded();
    expect(tracker.waiting).toBeNull();
  });

  it('caps a final answer at FINAL_RESPONSE_CAP characters', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'x'.repeat(FINAL_RESPONSE_CAP + 50) }));
    expect(tracker.child('a')!.finalResponse).toHaveLength(FINAL_RESPONSE_CAP);
  });

  it('stamps a completion read from the run with the injected clock', () => {
    const { tracker, clock } = setup();
    clock.ms = T0 + 1234;
    expect(tracker.completionOfRun('a', 'r1', { status: 'cancelled', error: 'x' })).toEqual({
      parentSessionId: PARENT,
      childSessionId: 'a',
      runId: 'r1',
      status: 'cancelled',
      error: 'x',
      completedAt: '2030-01-01T00:00:01.234Z',
    });
  });
});

describe('ChildTracker: the wait', () => {
  it('begins only when an awaited child has not been reported', () => {
    const { tracker } = setup();
    tracker.beginWaitIfNeeded();
    expect(tracker.waiting).toBeNull();
    expect(tracker.waitSatisfied()).toBe(false);
    spawnRunning(tracker, 'a');
    tracker.beginWaitIfNeeded();
    expect(tracker.waiting).toEqual({ policy: 'all', leaseExpiresAt: new Date(T0 + 6 * 60 * 60 * 1000).toISOString() });
  });

  it('is satisfied at once when no awaited child is left (an empty wait, e.g. carried across continue-as-new)', () => {
    const { tracker } = setup({}, { children: [], queued: [], seenCompletions: [], waiting: { policy: 'all', leaseExpiresAt: new Date(T0 + 1000).toISOString() } });
    expect(tracker.waitSatisfied()).toBe(true);
  });

  it('all: holds once every awaited child has finished', () => {
    const { tracker } = setup({ waitPolicy: 'all' });
    spawnRunning(tracker, 'a', 'b');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'error', { error: 'boom' }));
    expect(tracker.waitSatisfied()).toBe(false);
    tracker.onCompletion(completion('b', 'b-run1', 'completed'));
    expect(tracker.waitSatisfied()).toBe(true);
  });

  it('any: holds at the first finished child, success or not', () => {
    const { tracker } = setup({ waitPolicy: 'any' });
    spawnRunning(tracker, 'a', 'b');
    tracker.beginWaitIfNeeded();
    expect(tracker.waitSatisfied()).toBe(false);
    tracker.onCompletion(completion('b', 'b-run1', 'completed'));
    expect(tracker.waitSatisfied()).toBe(true);
  });

  it('first_error: holds at the first child that did not complete', () => {
    const { tracker } = setup({ waitPolicy: 'first_error' });
    spawnRunning(tracker, 'a', 'b', 'c');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    expect(tracker.waitSatisfied()).toBe(false);
    tracker.onCompletion(completion('b', 'b-run1', 'cancelled', { error: 'Child session cancelled' }));
    expect(tracker.waitSatisfied()).toBe(true);
  });

  it('first_error: holds when all are done, every one completed', () => {
    const { tracker } = setup({ waitPolicy: 'first_error' });
    spawnRunning(tracker, 'a', 'b');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    expect(tracker.waitSatisfied()).toBe(false);
    tracker.onCompletion(completion('b', 'b-run1', 'completed'));
    expect(tracker.waitSatisfied()).toBe(true);
  });

  it('the lease expires waitLeaseSecs after the wait began, by the injected clock', () => {
    const { tracker, clock } = setup({ waitLeaseSecs: 60 });
    spawnRunning(tracker, 'a');
    tracker.beginWaitIfNeeded();
    expect(tracker.leaseRemainingMs()).toBe(60_000);
    clock.ms += 45_000;
    tracker.beginWaitIfNeeded(); // a wait in progress keeps its lease
    expect(tracker.leaseRemainingMs()).toBe(15_000);
    clock.ms += 20_000;
    expect(tracker.leaseRemainingMs()).toBe(0);
  });

  it('without a wait there is no lease left', () => {
    const { tracker } = setup();
    expect(tracker.leaseRemainingMs()).toBe(0);
  });
});

describe('ChildTracker: the resume message', () => {
  it('names each finished child with its status and answer or error, then the remaining count (exact text)', () => {
    const { tracker } = setup({ waitPolicy: 'any' });
    spawnRunning(tracker, 'a', 'b', 'c');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'the answer' }));
    tracker.onCompletion(completion('b', 'b-run1', 'timeout', { error: 'Child session timed out after 4 seconds (max_total_secs=4)' }));
    expect(tracker.takeResumeMessage(false)).toBe(
      [
        'Runtime notification: child session `a` (“title of a”) finished with status `completed`.\nthe answer',
        'Runtime notification: child session `b` (“title of b”) finished with status `timeout`.\nError: Child session timed out after 4 seconds (max_total_secs=4)',
        'Remaining child sessions: 1.',
      ].join('\n\n'),
    );
    expect(tracker.waiting).toBeNull();
  });

  it('reports each finished child once; children still running stay awaited', () => {
    const { tracker } = setup({ waitPolicy: 'any' });
    spawnRunning(tracker, 'a', 'b');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'A' }));
    tracker.takeResumeMessage(false);
    expect(tracker.child('b')).toMatchObject({ awaited: true, reported: false });
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('b', 'b-run1', 'completed'));
    const second = tracker.takeResumeMessage(false);
    expect(second).not.toContain('`a`');
    expect(second).toBe('Runtime notification: child session `b` (“title of b”) finished with status `completed`.\n(no answer)\n\nRemaining child sessions: 0.');
  });

  it('says so first when the lease expired, and falls back to the status for an error without text', () => {
    const { tracker, clock } = setup({ waitLeaseSecs: 30 });
    spawnRunning(tracker, 'a', 'b');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'skipped'));
    clock.ms += 30_000;
    expect(tracker.leaseRemainingMs()).toBe(0);
    expect(tracker.takeResumeMessage(true)).toBe(
      [
        'Runtime notification: the wait for child sessions expired after 30 seconds; they keep running.',
        'Runtime notification: child session `a` (“title of a”) finished with status `skipped`.\nError: skipped',
        'Remaining child sessions: 1.',
      ].join('\n\n'),
    );
  });
});

describe('ChildTracker: backpressure', () => {
  it('starts at most maxRunningChildren runs; the rest queue until a run finishes', () => {
    const { tracker } = setup({ maxRunningChildren: 2 });
    for (const id of ['a', 'b', 'c']) tracker.enqueue(job(id), id);
    const first = tracker.nextStart()!;
    const second = tracker.nextStart()!;
    expect([first.childSessionId, second.childSessionId]).toEqual(['a', 'b']);
    expect(tracker.isStarting()).toBe(true);
    expect(tracker.runningCount()).toBe(2); // starts in flight count as running
    expect(tracker.hasRoom()).toBe(false);
    expect(tracker.nextStart()).toBeUndefined();

    tracker.started(tracker.child('a')!, 'a-run1');
    tracker.startSettled(first);
    tracker.started(tracker.child('b')!, 'b-run1');
    tracker.startSettled(second);
    expect(tracker.isStarting()).toBe(false);
    expect(tracker.runningCount()).toBe(2);
    expect(tracker.nextStart()).toBeUndefined();

    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    expect(tracker.runningCount()).toBe(1);
    expect(tracker.nextStart()?.childSessionId).toBe('c');
  });

  it('a start that failed frees its slot and finishes the child with the reason', () => {
    const { tracker } = setup({ maxRunningChildren: 1 });
    tracker.enqueue(job('a'), 'a');
    tracker.enqueue(job('b'), 'b');
    const next = tracker.nextStart()!;
    tracker.startFailed(tracker.child(next.childSessionId)!, 'namespace not found');
    tracker.startSettled(next);
    expect(tracker.child('a')).toMatchObject({ status: 'error', error: 'could not start child session: namespace not found' });
    expect(tracker.nextStart()?.childSessionId).toBe('b');
  });

  it('records a started run with its first run id, once', () => {
    const { tracker, events } = setup();
    spawnRunning(tracker, 'a');
    expect(tracker.child('a')).toMatchObject({ status: 'running', runId: 'a-run1' });
    expect(events).toEqual([{ type: 'sub_session_started', childSessionId: 'a', title: 'title of a' }]);
  });
});

describe('ChildTracker: follow-ups', () => {
  it('a follow-up to a queued child joins its start', () => {
    const { tracker } = setup({ maxRunningChildren: 1 });
    tracker.enqueue(job('a'), 'a');
    tracker.enqueue(job('b'), 'b');
    const starting = tracker.nextStart()!;
    expect(tracker.routeMessage('b', 'also this')).toEqual({ kind: 'answered', outcome: { ok: true, content: 'message added to the queued child session b' } });
    tracker.startSettled(starting);
    expect(tracker.nextStart()).toMatchObject({ childSessionId: 'b', appendMessages: ['also this'] });
  });

  it('a follow-up to a running child is for its run, delivered by signal', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    const route = tracker.routeMessage('a', 'more');
    expect(route).toEqual({ kind: 'signal', child: tracker.child('a') });
    expect(tracker.messageDelivered(tracker.child('a')!)).toEqual({ ok: true, content: 'message queued into the running child session a' });
  });

  it('a follow-up that missed a closing run queues a restart from the snapshot of the run that reported, once it reports', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    const route = tracker.routeMessage('a', 'did you check X?');
    expect(route.kind).toBe('signal');
    expect(tracker.messageMissedRun(tracker.child('a')!, 'did you check X?')).toEqual({
      ok: true,
      content: 'child session a finished before the message reached it; the message starts its next run',
    });
    expect(tracker.nextStart()).toBeUndefined(); // the run has not reported yet

    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'done' }));
    expect(tracker.child('a')).toMatchObject({ status: 'pending', awaited: true, reported: false, finalResponse: undefined, pendingMessages: undefined });
    const [restart] = drainQueue(tracker);
    expect(restart).toEqual({
      parentSessionId: PARENT,
      childSessionId: 'a',
      model: 'scripted-model',
      snapshotRunId: 'a-run1',
      appendMessages: ['did you check X?'],
      spawnOptions: SessionOptionsSchema.parse({}),
    });
  });

  it('a follow-up that missed a run already reported restarts the child at once', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.routeMessage('a', 'late');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.messageMissedRun(tracker.child('a')!, 'late');
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1', appendMessages: ['late'] }]);
  });

  it("a start that found someone else's run of the session open waits for it, then starts from its snapshot", () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'next question', true);
    const [next] = drainQueue(tracker);
    tracker.alreadyRunning(tracker.child('a')!, next, true);
    expect(tracker.child('a')).toMatchObject({ status: 'running' });
    expect(tracker.isDeferred('a')).toBe(true);
    // The open run (started elsewhere) reports: the job waiting for it starts the next run.
    tracker.onCompletion(completion('a', 'a-run2', 'completed'));
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run2', appendMessages: ['next question'] }]);
  });

  it('a duplicate completion still restarts a child whose follow-ups wait', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.child('a')!.pendingMessages = ['waiting'];
    expect(tracker.onCompletion(completion('a', 'a-run1', 'completed'))).toBe(false);
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1', appendMessages: ['waiting'] }]);
  });

  it('a run that reports again, counting messages that reached it after its report, restarts its child once', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    expect(tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }))).toBe(false);
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1' }]);
    expect(tracker.child('a')).toMatchObject({ status: 'pending', awaited: true });
    // A third report while that run is queued adds nothing: the run loads the final snapshot.
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 2 }));
    expect(drainQueue(tracker)).toEqual([]);
  });

  it('a late report of an older run does not restart a child its next run has already answered', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    const restart = tracker.nextStart()!;
    tracker.started(tracker.child('a')!, 'a-run2');
    tracker.startSettled(restart);
    tracker.onCompletion(completion('a', 'a-run2', 'completed'));
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    expect(drainQueue(tracker)).toEqual([]);
    expect(tracker.child('a')).toMatchObject({ status: 'completed', runId: 'a-run2' });
  });

  it('reports again only in runs that may (the caller’s patch check)', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }), () => false);
    expect(drainQueue(tracker)).toEqual([]);
  });

  it('a late report that arrives while the first waits for its start to name the run restarts the child once it is named', () => {
    const { tracker } = setup();
    tracker.enqueue(job('a'), 'a');
    const start = tracker.nextStart()!;
    tracker.onCompletion(completion('a', 'a-run1', 'completed')); // held: the start has not said its run id
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    tracker.started(tracker.child('a')!, 'a-run1');
    tracker.startSettled(start);
    expect(drainQueue(tracker)).toMatchObject([{ childSessionId: 'a', snapshotRunId: 'a-run1' }]);
  });

  it('once the parent run ends (close) nothing starts: queued jobs are cancelled, a late report restarts nothing', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.enqueue(job('b'), 'b');
    tracker.close();
    expect(tracker.child('b')).toMatchObject({ status: 'cancelled' });
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    expect(tracker.hasQueued()).toBe(false);
    expect(tracker.child('a')).toMatchObject({ status: 'completed' });
    expect(tracker.nextStart()).toBeUndefined();
  });

  it('a start in flight when the parent run ends, that found a run open, is cancelled once that run closes — not started', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'one more thing', true);
    const start = tracker.nextStart()!;
    tracker.close();
    tracker.alreadyRunning(tracker.child('a')!, start, true); // a-run1 is still closing
    tracker.startSettled(start);
    tracker.onRunClosed('a', 'a-run1', { status: 'completed' });
    expect(tracker.child('a')).toMatchObject({ status: 'cancelled' });
    expect(tracker.hasQueued()).toBe(false);
    expect(tracker.nextStart()).toBeUndefined();
  });

  it('a late report does not restart a child the parent cancelled since', () => {
    const { tracker } = setup({ maxRunningChildren: 1 });
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'more', true);
    tracker.routeCancel('a'); // still queued: cancelled before it started
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    expect(tracker.child('a')).toMatchObject({ status: 'cancelled' });
    expect(tracker.hasQueued()).toBe(false);
  });

  it('a late report restarts a child whose restart could not start: the message that reached the run after its report is answered', () => {
    const { tracker } = setup({ maxRunningChildren: 1 });
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.restartWithMessage(tracker.child('a')!, 'more', true);
    const [restart] = drainQueue(tracker);
    tracker.startFailed(tracker.child('a')!, 'namespace not found', restart);
    expect(tracker.child('a')).toMatchObject({ status: 'error' });
    // The first run took a message in after it had reported, and reports again counting it.
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 }));
    expect(tracker.child('a')).toMatchObject({ status: 'pending' });
    const [next] = drainQueue(tracker);
    // The next run answers both: the follow-up whose start failed, and the late one.
    expect(next).toMatchObject({ childSessionId: 'a', snapshotRunId: 'a-run1', appendMessages: ['more'] });
    expect(restart.childSessionId).toBe('a');
  });

  it('once the parent run ends, a restart is refused rather than queued', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.close();
    expect(tracker.restartWithMessage(tracker.child('a')!, 'more', true)).toMatchObject({ ok: false });
    expect(tracker.child('a')).toMatchObject({ status: 'completed' });
    expect(tracker.hasQueued()).toBe(false);
  });

  it('a run that left injected messages unanswered is restarted from its snapshot so they get an answer', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 2 }));
    expect(tracker.child('a')).toMatchObject({ status: 'pending', awaited: true });
    const [restart] = drainQueue(tracker);
    expect(restart).toMatchObject({ childSessionId: 'a', snapshotRunId: 'a-run1' });
    expect(restart.appendMessages).toBeUndefined();
  });

  it('a child this session did not start is neither restarted nor sent follow-ups', () => {
    const { tracker } = setup();
    tracker.onCompletion(completion('stranger', 'r1', 'completed', { unansweredMessages: 1 }));
    expect(tracker.child('stranger')!.status).toBe('completed');
    expect(drainQueue(tracker)).toEqual([]);
    expect(tracker.routeMessage('stranger', 'hi')).toEqual({
      kind: 'answered',
      outcome: { ok: false, content: 'Error: child session stranger was not started by this session' },
    });
  });

  it('a follow-up to a finished child restarts it with the message (from the reported run when reconciling)', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a', 'b');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.onCompletion(completion('b', 'b-run1', 'completed'));
    expect(tracker.routeMessage('a', 'again')).toEqual({ kind: 'restart', child: tracker.child('a') });
    expect(tracker.restartWithMessage(tracker.child('a')!, 'again', true)).toEqual({ ok: true, content: 'child session a restarted with the message' });
    tracker.restartWithMessage(tracker.child('b')!, 'again', false);
    expect(drainQueue(tracker)).toEqual([
      { parentSessionId: PARENT, childSessionId: 'a', model: 'scripted-model', appendMessages: ['again'], snapshotRunId: 'a-run1', spawnOptions: SessionOptionsSchema.parse({}) },
      { parentSessionId: PARENT, childSessionId: 'b', model: 'scripted-model', appendMessages: ['again'] },
    ]);
    expect(tracker.child('a')).toMatchObject({ status: 'pending', awaited: true, reported: false });
  });

  it('get describes a tracked child as JSON and refuses an unknown one', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    expect(tracker.describeChild('a')).toEqual({ ok: true, content: JSON.stringify(tracker.child('a')) });
    expect(tracker.describeChild('nope')).toEqual({ ok: false, content: 'Error: no child session nope' });
  });

  it('a follow-up to an unknown child is refused', () => {
    const { tracker } = setup();
    expect(tracker.routeMessage('nope', 'hi')).toEqual({ kind: 'answered', outcome: { ok: false, content: 'Error: no child session nope' } });
  });
});

describe('ChildTracker: cancelling one child', () => {
  it('a queued child is cancelled before it starts and leaves the queue', () => {
    const { tracker, events } = setup({ maxRunningChildren: 1 });
    tracker.enqueue(job('a'), 'a');
    tracker.enqueue(job('b'), 'b');
    const starting = tracker.nextStart()!;
    expect(tracker.routeCancel('b')).toEqual({ kind: 'answered', outcome: { ok: true, content: 'child session b cancelled before it started' } });
    expect(tracker.child('b')).toMatchObject({ status: 'cancelled', error: 'Cancelled by parent before it started' });
    expect(events).toContainEqual({ type: 'sub_session_completed', childSessionId: 'b', status: 'cancelled', error: 'Cancelled by parent before it started' });
    tracker.startSettled(starting);
    expect(tracker.nextStart()).toBeUndefined();
  });

  it('a running child needs its run cancelled; the texts say what happened', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    const route = tracker.routeCancel('a');
    expect(route).toEqual({ kind: 'cancel', child: tracker.child('a') });
    expect(tracker.cancelRequested(tracker.child('a')!)).toEqual({ ok: true, content: 'cancellation of child session a requested' });
    expect(tracker.cancelMissedRun(tracker.child('a')!)).toEqual({
      ok: true,
      content: 'child session a is not running any more: its run closed before the cancellation reached it',
    });
  });

  it('a finished child is not running; an unknown child is refused', () => {
    const { tracker } = setup();
    spawnRunning(tracker, 'a');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    expect(tracker.routeCancel('a')).toEqual({ kind: 'answered', outcome: { ok: true, content: 'child session a is not running (status completed)' } });
    expect(tracker.routeCancel('nope')).toEqual({ kind: 'answered', outcome: { ok: false, content: 'Error: no child session nope' } });
  });

  it('cancelling all queued children finishes each as cancelled without starting it', () => {
    const { tracker } = setup({ maxRunningChildren: 1 });
    spawnRunning(tracker, 'a');
    tracker.enqueue(job('b'), 'b');
    tracker.enqueue(job('c'), 'c');
    tracker.cancelQueued();
    expect(tracker.summary()).toEqual([
      { childSessionId: 'a', status: 'running' },
      { childSessionId: 'b', status: 'cancelled' },
      { childSessionId: 'c', status: 'cancelled' },
    ]);
    expect(tracker.running().map((c) => c.childSessionId)).toEqual(['a']);
  });
});

describe('ChildTracker: the state query', () => {
  it('names each child with its title and error text, each cut to a bound: 64 children with 100 KB titles and errors stay under 64 KB', () => {
    const { tracker } = setup({ maxRunningChildren: 64 });
    const ids = Array.from({ length: 64 }, (_, i) => `c${i}`);
    for (const id of ids) tracker.enqueue(job(id), `${id} ${'t'.repeat(100_000)}`);
    drainQueue(tracker).forEach((j) => tracker.started(tracker.child(j.childSessionId)!, `${j.childSessionId}-run1`));
    for (const id of ids) tracker.onCompletion(completion(id, `${id}-run1`, 'error', { error: `upstream said ${'e'.repeat(100_000)}` }));
    const summary = tracker.summary(true);
    expect(summary).toHaveLength(64);
    expect(summary[0].title?.startsWith('c0 ttt')).toBe(true);
    expect(summary[0].error?.startsWith('upstream said eee')).toBe(true);
    expect(JSON.stringify(summary).length).toBeLessThan(64 * 1024);
  });
});

describe('ChildTracker: state carried across continue-as-new', () => {
  function manyReported(count: number) {
    const { tracker } = setup({ maxRunningChildren: 1000 });
    for (let i = 0; i < count; i += 1) {
      const id = `c${i}`;
      spawnRunning(tracker, id);
      tracker.onCompletion(completion(id, `${id}-run1`, i % 2 ? 'completed' : 'error', { finalResponse: 'answer', error: i % 2 ? undefined : 'e'.repeat(500) }));
    }
    tracker.beginWaitIfNeeded();
    tracker.takeResumeMessage(false);
    return tracker;
  }

  it(`carries every unreported child, at most ${REPORTED_CHILDREN_CARRIED} reported ones without answers, and at most ${COMPLETION_KEYS_CARRIED} completion keys`, () => {
    const tracker = manyReported(1100);
    spawnRunning(tracker, 'still-running');
    tracker.onCompletion(completion('with-follow-up', 'r1', 'completed'));
    tracker.child('with-follow-up')!.reported = true;
    tracker.child('with-follow-up')!.pendingMessages = ['waiting'];

    const carried = tracker.carried(true);
    const reported = carried.children.filter((c) => c.reported && !c.pendingMessages);
    expect(reported).toHaveLength(REPORTED_CHILDREN_CARRIED);
    expect(reported[0].childSessionId).toBe('c900'); // the most recent ones
    expect(reported.every((c) => c.finalResponse === undefined && (c.error ?? '').length <= 300)).toBe(true);
    expect(carried.children.map((c) => c.childSessionId)).toEqual(expect.arrayContaining(['still-running', 'with-follow-up']));
    expect(carried.seenCompletions).toHaveLength(COMPLETION_KEYS_CARRIED);
    expect(carried.seenCompletions.at(-1)).toBe('with-follow-up/r1');
  });

  it('carries everything, answers included, in runs recorded before reconciliation', () => {
    const tracker = manyReported(250);
    const carried = tracker.carried(false);
    expect(carried.children).toHaveLength(250);
    expect(carried.children[0].finalResponse).toBe('answer');
    expect(carried.seenCompletions).toHaveLength(250);
  });

  it('a tracker built from carried state keeps the wait, the queue and the completion keys', () => {
    const { tracker, clock } = setup({ maxRunningChildren: 1, waitLeaseSecs: 100 });
    spawnRunning(tracker, 'a');
    tracker.enqueue(job('b'), 'b');
    tracker.beginWaitIfNeeded();
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));

    const next = setup({ maxRunningChildren: 1, waitLeaseSecs: 100 }, structuredClone(tracker.carried(true)));
    next.clock.ms = clock.ms + 40_000;
    expect(next.tracker.onCompletion(completion('a', 'a-run1', 'completed'))).toBe(false);
    expect(next.tracker.leaseRemainingMs()).toBe(60_000);
    expect(next.tracker.nextStart()?.childSessionId).toBe('b');
    expect(next.tracker.waitSatisfied()).toBe(false); // b is still awaited
  });

  it('a child carried pending with no job (a continuation from before the queue was carried) ends with an error saying so, its share released, not started again', () => {
    const options = { budget: { maxTokens: 10_000, maxSessions: 10 } };
    const { tracker } = setup(options);
    spawnRunning(tracker, 'a', 'b');
    tracker.onCompletion(completion('a', 'a-run1', 'completed'));
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { unansweredMessages: 1 })); // restart queued
    tracker.enqueue(job('never-ran'), 'never ran', { tokens: 100, costMicroUsd: 0, sessions: 1 });
    const carried = structuredClone(tracker.carried(true));
    const old = { ...carried, queued: [] }; // what such a continuation carried
    expect(tracker.reserved().sessions).toBe(2);

    const next = setup(options, structuredClone(old)).tracker;
    expect(next.orphanedPending().map((c) => c.childSessionId)).toEqual(['a', 'never-ran']);
    next.repairOrphanedPending();
    expect(next.orphanedPending()).toEqual([]);
    expect(drainQueue(next)).toEqual([]);
    for (const id of ['a', 'never-ran']) expect(next.child(id)).toMatchObject({ status: 'error', error: ORPHANED_START_LOST, reservation: undefined });
    expect(next.child('b')).toMatchObject({ status: 'running' });
    expect(next.reserved().sessions).toBe(0);
    // The wait ends: the parent's next turn hears of both.
    next.beginWaitIfNeeded();
    expect(next.takeResumeMessage(false)).toContain(ORPHANED_START_LOST);
    // State carried with its queue has no orphan.
    expect(setup(options, carried).tracker.orphanedPending()).toEqual([]);
  });

  it('is quiet, as a child session needs to continue-as-new, only with no child run open or queued and no wait open', () => {
    const { tracker } = setup({ maxRunningChildren: 1 });
    expect(tracker.isQuiet()).toBe(true);
    tracker.enqueue(job('a'), 'a');
    expect(tracker.isQuiet()).toBe(false); // queued
    const start = tracker.nextStart()!;
    expect(tracker.isQuiet()).toBe(false); // starting
    tracker.started(tracker.child('a')!, 'a-run1');
    tracker.startSettled(start);
    expect(tracker.isQuiet()).toBe(false); // running
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'done' }));
    expect(tracker.isQuiet()).toBe(true); // finished, its answer not yet in a resume message: carried
    tracker.beginWaitIfNeeded();
    expect(tracker.isQuiet()).toBe(false); // a wait open
    tracker.takeResumeMessage(false);
    expect(tracker.isQuiet()).toBe(true);
    tracker.alreadyRunning(tracker.child('a')!, job('a'), true);
    expect(tracker.isQuiet()).toBe(false); // a start waiting for an open run to close
  });

  it('a child session\'s continuation carries a finished child not yet reported: the next run reports it once and keeps its spend', () => {
    const { tracker } = setup({ budget: { maxTokens: 1000 } });
    spawnRunning(tracker, 'a');
    const spend = { usage: { inputTokens: 30, outputTokens: 5 }, costMicroUsd: 0, unpricedCalls: 1 };
    tracker.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'the answer', subtreeSpend: spend }));
    const { queued, ...rest } = tracker.carried(true);
    expect(queued).toEqual([]);

    const carried = CarriedChildrenSchema.parse(structuredClone(rest)); // the continuation's schema
    const next = setup({ budget: { maxTokens: 1000 } }, { ...carried, queued: [] }).tracker;
    expect(next.onCompletion(completion('a', 'a-run1', 'completed', { finalResponse: 'the answer', subtreeSpend: spend }))).toBe(false);
    expect(next.spent().tokens).toBe(35);
    expect(next.childrenSpend.sessions).toBe(1);
    next.beginWaitIfNeeded();
    expect(next.waitSatisfied()).toBe(true);
    expect(next.takeResumeMessage(false)).toContain('`a` (“title of a”) finished with status `completed`.\nthe answer');
    next.beginWaitIfNeeded();
    expect(next.waiting).toBeNull(); // reported once: nothing left to wait for
  });
});
