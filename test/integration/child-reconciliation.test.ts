/**
 * No parent is stranded: a child run that cannot report (terminated by an operator, reset,
 * adopted by a parent that continued-as-new, run by someone else) still reaches its parent,
 * exactly once, and the child's next run continues from the right snapshot.
 */
import type { Client } from '@temporalio/client';
import { sessionWorkflowId, type ChildRunResult } from '../../common';
import { sendUserMessage, startSession } from '../../client/root-sessions';
import { startChildRun } from '../../client/child-runs';
import { resumeMessages, sessionState, sessionTranscript } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { caughtUp } from '../helpers/caught-up';
import { withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();

async function runningChildren(client: Client, sessionId: string, count: number) {
  return eventually(async () => {
    const s = await sessionState(client, sessionId);
    const running = s.children.filter((c) => c.status === 'running');
    return running.length === count ? running : undefined;
  }, { timeoutMs: 30_000, what: `${count} running children` });
}

async function resumedWith(client: Client, sessionId: string, count = 1) {
  return eventually(async () => {
    const resumes = resumeMessages(await sessionTranscript(client, sessionId));
    return resumes.length >= count ? resumes : undefined;
  }, { timeoutMs: 60_000, what: `${count} resume message(s)` });
}

/** The id of the root's only child, once its first run completed and the root is idle again. */
async function firstChildCompleted(client: Client, sessionId: string): Promise<string> {
  return eventually(async () => {
    const s = await sessionState(client, sessionId);
    return s.phase === 'idle' && s.children[0]?.status === 'completed' ? s.children[0].childSessionId : undefined;
  }, { timeoutMs: 60_000, what: 'the first child run' });
}

const manage = (args: Record<string, string>) => `[[tool:manage_children|${JSON.stringify(args)}]]`;

test('an operator terminating a child resumes the waiting parent once, with the child marked error', async () => {
  const session = rootSession('[[spawn:Long|[[sleep:300]] long work]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const [child] = await runningChildren(tw.client, session.id, 1);
  await tw.client.workflow.getHandle(sessionWorkflowId(child.childSessionId)).terminate('operator stopped it');

  const [resume] = await resumedWith(tw.client, session.id);
  expect(resume.content).toContain(`child session \`${child.childSessionId}\` (“Long”) finished with status \`error\``);
  expect(resume.content).toContain('Child session run was terminated');
  const state = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return s.phase === 'idle' ? s : undefined;
  });
  expect(state.children).toEqual([{ childSessionId: child.childSessionId, status: 'error', title: 'Long', error: 'Child session run was terminated: Terminated' }]);
  expect(state.waiting).toBeNull();
  // Exactly once, once nothing more can arrive: the run closed, the root caught up with it.
  await caughtUp(tw.client, handle.workflowId, [sessionWorkflowId(child.childSessionId)]);
  expect(resumeMessages(await sessionTranscript(tw.client, session.id))).toHaveLength(1);
  await handle.terminate();
});

test('two children, one completed and one terminated: one resume with both statuses', async () => {
  const session = rootSession('[[spawn:Quick|done fast]] [[spawn:Long|[[sleep:300]] long]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const [long] = await runningChildren(tw.client, session.id, 1);
  await tw.client.workflow.getHandle(sessionWorkflowId(long.childSessionId)).terminate();

  const [resume] = await resumedWith(tw.client, session.id);
  expect(resume.content).toMatch(/“Quick”\) finished with status `completed`/);
  expect(resume.content).toMatch(/“Long”\) finished with status `error`/);
  expect(resume.content).toContain('Remaining child sessions: 0.');
  await handle.terminate();
});

test('a child terminated after the parent continued-as-new is learned by the new run', async () => {
  // The quick children's reports wake the waiting parent, which then continues-as-new.
  const session = rootSession('[[spawn:Long|[[sleep:300]] long]] [[spawn:Quick|[[sleep:1]] quick]] [[spawn:Later|[[sleep:3]] later]]');
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 20 } }, { taskQueue: tw.taskQueue });
  await runningChildren(tw.client, session.id, 3);
  const child = (await sessionState(tw.client, session.id)).children[0];
  await eventually(async () => (await handle.describe()).runId !== handle.firstExecutionRunId, { timeoutMs: 30_000, what: 'continue-as-new' });
  await tw.client.workflow.getHandle(sessionWorkflowId(child.childSessionId)).terminate();

  const [resume] = await resumedWith(tw.client, session.id);
  expect(resume.content).toMatch(/“Long”\) finished with status `error`/);
  expect(resume.content).toMatch(/“Quick”\) finished with status `completed`/);
  expect(resume.content).toMatch(/“Later”\) finished with status `completed`/);
  await handle.terminate();
});

