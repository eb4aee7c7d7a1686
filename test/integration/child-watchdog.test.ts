/**
 * The watchdog: idle and total timeouts with the reference's texts, metadata overrides,
 * and a fired watchdog winning over the run.
 */
import { FailureTypes } from '../../common';
import { startChildRun } from '../../src/client/child-runs';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { withRecordingParent } from '../helpers/recording-suite';

const suite = withRecordingParent();

async function timeRun(prompt: string, metadata: Record<string, string>) {
  const session = childSession(prompt, { parentSessionId: suite.parentSessionId, metadata });
  const started = Date.now();
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result = await handle.result();
  return { session, handle, result, seconds: (Date.now() - started) / 1000 };
}

test('a stalled model trips the idle watchdog within a few seconds of max_idle', async () => {
  const { result, seconds, session } = await timeRun('[[stall:60]]', { 'child_watchdog.max_idle_secs': '3' });
  expect(result.status).toBe('timeout');
  expect(result.error).toBe('Child session idle timeout after 3 seconds without events (max_idle_secs=3)');
  expect(seconds).toBeLessThan(15); // 60 s of stall never ran out: the watchdog ended it
  expect(await suite.completionsFor(session.id)).toEqual([
    expect.objectContaining({ status: 'timeout', error: result.error }),
  ]);
});

test('a run that keeps streaming past max_total times out on the total budget', async () => {
  const { result, seconds, session, handle } = await timeRun('[[sleep:60]]', {
    'child_watchdog.max_total_secs': '4',
    'child_watchdog.max_idle_secs': '30',
  });
  expect(result.status).toBe('timeout');
  expect(result.error).toMatch(/^Child session timed out after [45] seconds \(max_total_secs=4\)$/);
  expect(seconds).toBeLessThan(20);
  expect(await suite.completionsFor(session.id)).toHaveLength(1);
  // The watchdog stopped the model call: the attempt ended itself at the run's deadline.
  const history = await handle.fetchHistory();
  const failed = history.events?.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes;
  expect(failed?.failure?.applicationFailureInfo?.type).toBe(FailureTypes.totalTimeout);
});

test('progress keeps an otherwise long run alive past max_idle', async () => {
  // 6 s of streaming, a token a second, with max_idle 3 s: never idle, so it completes.
  const { result } = await timeRun('[[sleep:6]] still here', { 'child_watchdog.max_idle_secs': '3' });
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toContain('echo: still here');
});

test('invalid watchdog overrides are ignored and defaults apply', async () => {
  const { result } = await timeRun('plain', {
    'child_watchdog.max_idle_secs': '0',
    'child_watchdog.max_total_secs': 'soon',
    'child_watchdog.check_interval_secs': '-1',
  });
  expect(result.status).toBe('completed');
});
