/**
 * The watchdog: idle and total timeouts with the reference's texts, metadata overrides,
 * and a fired watchdog winning over the run.
 */
import { FailureTypes } from '../../common';
import { startChildRun } from '../../client/child-runs';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { activityOutcomes } from '../helpers/history-text';
import { watchdogSeconds } from '../helpers/watchdog-text';
import { withRecordingParent } from '../helpers/recording-suite';

const suite = withRecordingParent();

async function run(prompt: string, metadata: Record<string, string>) {
  const session = childSession(prompt, { parentSessionId: suite.parentSessionId, metadata });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result = await handle.result();
  return { session, handle, result };
}

test('a stalled model trips the idle watchdog: the model call fails as idle, once, and the run ends timeout', async () => {
  const { result, session, handle } = await run('[[stall:60]]', { 'child_watchdog.max_idle_secs': '3' });
  expect(result.status).toBe('timeout');
  expect(watchdogSeconds(result.error, 'idle', 3)).toBeGreaterThanOrEqual(3);
  // The watchdog ended it, not the 60 s stall running out: the one model call failed with the
  // idle watchdog's failure (not retried, never completed), as the history records.
  expect(activityOutcomes(await handle.fetchHistory(), 'callModel')).toEqual([{ outcome: 'failed', failureType: FailureTypes.idleTimeout, attempt: 1 }]);
  expect(await suite.completionsFor(session.id)).toEqual([
    expect.objectContaining({ status: 'timeout', error: result.error }),
  ]);
});

test('a run that keeps streaming past max_total times out on the total budget', async () => {
  const { result, session, handle } = await run('[[sleep:60]]', {
    'child_watchdog.max_total_secs': '4',
    'child_watchdog.max_idle_secs': '30',
  });
  expect(result.status).toBe('timeout');
  expect(watchdogSeconds(result.error, 'total', 4)).toBeGreaterThanOrEqual(4);
  expect(await suite.completionsFor(session.id)).toHaveLength(1);
  // The watchdog stopped the model call, not the 60 s stream running out: the attempt ended
  // itself at the run's deadline, once, and never completed.
  expect(activityOutcomes(await handle.fetchHistory(), 'callModel')).toEqual([{ outcome: 'failed', failureType: FailureTypes.totalTimeout, attempt: 1 }]);
});

test('progress keeps an otherwise long run alive past max_idle', async () => {
  // 6 s of streaming, a token a second, with max_idle 3 s: never idle, so it completes.
  const { result, handle } = await run('[[sleep:6]] still here', { 'child_watchdog.max_idle_secs': '3' });
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toContain('echo: still here');
  // In one attempt: no idle failure was retried away.
  expect(activityOutcomes(await handle.fetchHistory(), 'callModel')).toEqual([{ outcome: 'completed', attempt: 1 }]);
});

test('invalid watchdog overrides are ignored and defaults apply', async () => {
  const { result } = await run('plain', {
    'child_watchdog.max_idle_secs': '0',
    'child_watchdog.max_total_secs': 'soon',
    'child_watchdog.check_interval_secs': '-1',
  });
  expect(result.status).toBe('completed');
});
