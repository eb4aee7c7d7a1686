/**
 * A root session's children under pressure: cascade cancellation, the running-children cap,
 * continue-as-new while children run, and a transcript too large for one payload.
 */
import { sessionWorkflowId } from '../../common';
import { completionSignalsSent, resumeMessages, sessionState, sessionTranscript, settled } from '../helpers/root';
import { sendUserMessage, startSession } from '../../client/root-sessions';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();

test('cancelling the root cancels every running child, and each reports exactly once', async () => {
  const session = rootSession('[[spawn:A|[[sleep:60]]]] [[spawn:B|[[sleep:60]]]] [[spawn:C|[[sleep:60]]]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const running = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return s.children.length === 3 && s.children.every((c) => c.status === 'running') ? s.children : undefined;
  }, { timeoutMs: 30_000, what: 'three running children' });
  await handle.cancel();
  const result = await handle.result();
  expect(result.status).toBe('cancelled');
  expect(result.children.map((c) => c.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  for (const child of running) {
    const childResult = await tw.client.workflow.getHandle(sessionWorkflowId(child.childSessionId)).result();
    expect(childResult.status).toBe('cancelled');
    expect(await completionSignalsSent(tw.client, child.childSessionId)).toBe(1);
  }
});

test('more spawns than the cap: all run, never more than the cap at once', async () => {
  const spawns = Array.from({ length: 5 }, (_, i) => `[[spawn:Job ${i + 1}|[[sleep:2]] job ${i + 1}]]`).join(' ');
  const session = rootSession(spawns);
  const handle = await startSession(tw.client, { session, options: { maxRunningChildren: 2 } }, { taskQueue: tw.taskQueue });
  const final = await settled(tw.client, session.id, 90_000);
  expect(final.children).toHaveLength(5);
  expect(final.children.every((c) => c.status === 'completed')).toBe(true);
  // Each child's run, from its own history (server timestamps): from its start to the moment
  // it reported its terminal status to the parent (its workflow closes a moment later).
  const spans = await Promise.all(
    final.children.map(async (c) => {
      const events = (await tw.client.workflow.getHandle(sessionWorkflowId(c.childSessionId)).fetchHistory()).events ?? [];
      const ms = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
      const reported = events.find((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)!;
      return { start: ms(events[0]), end: ms(reported) };
    }),
  );
  const maxOverlap = Math.max(...spans.map((s) => spans.filter((o) => o.start <= s.start && s.start < o.end).length));
  expect(maxOverlap).toBeLessThanOrEqual(2);
  expect(resumeMessages(await sessionTranscript(tw.client, session.id))).toHaveLength(1);
  await handle.terminate();
});

test('a session that continues-as-new while its children run loses no completion', async () => {
  const session = rootSession('[[spawn:One|[[sleep:4]] one]] [[spawn:Two|[[sleep:5]] two]] [[spawn:Three|[[fail:nope]]]]');
  // A tiny history budget forces continue-as-new while the parent waits.
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 20 } }, { taskQueue: tw.taskQueue });
  const final = await settled(tw.client, session.id, 60_000);
  expect(final.children.map((c) => c.status).sort()).toEqual(['completed', 'completed', 'error']);
  const runs: string[] = [];
  for await (const run of tw.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(run.runId);
  expect(runs.length).toBeGreaterThan(1);
  // Each child's result reached the transcript exactly once, across the runs.
  const reported = resumeMessages(await sessionTranscript(tw.client, session.id)).map((m) => m.content).join('\n');
  expect(reported.match(/finished with status/g)).toHaveLength(3);
  for (const child of final.children) expect(reported.split(child.childSessionId)).toHaveLength(2);
  await handle.terminate();
});

test('a root transcript past the payload limit is compacted, so continue-as-new carries it and the session goes on', async () => {
  const session = rootSession(`BEGIN ${'q'.repeat(1_900_000)} END`); // echoed: 3.8 MB
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 20 } }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id, 60_000);
  await sendUserMessage(tw.client, session.id, 'still there?');
  const transcript = await eventually(async () => {
    const messages = await sessionTranscript(tw.client, session.id);
    return messages.at(-1)?.content === 'echo: still there?' ? messages : undefined;
  }, { timeoutMs: 60_000, what: 'the answer after compaction' });
  expect(Buffer.byteLength(JSON.stringify(transcript))).toBeLessThanOrEqual(1024 * 1024);
  expect(transcript.find((m) => m.role === 'assistant')?.content).toMatch(/^echo: BEGIN q+\n\[… \d+ characters cut/);
  const runs: string[] = [];
  for await (const run of tw.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(run.status.name);
  expect(runs).toContain('CONTINUED_AS_NEW');
  expect(runs).not.toContain('TERMINATED');
  await handle.terminate();
});
