/**
 * The conversation around the children: follow-up user messages, the manage_children tool
 * (list, send_message, cancel), the spawn depth limit, the idle time-to-live, bad input.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { sendUserMessage, startSession } from '../../client/root-sessions';
import { sessionWorkflowId, type ChildRunResult, eventsQuery } from '../../common';
import { resumeMessages, sessionState, sessionTranscript, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();

const tool = (name: string, args: object) => `[[tool:${name}|${JSON.stringify(args)}]]`;

test('a follow-up user message starts a new turn in the same session', async () => {
  const session = rootSession('first');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id);
  await sendUserMessage(tw.client, session.id, 'second');
  await eventually(async () => (await sessionTranscript(tw.client, session.id)).at(-1)?.content === 'echo: second');
  const contents = (await sessionTranscript(tw.client, session.id)).map((m) => `${m.role}:${m.content}`);
  expect(contents).toEqual(['user:first', 'assistant:echo: first', 'user:second', 'assistant:echo: second']);
  await handle.terminate();
});

test('children cannot spawn children by default (spawn depth 1)', async () => {
  const session = rootSession('[[spawn:Parent-ish|[[spawn:Grandchild|deeper]] try]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const final = await settled(tw.client, session.id);
  expect(final.children).toHaveLength(1);
  const child: ChildRunResult = await tw.client.workflow.getHandle(sessionWorkflowId(final.children[0].childSessionId)).result();
  expect(child.status).toBe('completed');
  expect(child.session?.messages.some((m) => m.role === 'tool' && m.content.includes('unknown tool "spawn_session"'))).toBe(true);
  await handle.terminate();
});

test('manage_children lists children, restarts a finished one with a message, and cancels a running one', async () => {
  const session = rootSession('[[spawn:Writer|draft]] [[spawn:Sleeper|[[sleep:60]]]]');
  const handle = await startSession(tw.client, { session, options: { waitPolicy: 'any' } }, { taskQueue: tw.taskQueue });
  const ids = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return s.children.length === 2 && s.phase !== 'running' && resumeMessages(await sessionTranscript(tw.client, session.id)).length === 1
      ? s.children
      : undefined;
  }, { timeoutMs: 30_000 });
  const transcript = await sessionTranscript(tw.client, session.id);
  const writer = ids.find((c) => transcript.some((m) => m.content.includes(`\`${c.childSessionId}\` (“Writer”)`)))!;
  const sleeper = ids.find((c) => c !== writer)!;

  await sendUserMessage(
    tw.client,
    session.id,
    `${tool('manage_children', { action: 'list' })} ${tool('manage_children', { action: 'send_message', child_session_id: writer.childSessionId, message: 'add a summary' })} ${tool('manage_children', { action: 'cancel', child_session_id: sleeper.childSessionId })}`,
  );
  const final = await settled(tw.client, session.id);
  expect(final.children.find((c) => c.childSessionId === sleeper.childSessionId)?.status).toBe('cancelled');
  // The writer ran again, from its latest snapshot plus the new message.
  const runs: string[] = [];
  for await (const run of tw.client.workflow.list({ query: `WorkflowId = "${sessionWorkflowId(writer.childSessionId)}"` })) runs.push(run.runId);
  expect(runs).toHaveLength(2);
  const writerResult = await tw.client.workflow.getHandle(sessionWorkflowId(writer.childSessionId)).result();
  expect(writerResult.session?.messages.at(-1)?.content).toBe('echo: add a summary');
  const messages = await sessionTranscript(tw.client, session.id);
  const listReply = messages.find((m) => m.role === 'tool' && m.content.startsWith('['))!;
  expect(JSON.parse(listReply.content)).toHaveLength(2);
  const allResumes = resumeMessages(messages).map((m) => m.content).join('\n');
  expect(allResumes).toContain('(“Sleeper”) finished with status `cancelled`');
  expect(allResumes.match(/\(“Writer”\) finished with status `completed`/g)).toHaveLength(2);
  await handle.terminate();
});

test('an idle session ends after its time-to-live, returning its transcript', async () => {
  const session = rootSession('hello');
  const handle = await startSession(tw.client, { session, options: { idleTtlSecs: 2 } }, { taskQueue: tw.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('idle_expired');
  expect(result.session.messages.map((m) => m.content)).toEqual(['hello', 'echo: hello']);
});

test('invalid session input fails the workflow at once, naming the field', async () => {
  const session = { ...rootSession('x'), kind: 'child' };
  const handle = await tw.client.workflow.start('sessionWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: sessionWorkflowId(session.id),
    args: [{ session, options: { waitPolicy: 'most' } }],
  });
  const error = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const message = (error as WorkflowFailedError).cause?.message ?? '';
  expect(message).toMatch(/^invalid session input: /);
  expect(message).toContain('session.kind: must be kind=root');
  expect(message).toContain('options.waitPolicy');
});

test('the events query serves durable, sequenced events of the session and its children', async () => {
  const session = rootSession('[[spawn:Worker|[[sleep:1]] done]] [[tool:no_such_tool|{}]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id);
  const all = await handle.query(eventsQuery, { afterSeq: 0 });
  expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  const types = all.map((e) => e.type);
  for (const type of ['execution_started', 'tool_start', 'tool_complete', 'tool_error', 'sub_session_started', 'sub_session_completed', 'complete']) {
    expect(types).toContain(type);
  }
  expect(all.find((e) => e.type === 'sub_session_completed')).toMatchObject({ status: 'completed' });
  const later = await handle.query(eventsQuery, { afterSeq: 3 });
  expect(later[0].seq).toBe(4);
  expect(later).toHaveLength(all.length - 3);
  await handle.terminate();
});

test('with maxSpawnDepth 2 a child spawns its own child and finishes only after it reports', async () => {
  const session = rootSession('[[spawn:Lead|[[spawn:Helper|deep work]] delegate]]');
  const handle = await startSession(tw.client, { session, options: { maxSpawnDepth: 2 } }, { taskQueue: tw.taskQueue });
  const final = await settled(tw.client, session.id);
  expect(final.children).toEqual([expect.objectContaining({ status: 'completed' })]);
  const lead: ChildRunResult = await tw.client.workflow.getHandle(sessionWorkflowId(final.children[0].childSessionId)).result();
  const leadResumes = resumeMessages(lead.session!.messages);
  expect(leadResumes).toHaveLength(1);
  expect(leadResumes[0].content).toContain('(“Helper”) finished with status `completed`');
  const helperId = /child session `([^`]+)` \(“Helper”\)/.exec(leadResumes[0].content)![1];
  const helper: ChildRunResult = await tw.client.workflow.getHandle(sessionWorkflowId(helperId)).result();
  expect(helper.session).toMatchObject({ parentSessionId: lead.childSessionId, rootSessionId: session.id, spawnDepth: 2 });
  expect(resumeMessages(await sessionTranscript(tw.client, session.id))).toHaveLength(1);
  await handle.terminate();
});