test('a reset child reports once, from the run that replaced it', async () => {
  const session = rootSession('[[spawn:Reset me|[[sleep:6]] after reset]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const [child] = await runningChildren(tw.client, session.id, 1);
  const childHandle = tw.client.workflow.getHandle(sessionWorkflowId(child.childSessionId));
  const firstTaskDone = await eventually(async () => ((await childHandle.fetchHistory()).events ?? []).find((e) => e.workflowTaskCompletedEventAttributes), {
    what: 'the child’s first completed workflow task',
  });
  const { runId } = await childHandle.describe();
  await tw.client.workflowService.resetWorkflowExecution({
    namespace: tw.client.options.namespace,
    workflowExecution: { workflowId: childHandle.workflowId, runId },
    reason: 'operator reset',
    workflowTaskFinishEventId: firstTaskDone.eventId,
    requestId: `reset-${runId}`,
  });

  const [resume] = await resumedWith(tw.client, session.id);
  expect(resume.content).toMatch(/“Reset me”\) finished with status `completed`/);
  expect(resume.content).toMatch(/echo: .*after reset/);
  await caughtUp(tw.client, handle.workflowId, [childHandle.workflowId]);
  expect(resumeMessages(await sessionTranscript(tw.client, session.id))).toHaveLength(1);
  await handle.terminate();
});

test('a follow-up to a child whose run is open elsewhere starts the run after it, from its snapshot', async () => {
  const session = rootSession('[[spawn:Writer|draft one]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const childId = await firstChildCompleted(tw.client, session.id);
  // Someone else (the CLI, another program) starts the child's next run...
  await startChildRun(tw.client, { parentSessionId: session.id, childSessionId: childId, model: 'scripted-model', appendMessages: ['[[sleep:4]] outside work'] }, { taskQueue: tw.taskQueue });
  // ...while the parent's model sends a follow-up: it must not be dropped.
  await sendUserMessage(tw.client, session.id, manage({ action: 'send_message', child_session_id: childId, message: 'the follow-up' }));

  const final = await eventually(async () => {
    const result = (await tw.client.workflow.getHandle(sessionWorkflowId(childId)).result()) as ChildRunResult;
    return result.session?.messages.some((m) => m.content === 'the follow-up') ? result : undefined;
  }, { timeoutMs: 60_000, what: 'a run that got the follow-up' });
  const contents = final.session!.messages.map((m) => m.content);
  expect(contents.some((c) => c.startsWith('echo: ') && c.includes('draft one'))).toBe(true);
  expect(contents.some((c) => c.endsWith('echo: outside work'))).toBe(true);
  expect(contents.at(-1)).toBe('echo: the follow-up');
  await handle.terminate();
});

test('a run that left no snapshot (terminated) never hides the earlier one', async () => {
  const session = rootSession('[[spawn:Keeper|remember this]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const childId = await firstChildCompleted(tw.client, session.id);
  await sendUserMessage(tw.client, session.id, manage({ action: 'send_message', child_session_id: childId, message: '[[sleep:300]] lost' }));
  await runningChildren(tw.client, session.id, 1);
  await tw.client.workflow.getHandle(sessionWorkflowId(childId)).terminate();
  await eventually(async () => (await sessionState(tw.client, session.id)).children[0].status === 'error');
  await sendUserMessage(tw.client, session.id, manage({ action: 'send_message', child_session_id: childId, message: 'third' }));

  const result = await eventually(async () => {
    const r = (await tw.client.workflow.getHandle(sessionWorkflowId(childId)).result()) as ChildRunResult;
    return r.session?.messages.at(-1)?.content === 'echo: third' ? r : undefined;
  }, { timeoutMs: 60_000, what: 'the third run' });
  expect(result.status).toBe('completed');
  expect(result.session!.messages.some((m) => m.content.includes('remember this'))).toBe(true);
  await handle.terminate();
});

test('what continue-as-new carries stays bounded however many children the root has had', async () => {
  const spawns = (batch: number) => Array.from({ length: 70 }, (_, i) => `[[spawn:B${batch}-${i}|x]]`).join(' ');
  const session = rootSession(`${spawns(1)} first batch`);
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 400 } }, { taskQueue: tw.taskQueue });
  for (const batch of [2, 3, 4]) {
    await resumedWith(tw.client, session.id, batch - 1);
    await eventually(async () => (await sessionState(tw.client, session.id)).phase === 'idle', { timeoutMs: 120_000, what: 'idle' });
    await sendUserMessage(tw.client, session.id, `${spawns(batch)} batch ${batch}`);
  }
  await resumedWith(tw.client, session.id, 4);
  await eventually(async () => (await sessionState(tw.client, session.id)).phase === 'idle', { timeoutMs: 120_000, what: 'the last batch' });
  // The latest run's input is what continue-as-new carried.
  const started = (await tw.client.workflow.getHandle(handle.workflowId).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
  type Carried = { children: { reported: boolean; finalResponse?: string }[]; seenCompletions: string[] };
  const { carried } = JSON.parse(Buffer.from(started.input!.payloads![0].data!).toString()) as { carried: Carried };
  expect(started.continuedExecutionRunId).toBeTruthy();
  // Children already reported: the latest 200, without their answers; the others in full.
  const reportedChildren = carried.children.filter((c) => c.reported);
  expect(reportedChildren.length).toBeLessThanOrEqual(200);
  expect(reportedChildren.every((c) => c.finalResponse === undefined)).toBe(true);
  expect(carried.children.length - reportedChildren.length).toBeLessThanOrEqual(70);
  expect(carried.seenCompletions.length).toBeLessThanOrEqual(1000);
  // Every one of the 280 children still reached the transcript exactly once.
  const reported = resumeMessages(await sessionTranscript(tw.client, session.id)).map((m) => m.content).join('\n');
  expect(reported.match(/finished with status `completed`/g)).toHaveLength(280);
  await handle.terminate();
}, 300_000);
