/**
 * Root sessions spawn children through the scripted `[[spawn:…]]` directive, wait for them
 * durably and resume with their results, under each wait policy.
 */
import { startSession } from '../../client/root-sessions';
import { completionSignalsSent, resumeMessages, sessionState, sessionTranscript, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';
import { watchdogSeconds } from '../helpers/watchdog-text';

const tw = withTestWorker();

test('three children — completed, failed, stalled — resume the parent once under `all`, with all three statuses', async () => {
  const session = rootSession('Plan. [[spawn:Alpha|write it]] [[spawn:Beta|[[fail:disk full]]]] [[spawn:Gamma|[[stall:60]]]]', {
    'child_watchdog.max_idle_secs': '3',
  });
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const final = await settled(tw.client, session.id);
  expect(final.children.map((c) => c.status).sort()).toEqual(['completed', 'error', 'timeout']);
  const messages = await sessionTranscript(tw.client, session.id);
  const resumes = resumeMessages(messages);
  expect(resumes).toHaveLength(1);
  expect(resumes[0].content).toContain('status `completed`');
  expect(resumes[0].content).toContain('status `error`');
  expect(resumes[0].content).toContain('Error: disk full');
  expect(resumes[0].content).toContain('status `timeout`');
  const idle = /Child session idle timeout after \d+ seconds without events \(max_idle_secs=3\)/.exec(resumes[0].content)?.[0];
  expect(watchdogSeconds(idle, 'idle', 3)).toBeGreaterThanOrEqual(3);
  expect(resumes[0].content).toContain('Remaining child sessions: 0.');
  // The parent answered after resuming, and every child reported exactly once.
  expect(messages.at(-1)?.role).toBe('assistant');
  for (const child of final.children) expect(await completionSignalsSent(tw.client, child.childSessionId)).toBe(1);
  await handle.terminate();
});

test('`any` resumes the parent at the first finished child, while the others still run', async () => {
  const session = rootSession('[[spawn:Fast|[[sleep:1]] quick]] [[spawn:Slow|[[sleep:8]] slow]]');
  const handle = await startSession(tw.client, { session, options: { waitPolicy: 'any' } }, { taskQueue: tw.taskQueue });
  const firstResume = await eventually(async () => resumeMessages(await sessionTranscript(tw.client, session.id))[0], { timeoutMs: 30_000 });
  expect(firstResume.content).toContain('(“Fast”) finished with status `completed`');
  expect(firstResume.content).not.toContain('Slow');
  expect(firstResume.content).toContain('Remaining child sessions: 1.');
  // Slow's result still reaches the transcript, once, when it ends.
  await settled(tw.client, session.id);
  const resumes = resumeMessages(await sessionTranscript(tw.client, session.id));
  expect(resumes).toHaveLength(2);
  expect(resumes[1].content).toContain('(“Slow”) finished with status `completed`');
  await handle.terminate();
});

test('`first_error` resumes the parent at the first failure, before the rest finish', async () => {
  const session = rootSession('[[spawn:Steady|[[sleep:8]] fine]] [[spawn:Shaky|[[sleep:1]] [[fail:bad input]]]]');
  const handle = await startSession(tw.client, { session, options: { waitPolicy: 'first_error' } }, { taskQueue: tw.taskQueue });
  const firstResume = await eventually(async () => resumeMessages(await sessionTranscript(tw.client, session.id))[0], { timeoutMs: 30_000 });
  expect(firstResume.content).toContain('(“Shaky”) finished with status `error`');
  expect(firstResume.content).toContain('Remaining child sessions: 1.');
  const stateAtResume = await sessionState(tw.client, session.id);
  expect(stateAtResume.children.find((c) => c.status === 'running')).toBeDefined();
  await handle.terminate();
});

test('a child that finishes before the parent starts waiting is not missed', async () => {
  // The parent's own turn goes on for 3 s after spawning (a slow tool), while the child ends at once.
  const session = rootSession('[[spawn:Quick|instant]] [[tool:wait|{"seconds":3}]]');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id);
  const resumes = resumeMessages(await sessionTranscript(tw.client, session.id));
  expect(resumes).toHaveLength(1);
  expect(resumes[0].content).toContain('(“Quick”) finished with status `completed`');
  await handle.terminate();
});

test('an expired wait lease resumes the parent without killing the child', async () => {
  const session = rootSession('[[spawn:Marathon|[[sleep:6]] finished]]');
  const handle = await startSession(tw.client, { session, options: { waitLeaseSecs: 2 } }, { taskQueue: tw.taskQueue });
  const first = await eventually(async () => resumeMessages(await sessionTranscript(tw.client, session.id))[0], { timeoutMs: 30_000 });
  expect(first.content).toContain('the wait for child sessions expired after 2 seconds; they keep running');
  expect((await sessionState(tw.client, session.id)).children).toEqual([expect.objectContaining({ status: 'running' })]);
  const final = await settled(tw.client, session.id);
  expect(final.children).toEqual([expect.objectContaining({ status: 'completed' })]);
  const resumes = resumeMessages(await sessionTranscript(tw.client, session.id));
  expect(resumes.filter((m) => m.content.includes('(“Marathon”) finished with status `completed`'))).toHaveLength(1);
  await handle.terminate();
});
