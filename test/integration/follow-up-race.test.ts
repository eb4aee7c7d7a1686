/**
 * A child run reports to its parent by signal and closes a moment later. A parent that wants
 * the session's next run in between — a follow-up from its model, or a restart for messages
 * the run left unanswered — gets "already started" from the server. Issue 25: the child was
 * then marked running for good and the parent waited until its lease (6 h).
 *
 * The child runs here close LATE_CLOSE_SECS after reporting (test/workflows/late-close.ts), so
 * the race is certain rather than likely; everything else is the product's code on a real
 * dev server.
 */
import type { ChildRunResult } from '../../common';
import { sessionWorkflowId } from '../../common';
import { sendUserMessage, startSession } from '../../client/root-sessions';
import { resumeMessages, sessionState, sessionTranscript } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';
import { LATE_CLOSE_SECS, LATE_CLOSE_TITLE } from '../workflows/late-close';

const tw = withTestWorker({ workflowsPath: require.resolve('../workflows/late-close') });

const manage = (args: Record<string, string>) => `[[tool:manage_children|${JSON.stringify(args)}]]`;

test('a follow-up that reaches a child while its reported run is still closing starts the next run once that run has closed', async () => {
  const session = rootSession(`[[spawn:${LATE_CLOSE_TITLE}|first draft]]`);
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  // The child's first run has reported (the root resumed with it and is idle again)...
  const childId = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return s.phase === 'idle' && s.children[0]?.status === 'completed' ? s.children[0].childSessionId : undefined;
  }, { timeoutMs: 60_000, what: 'the first child run to report' });
  const child = tw.client.workflow.getHandle(sessionWorkflowId(childId));
  const firstRun = (await child.describe()).runId;
  // ...and is still open: the root's model sends a follow-up now.
  expect((await child.describe()).status.name).toBe('RUNNING');
  await sendUserMessage(tw.client, session.id, manage({ action: 'send_message', child_session_id: childId, message: 'the follow-up' }));

  const settled = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    const resumes = resumeMessages(await sessionTranscript(tw.client, session.id));
    return s.phase === 'idle' && s.waiting === null && resumes.length === 2 ? { s, resumes } : undefined;
  }, { timeoutMs: LATE_CLOSE_SECS * 1000 + 40_000, what: 'the follow-up run to report and the root to settle' });
  expect(settled.s.children).toEqual([{ childSessionId: childId, status: 'completed', title: LATE_CLOSE_TITLE }]);
  expect(settled.resumes[1].content).toContain('echo: the follow-up');

  // The race happened: the root's first start of the follow-up run found the first run open.
  const rootHistory = await handle.fetchHistory();
  expect(rootHistory.events?.some((e) => e.startChildWorkflowExecutionFailedEventAttributes)).toBe(true);
  // The follow-up run is a new run that continued from the snapshot of the run that reported.
  const { runId: lastRun } = await child.describe();
  expect(lastRun).not.toBe(firstRun);
  const result = (await tw.client.workflow.getHandle(sessionWorkflowId(childId), lastRun).result()) as ChildRunResult;
  const contents = result.session!.messages.map((m) => m.content);
  expect(contents.some((c) => c.startsWith('echo: ') && c.includes('first draft'))).toBe(true);
  expect(contents.at(-1)).toBe('echo: the follow-up');
  await handle.terminate();
});
