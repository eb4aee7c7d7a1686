/** A ChildTracker on plain objects for unit and model-based tests: a fake clock and the events it records. */
import { SessionOptionsSchema, type ChildCompletion, type SessionOptionsInput, type SpawnJob, type TerminalRunStatus } from '../../common';
import { ChildTracker, type CarriedChildren } from '../../workflows/child-tracker';

export const PARENT = 'parent-1';
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

export function trackerSetup(options: SessionOptionsInput = {}, carried?: CarriedChildren) {
  const clock = { ms: T0 };
  const events: { type: string; childSessionId?: string; status?: string }[] = [];
  const tracker = new ChildTracker({
    parentSessionId: PARENT,
    options: SessionOptionsSchema.parse(options),
    events: { add: (event) => events.push(event) },
    now: () => clock.ms,
    carried,
  });
  return { tracker, clock, events };
}

export function job(childSessionId: string): SpawnJob {
  return { parentSessionId: PARENT, childSessionId, model: 'scripted-model' };
}

export function completion(childSessionId: string, runId: string, status: TerminalRunStatus, extra: Partial<ChildCompletion> = {}): ChildCompletion {
  return { parentSessionId: PARENT, childSessionId, runId, status, completedAt: new Date(T0).toISOString(), ...extra };
}

/** Spawns children and starts their runs, as Children's pump does; run ids are `<id>-run1`. */
export function spawnRunning(tracker: ChildTracker, ...ids: string[]): void {
  for (const id of ids) tracker.enqueue(job(id), `title of ${id}`);
  for (let next = tracker.nextStart(); next; next = tracker.nextStart()) {
    tracker.started(tracker.child(next.childSessionId)!, `${next.childSessionId}-run1`);
    tracker.startSettled(next);
  }
}

/** Takes every job the pump would start now, each start settled at once. */
export function drainQueue(tracker: ChildTracker): SpawnJob[] {
  const jobs: SpawnJob[] = [];
  for (let next = tracker.nextStart(); next; next = tracker.nextStart()) {
    jobs.push(next);
    tracker.startSettled(next);
  }
  return jobs;
}
