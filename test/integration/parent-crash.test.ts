/**
 * A worker SIGKILLed while a root session waits on ten children: after a new worker
 * starts, every child finishes and the parent resumes exactly once.
 */
import { startSession } from '../../client/root-sessions';
import { completionSignalsSent, resumeMessages, sessionState, sessionTranscript, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { connectTestClient, uniqueId } from '../helpers/temporal';
import { killStartedProcesses } from '../helpers/processes';
import { startWorkerProcess } from '../helpers/worker-process';
import type { Client } from '@temporalio/client';

let client: Client;
beforeAll(async () => {
  client = await connectTestClient();
});
afterAll(async () => {
  await killStartedProcesses();
  await client?.connection.close();
});

test('worker killed while the parent waits on 10 children: all finish, the parent resumes once', async () => {
  const taskQueue = uniqueId('parent-crash');
  const first = await startWorkerProcess({ taskQueue });
  const spawns = Array.from({ length: 10 }, (_, i) => `[[spawn:C${i + 1}|[[sleep:6]] part ${i + 1}]]`).join(' ');
  const session = rootSession(spawns, { 'child_watchdog.max_idle_secs': '5' });
  const handle = await startSession(client, { session }, { taskQueue });
  await eventually(async () => {
    const s = await sessionState(client, session.id);
    return s.phase === 'waiting' && s.children.filter((c) => c.status === 'running').length === 10;
  }, { timeoutMs: 60_000, what: 'the parent to wait on 10 running children' });

  await first.kill('SIGKILL');
  await startWorkerProcess({ taskQueue });

  const final = await settled(client, session.id, 120_000);
  expect(final.children).toHaveLength(10);
  expect(final.children.every((c) => c.status === 'completed')).toBe(true);
  const resumes = resumeMessages(await sessionTranscript(client, session.id));
  expect(resumes).toHaveLength(1);
  expect(resumes[0].content.match(/finished with status `completed`/g)).toHaveLength(10);
  for (const child of final.children) expect(await completionSignalsSent(client, child.childSessionId)).toBe(1);
  await handle.terminate();
});
