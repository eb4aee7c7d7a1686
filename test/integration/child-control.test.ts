/**
 * Controlling a running child: cancellation mid-stream, injected messages, and the
 * one-run-per-session guarantee under concurrent starts.
 */
import { cancelSession, injectIntoSession, startChildRun } from '../../client/child-runs';
import { stateQuery } from '../../common';
import { ORPHANED_START_LOST } from '../../workflows/child-tracker';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { withRecordingParent } from '../helpers/recording-suite';
import { eventually } from '../helpers/eventually';
import { caughtUp } from '../helpers/caught-up';

const suite = withRecordingParent();

/** Waits until the run's model activity is streaming (it has heartbeated progress). */
async function waitUntilStreaming(workflowId: string): Promise<void> {
  await eventually(async () => {
    const description = await suite.tw.client.workflow.getHandle(workflowId).describe();
    const pending = description.raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'callModel' && a.heartbeatDetails);
  }, { timeoutMs: 15_000, what: 'the model activity to stream' });
}

test('cancelling a child mid-stream ends it cancelled, and the model call saw the abort', async () => {
  const session = childSession('[[sleep:60]]', { parentSessionId: suite.parentSessionId });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  await waitUntilStreaming(handle.workflowId);
  await cancelSession(suite.tw.client, session.id);
  const result = await handle.result();
  expect(result.status).toBe('cancelled');
  expect(result.error).toContain('cancelled');
  expect(result.session?.metadata.last_run_status).toBe('cancelled');
  const completions = await suite.completionsFor(session.id);
  expect(completions).toEqual([expect.objectContaining({ status: 'cancelled' })]);
  // ActivityTaskCanceled is recorded only when the activity itself acknowledged the abort.
  const history = await handle.fetchHistory();
  expect(history.events?.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
});

test('a message injected mid-run is merged and ends up in the final session', async () => {
  const session = childSession('[[sleep:3]] first', { parentSessionId: suite.parentSessionId });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  await waitUntilStreaming(handle.workflowId);
  await injectIntoSession(suite.tw.client, session.id, 'and a follow-up');
  expect((await handle.query(stateQuery)).pendingInjectedMessages).toBe(1);
  const result = await handle.result();
  expect(result.status).toBe('completed');
  const contents = result.session!.messages.map((m) => `${m.role}:${m.content}`);
  expect(contents).toContain('user:and a follow-up');
  // Merged at the turn boundary, so it was answered too.
  expect(contents.at(-1)).toBe('assistant:echo: and a follow-up');
});

test('a message injected into a run that ends first is appended to its final session', async () => {
  const session = childSession('[[sleep:30]]', { parentSessionId: suite.parentSessionId, metadata: { 'child_watchdog.max_total_secs': '3' } });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  await waitUntilStreaming(handle.workflowId);
  await injectIntoSession(suite.tw.client, session.id, 'please also check this');
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(result.session!.messages.at(-1)).toMatchObject({ role: 'user', content: 'please also check this' });
});

test('two concurrent starts of one child session give one run and one completion', async () => {
  const session = childSession('[[sleep:2]] only once', { parentSessionId: suite.parentSessionId });
  const [a, b] = await Promise.all([
    startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue }),
    startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue }),
  ]);
  expect(a.firstExecutionRunId).toBe(b.firstExecutionRunId);
  expect((await a.result()).status).toBe('completed');
  await suite.completionsFor(session.id);
  // No duplicate can still arrive: the run has closed and the parent has caught up with it.
  await caughtUp(suite.tw.client, suite.parent.workflowId, [a.workflowId]);
  const completions = (await suite.parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === session.id);
  expect(completions).toHaveLength(1);
  const runs = [];
  for await (const run of suite.tw.client.workflow.list({ query: `WorkflowId = "${a.workflowId}"` })) runs.push(run.runId);
  expect(runs).toEqual([a.firstExecutionRunId]);
});

/**
 * A continuation a child run carried before `bamboo-hold-starts-at-continue`: a grandchild
 * `pending`, awaited, with no job queued to start it (the continuation dropped the queue).
 */
function orphanedContinuation(prompt: string) {
  const session = { ...childSession(prompt, { parentSessionId: suite.parentSessionId }), spawnDepth: 1 };
  const lost = { childSessionId: `${session.id}-lost`, title: 'Lost', status: 'pending' as const, reported: false, awaited: true, model: 'scripted-model' };
  const continuation = {
    round: 2,
    toolFailures: {},
    startedAt: new Date().toISOString(),
    usage: { inputTokens: 0, outputTokens: 0 },
    lastEventSeq: 0,
    injected: [],
    children: { children: [lost], seenCompletions: [], waiting: null },
  };
  return { job: spawnJobFor(session, { spawnOptions: { maxSpawnDepth: 2, waitLeaseSecs: 600 }, continuation }), lost };
}

test('a child whose carried state has a grandchild pending with no job to start it ends that grandchild with an error and finishes, not waiting for the lease', async () => {
  const { job, lost } = orphanedContinuation('write it up');
  const handle = await startChildRun(suite.tw.client, job, { taskQueue: suite.tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('completed');
  const state = await handle.query(stateQuery);
  expect(state.children).toEqual([expect.objectContaining({ childSessionId: lost.childSessionId, status: 'error', error: ORPHANED_START_LOST })]);
  // The next turn was told (a resume message names the grandchild and why).
  const resumed = result.session!.messages.filter((m) => m.role === 'user' && m.content.includes(lost.childSessionId));
  expect(resumed).toHaveLength(1);
  expect(resumed[0].content).toContain(ORPHANED_START_LOST);
}, 60_000);
