/**
 * Controlling a running child: cancellation mid-stream, injected messages, and the
 * one-run-per-session guarantee under concurrent starts.
 */
import { cancelSession, injectIntoSession, startChildRun } from '../../src/client/child-runs';
import type { ChildCompletion } from '../../src/domain';
import { sessionIdFromWorkflowId } from '../../src/domain';
import { state } from '../../workflows/definitions';
import { receivedCompletions } from '../workflows/recording-parent';
import { childSession, spawnJobFor } from '../helpers/sessions';
import { eventually, startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';

let tw: TestWorker;
let parent: RecordingParentHandle;
let parentSessionId: string;

beforeAll(async () => {
  tw = await startTestWorker();
  parent = await startRecordingParent(tw.client, tw.taskQueue);
  parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
});
afterAll(async () => {
  await parent?.terminate().catch(() => undefined);
  await tw?.stop();
});

async function completionsFor(childSessionId: string, atLeast = 1): Promise<ChildCompletion[]> {
  return eventually(async () => {
    const got = (await parent.query(receivedCompletions)).filter((c) => c.childSessionId === childSessionId);
    return got.length >= atLeast ? got : undefined;
  }, 10_000);
}

/** Waits until the run's model activity is streaming (it has heartbeated progress). */
async function waitUntilStreaming(workflowId: string): Promise<void> {
  await eventually(async () => {
    const description = await tw.client.workflow.getHandle(workflowId).describe();
    const pending = description.raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'callModel' && a.heartbeatDetails) ? true : undefined;
  }, 15_000, 'the model activity to stream');
}

test('cancelling a child mid-stream ends it cancelled, and the model call saw the abort', async () => {
  const session = childSession('[[sleep:60]]', { parentSessionId });
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  await waitUntilStreaming(handle.workflowId);
  await cancelSession(tw.client, session.id);
  const result = await handle.result();
  expect(result.status).toBe('cancelled');
  expect(result.error).toContain('cancelled');
  expect(result.session?.metadata.last_run_status).toBe('cancelled');
  const completions = await completionsFor(session.id);
  expect(completions).toEqual([expect.objectContaining({ status: 'cancelled' })]);
  // ActivityTaskCanceled is recorded only when the activity itself acknowledged the abort.
  const history = await handle.fetchHistory();
  expect(history.events?.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
});

test('a message injected mid-run is merged and ends up in the final session', async () => {
  const session = childSession('[[sleep:3]] first', { parentSessionId });
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  await waitUntilStreaming(handle.workflowId);
  await injectIntoSession(tw.client, session.id, 'and a follow-up');
  expect((await handle.query(state)).pendingInjectedMessages).toBe(1);
  const result = await handle.result();
  expect(result.status).toBe('completed');
  const contents = result.session!.messages.map((m) => `${m.role}:${m.content}`);
  expect(contents).toContain('user:and a follow-up');
  // Merged at the turn boundary, so it was answered too.
  expect(contents.at(-1)).toBe('assistant:echo: and a follow-up');
});

test('a message injected into a run that ends first is appended to its final session', async () => {
  const session = childSession('[[sleep:30]]', { parentSessionId, metadata: { 'child_watchdog.max_total_secs': '3' } });
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  await waitUntilStreaming(handle.workflowId);
  await injectIntoSession(tw.client, session.id, 'please also check this');
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(result.session!.messages.at(-1)).toMatchObject({ role: 'user', content: 'please also check this' });
});

test('two concurrent starts of one child session give one run and one completion', async () => {
  const session = childSession('[[sleep:2]] only once', { parentSessionId });
  const [a, b] = await Promise.all([
    startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue }),
    startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue }),
  ]);
  expect(a.firstExecutionRunId).toBe(b.firstExecutionRunId);
  expect((await a.result()).status).toBe('completed');
  await completionsFor(session.id);
  // Give a duplicate every chance to show up before asserting there is none.
  await new Promise((r) => setTimeout(r, 1500));
  const completions = (await parent.query(receivedCompletions)).filter((c) => c.childSessionId === session.id);
  expect(completions).toHaveLength(1);
  const runs = [];
  for await (const run of tw.client.workflow.list({ query: `WorkflowId = "${a.workflowId}"` })) runs.push(run.runId);
  expect(runs).toEqual([a.firstExecutionRunId]);
});
