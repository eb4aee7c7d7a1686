/**
 * The `bamboo` CLI as users run it: a real process against the real dev server, with a real
 * worker serving the task queue it starts sessions on.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bamboo } from '../helpers/cli';
import { eventually } from '../helpers/eventually';
import { startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';

let tw: TestWorker;
let env: Record<string, string>;
beforeAll(async () => {
  tw = await startTestWorker();
  env = { BAMBOO_TASK_QUEUE: tw.taskQueue };
});
afterAll(async () => {
  await tw?.stop();
});

test('run follows a root session that spawns a child until it is idle, and --json reports it', async () => {
  const id = uniqueId('cli-root');
  const result = await bamboo(['--json', 'run', '[[spawn:Scout|look around]] plan', '--session-id', id], env);
  expect(result.code).toBe(0);
  const out = JSON.parse(result.stdout) as { state: { children: { childSessionId: string; status: string }[] }; messages: { role: string; content: string }[] };
  expect(out.state.children).toEqual([expect.objectContaining({ status: 'completed' })]);
  expect(out.messages.at(-1)?.role).toBe('assistant');

  // ls finds the child by its parent (visibility is eventually consistent).
  const childId = out.state.children[0].childSessionId;
  const listed = await eventually(async () => {
    const ls = await bamboo(['--json', 'ls', '--parent', id], env);
    const rows = JSON.parse(ls.stdout) as { sessionId: string; status: string }[];
    return rows.some((r) => r.sessionId === childId && r.status === 'completed') ? rows : undefined;
  }, { timeoutMs: 20_000 });
  expect(listed).toHaveLength(1);

  const show = await bamboo(['--json', 'show', childId], env);
  expect(show.code).toBe(0);
  expect(JSON.parse(show.stdout)).toMatchObject({ kind: 'child', executionStatus: 'COMPLETED', result: { status: 'completed' } });

  const text = await bamboo(['show', id], env);
  expect(text.stdout).toContain(`bamboo-session-${id}`);
  expect(text.stdout).toContain(childId);
});

test('watch shows token progress from heartbeats while a child streams, then its end', async () => {
  const parent = uniqueId('cli-parent');
  const childId = uniqueId('cli-child');
  const spawn = await bamboo(['spawn', '--parent', parent, '--child-id', childId, '--prompt', '[[sleep:12]] streamed'], env);
  expect(spawn.code).toBe(0);
  const watch = await bamboo(['watch', childId, '--interval', '300'], env);
  expect(watch.code).toBe(0);
  expect(watch.stdout).toMatch(/model scripted\/scripted-model \(turn 1\): \d+ chars "tick 1/);
  expect(watch.stdout).toContain(`session ${childId} closed (completed)`);
});

test('send and cancel act on a running session; show then reports the cancellation', async () => {
  const id = uniqueId('cli-cancel');
  const started = await bamboo(['run', '--no-follow', '--session-id', id, '[[spawn:Long|[[sleep:60]]]]'], env);
  expect(started.code).toBe(0);
  await eventually(async () => {
    const state = await bamboo(['--json', 'state', id], env);
    return state.code === 0 && (JSON.parse(state.stdout) as { phase: string }).phase === 'waiting';
  }, { timeoutMs: 30_000 });
  expect((await bamboo(['send', id, 'status please'], env)).code).toBe(0);
  const cancel = await bamboo(['cancel', id], env);
  expect(cancel.code).toBe(0);
  const shown = await eventually(async () => {
    const show = await bamboo(['--json', 'show', id], env);
    const view = JSON.parse(show.stdout) as { executionStatus: string; result?: { status: string; children: { status: string }[] } };
    return view.executionStatus === 'COMPLETED' ? view : undefined;
  }, { timeoutMs: 30_000 });
  expect(shown.result).toMatchObject({ status: 'cancelled', children: [{ status: 'cancelled' }] });
});

test('run ends, exit 1, when the session it follows is cancelled or terminated elsewhere', async () => {
  const cancelled = uniqueId('cli-follow-cancel');
  const terminated = uniqueId('cli-follow-term');
  const runs = [cancelled, terminated].map((id) => bamboo(['run', '--session-id', id, '[[spawn:Long|[[sleep:60]]]] wait for it'], env));
  const waiting = (id: string) =>
    eventually(async () => {
      const state = await bamboo(['--json', 'state', id], env);
      return state.code === 0 && (JSON.parse(state.stdout) as { phase: string }).phase === 'waiting';
    }, { timeoutMs: 30_000, what: `${id} waiting for its child` });
  await Promise.all([waiting(cancelled), waiting(terminated)]);

  expect((await bamboo(['cancel', cancelled], env)).code).toBe(0); // as from another terminal
  await tw.client.workflow.getHandle(`bamboo-session-${terminated}`).terminate('operator'); // as `temporal workflow terminate`

  const [afterCancel, afterTerminate] = await Promise.all(runs);
  expect(afterCancel.code).toBe(1);
  expect(afterCancel.stdout).toContain(`session ${cancelled} ended while it was followed (cancelled)`);
  expect(afterTerminate.code).toBe(1);
  expect(afterTerminate.stdout).toContain(`session ${terminated} ended while it was followed (terminated)`);
});

test('run --session-id of a running session delivers the prompt to it and follows the answer', async () => {
  const id = uniqueId('cli-again');
  const first = await bamboo(['run', '--session-id', id, 'first question'], env);
  expect(first.code).toBe(0);
  expect(first.stdout).toContain('assistant: echo: first question');
  const runOf = async () => (JSON.parse((await bamboo(['--json', 'show', id], env)).stdout) as { runId: string; executionStatus: string });
  const firstRun = await runOf();
  expect(firstRun.executionStatus).toBe('RUNNING');

  const second = await bamboo(['run', '--session-id', id, '[[spawn:Helper|help out]] second question'], env);
  expect(second.code).toBe(0);
  expect(second.stdout).not.toContain('echo: first question'); // only what is new
  expect(second.stdout).toMatch(/child \S+: completed/);
  expect(second.stdout).toContain(`session ${id} is idle (last turn completed)`);

  // The same run answered both prompts, in order.
  expect((await runOf()).runId).toBe(firstRun.runId);
  const transcript = await bamboo(['--json', 'transcript', id], env);
  const messages = JSON.parse(transcript.stdout) as { role: string; content: string; metadata?: Record<string, string> }[];
  const prompts = messages.filter((m) => m.role === 'user' && m.metadata?.runtime !== 'children').map((m) => m.content);
  expect(prompts).toEqual(['first question', '[[spawn:Helper|help out]] second question']);
  expect(messages.at(-1)?.role).toBe('assistant');

  // --no-follow: sent, not started anew.
  const third = await bamboo(['run', '--no-follow', '--session-id', id, 'third question'], env);
  expect(third.code).toBe(0);
  expect(third.stdout).toContain(`sent to running session ${id}`);
  await eventually(async () => {
    const t = await bamboo(['--json', 'transcript', id], env);
    return (JSON.parse(t.stdout) as { content: string }[]).some((m) => m.content === 'echo: third question');
  }, { timeoutMs: 30_000, what: 'the third answer' });
  expect((await runOf()).runId).toBe(firstRun.runId);
});

test('replay passes recorded histories and fails (exit 1) on a history the code cannot replay', async () => {
  const ok = await bamboo(['replay', 'test/replay/histories/child-completed.json', 'test/replay/histories/root-wait-all.json'], env);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('2 replayed, 0 failed');
  // A history whose first activity is of another type: the current code must reject it.
  const history = readFileSync('test/replay/histories/child-completed.json', 'utf8').replace(/"callModel"/g, '"someOtherActivity"');
  mkdirSync('test-output', { recursive: true });
  const broken = join('test-output', 'broken-history.json');
  writeFileSync(broken, history);
  const bad = await bamboo(['replay', broken], env);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toContain('FAIL');
  expect(bad.stdout).toContain('1 replayed, 1 failed');
});

test('replay downloads a session history from the server', async () => {
  const id = uniqueId('cli-replay');
  expect((await bamboo(['run', '--session-id', id, 'hello'], env)).code).toBe(0);
  const result = await bamboo(['replay', '--session', id], env);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`ok    bamboo-session-${id}`);
});

test('clear errors and exit codes: unknown session 3, bad flags 2, unreachable server 4', async () => {
  const unknown = await bamboo(['show', 'no-such-session'], env);
  expect(unknown.code).toBe(3);
  expect(unknown.stderr).toContain('no session no-such-session');
  const badFlag = await bamboo(['ls', '--status', 'sleeping'], env);
  expect(badFlag.code).toBe(2);
  expect(badFlag.stderr).toContain('--status must be one of');
  const unreachable = await bamboo(['--address', '127.0.0.1:1', 'ls'], env);
  expect(unreachable.code).toBe(4);
  expect(unreachable.stderr).toContain('cannot reach the Temporal server at 127.0.0.1:1');
});
