/**
 * childSessionWorkflow on a real dev server: every row of the DESIGN §4 table (apart from
 * external runners), each with its exact status and text, and exactly one completion per run.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { startChildRun } from '../../client/child-runs';
import type { ChildRunResult } from '../../common';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { withRecordingParent } from '../helpers/recording-suite';

const suite = withRecordingParent();

/** Runs one child to its end and returns its result and the completions its parent got. */
async function runChild(prompt: string, metadata: Record<string, string> = {}) {
  const session = childSession(prompt, { parentSessionId: suite.parentSessionId, metadata });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result: ChildRunResult = await handle.result();
  const completions = await suite.completionsFor(session.id);
  return { session, handle, result, completions };
}

test('a successful agent loop completes and the parent gets exactly one completion', async () => {
  const { result, completions, handle } = await runChild('hello there');
  expect(result.status).toBe('completed');
  expect(result.error).toBeUndefined();
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'echo: hello there' });
  expect(result.session?.metadata.last_run_status).toBe('completed');
  expect(completions).toHaveLength(1);
  expect(completions[0]).toMatchObject({
    status: 'completed',
    runId: handle.firstExecutionRunId,
    finalResponse: 'echo: hello there',
  });
});

test('a model failure ends the run as error with the readable cause', async () => {
  const { result, completions } = await runChild('[[fail:the model refused]]');
  expect(result.status).toBe('error');
  expect(result.error).toBe('the model refused');
  expect(result.session?.metadata.last_run_error).toBe('the model refused');
  expect(completions).toEqual([expect.objectContaining({ status: 'error', error: 'the model refused' })]);
});

test('transient provider failures are retried and the run completes', async () => {
  const { result, completions } = await runChild('[[flaky:2]] steady now');
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('echo: steady now');
  expect(completions).toHaveLength(1);
});

test('a session whose last message is not a user message is skipped', async () => {
  const session = childSession('done already', { parentSessionId: suite.parentSessionId });
  session.messages.push({ id: 'a1', role: 'assistant', content: 'answered', createdAt: new Date().toISOString() });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'skipped', error: 'No pending message to execute' });
  const completions = await suite.completionsFor(session.id);
  expect(completions).toEqual([expect.objectContaining({ status: 'skipped', error: 'No pending message to execute' })]);
});

test('a snapshot that is not kind=child is an error', async () => {
  const session = { ...childSession('hi', { parentSessionId: suite.parentSessionId }), kind: 'root' as const };
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  expect(await handle.result()).toMatchObject({ status: 'error', error: 'spawn job child session is not kind=child' });
  const completions = await suite.completionsFor(session.id);
  expect(completions).toEqual([expect.objectContaining({ status: 'error', error: 'spawn job child session is not kind=child' })]);
});

test('a run without a snapshot and no earlier run reports "child session not found"', async () => {
  const childSessionId = `never-ran-${Date.now()}`;
  const handle = await startChildRun(suite.tw.client, { parentSessionId: suite.parentSessionId, childSessionId, model: 'm' }, { taskQueue: suite.tw.taskQueue });
  expect(await handle.result()).toMatchObject({ status: 'error', error: 'child session not found', session: null });
  const completions = await suite.completionsFor(childSessionId);
  expect(completions).toEqual([expect.objectContaining({ status: 'error', error: 'child session not found' })]);
});

test('a run without a snapshot continues from the session\'s previous result', async () => {
  const first = await runChild('first question');
  expect(first.result.status).toBe('completed');
  // Same session, no snapshot: a follow-up run must load the previous run's final session.
  const again = await startChildRun(
    suite.tw.client,
    { parentSessionId: suite.parentSessionId, childSessionId: first.session.id, model: first.session.model },
    { taskQueue: suite.tw.taskQueue },
  );
  const second = await again.result();
  expect(second.status).toBe('skipped'); // the loaded snapshot ends with the assistant's answer
  expect(second.session?.messages.map((m) => m.content)).toEqual(first.result.session?.messages.map((m) => m.content));
});

test('a transcript that outgrows Temporal\'s 2 MB payload limit is compacted: the run completes and the next run continues from it', async () => {
  const prompt = `BEGIN ${'z'.repeat(1_900_000)} END`; // echoed back: 3.8 MB of transcript
  const first = await runChild(prompt);
  expect(first.result.status).toBe('completed');
  expect((await first.handle.describe()).status.name).toBe('COMPLETED');
  expect(first.completions).toHaveLength(1);
  const snapshot = first.result.session!;
  expect(Buffer.byteLength(JSON.stringify(snapshot))).toBeLessThanOrEqual(1024 * 1024);
  expect(snapshot.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
  expect(snapshot.messages[2].content).toMatch(/^echo: BEGIN z+\n\[… \d+ characters cut to keep the session under Temporal's payload limit …\]\nz+ END$/);
  expect(snapshot.metadata.transcript_compacted).toMatch(/^2 message\(s\) cut, 0 dropped to fit 1048576 bytes/);

  const again = await startChildRun(
    suite.tw.client,
    { parentSessionId: suite.parentSessionId, childSessionId: first.session.id, model: first.session.model, appendMessages: ['and now?'] },
    { taskQueue: suite.tw.taskQueue },
  );
  const second = await again.result();
  expect(second.status).toBe('completed');
  expect(second.session?.messages.slice(-2).map((m) => m.content)).toEqual(['and now?', 'echo: and now?']);
});

test('invalid SpawnJob fails the workflow at once, naming the bad field', async () => {
  const workflowId = `bamboo-session-invalid-${Date.now()}`;
  const handle = await suite.tw.client.workflow.start('childSessionWorkflow', {
    taskQueue: suite.tw.taskQueue,
    workflowId,
    args: [{ parentSessionId: suite.parentSessionId, childSessionId: 'x', model: '' }],
  });
  const error = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause?.message).toBe('invalid SpawnJob: model: must be a non-empty string');
  // Failed in its first workflow task: no retry loop.
  const history = await handle.fetchHistory();
  const taskFailures = history.events?.filter((e) => e.workflowTaskFailedEventAttributes) ?? [];
  expect(taskFailures).toHaveLength(0);
  expect(await suite.completionsFor('x')).toEqual([expect.objectContaining({ status: 'error', error: 'invalid SpawnJob: model: must be a non-empty string' })]);
});
