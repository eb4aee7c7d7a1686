/**
 * A tool call past its time limit is an error result the model reads, as in the reference:
 * the tool is stopped, the run goes on, and only three failures in a row end it. The idle
 * watchdog and cancellation still end the run during a tool call.
 */
import { cancelSession, startChildRun } from '../../client/child-runs';
import type { ChildRunResult } from '../../common';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { createToolRegistry } from '../../worker/tools/types';
import { hangingTool } from '../fixtures/test-tools';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { withRecordingParent } from '../helpers/recording-suite';
import { eventually } from '../helpers/eventually';

const hang = hangingTool('hang', 2);
const hangLong = hangingTool('hang_long', 60);
const suite = withRecordingParent({ deps: { tools: createToolRegistry([...BUILTIN_TOOLS, hang, hangLong]) } });

async function startChild(prompt: string, metadata: Record<string, string> = {}) {
  const session = childSession(prompt, { parentSessionId: suite.parentSessionId, metadata });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  return { session, handle };
}

const toolMessages = (result: ChildRunResult) => result.session?.messages.filter((m) => m.role === 'tool').map((m) => m.content);

test('a tool past its time limit: it is stopped, the model reads the timeout error and the run completes', async () => {
  const stoppedBefore = hang.stopped;
  const { session, handle } = await startChild('[[tool:hang|{}]] still there?');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual(['Error: tool hang timed out after 2 seconds']);
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'echo: still there?' });
  expect(hang.stopped).toBe(stoppedBefore + 1);
  expect(await suite.completionsFor(session.id)).toEqual([expect.objectContaining({ status: 'completed' })]);
  // Nothing was retried: one attempt of the tool activity.
  const history = await handle.fetchHistory();
  const attempts = history.events?.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(attempts?.every((a) => a === 1)).toBe(true);
});

test('three tool timeouts in a row end the run with an error (reference rule)', async () => {
  const { session, handle } = await startChild('[[tool:hang|{}]] [[tool:hang|{}]] [[tool:hang|{}]]');
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toBe('Tool hang failed 3 consecutive times; last error: Error: tool hang timed out after 2 seconds');
  expect(await suite.completionsFor(session.id)).toEqual([expect.objectContaining({ status: 'error', error: result.error })]);
});

test('a silent tool still trips the idle watchdog: the run ends timeout, not with an error result', async () => {
  const { handle } = await startChild('[[tool:hang_long|{}]]', { 'child_watchdog.max_idle_secs': '2' });
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(result.error).toMatch(/^Child session idle timeout after \d+ seconds without events \(max_idle_secs=2\)$/);
});

test('cancelling a run during a tool call cancels the run', async () => {
  const { session, handle } = await startChild('[[tool:hang_long|{}]]');
  await eventually(async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'runTool');
  }, { timeoutMs: 30_000, what: 'the tool call to start' });
  await cancelSession(suite.tw.client, session.id);
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'cancelled', error: 'Child session cancelled' });
});
