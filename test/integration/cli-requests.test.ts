/**
 * A person in the loop from the command line, run as real processes the way a user types
 * them: `bamboo requests`, `bamboo approve`, `bamboo answer`, `bamboo steer`, and `bamboo send`
 * to a finished child, against the real dev server and a worker whose tool policy asks for
 * `append_line`.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionWorkflowId, type ChildRunResult, type PendingRequest } from '../../common';
import type { TreeWaitingForAPerson } from '../../client/requests';
import { pendingRequests } from '../../client/requests';
import { sessionState } from '../../client/root-sessions';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { createToolRegistry } from '../../worker/tools/types';
import { msToTs } from '@temporalio/common/lib/time';
import { bamboo } from '../helpers/cli';
import { ensureSearchAttributes } from '../../cli/temporal/search-attributes';
import { eventually } from '../helpers/eventually';
import { settled } from '../helpers/root';
import { appendLineTool } from '../fixtures/test-tools';
import { uniqueId, withTestWorker } from '../helpers/temporal';

const tw = withTestWorker({ deps: { tools: createToolRegistry([...BUILTIN_TOOLS, appendLineTool('append_line', false)]), toolPolicy: { tools: { append_line: 'ask' } } } });
const env = () => ({ BAMBOO_TASK_QUEUE: tw.taskQueue });
const workDir = mkdtempSync(join(tmpdir(), 'bamboo-cli-requests-'));

/** Starts a root session from the CLI (not followed) and waits until it is idle. */
async function idleRoot(prompt = 'hello'): Promise<string> {
  const id = uniqueId('req-root');
  const run = await bamboo(['run', '--no-follow', '--session-id', id, prompt], env());
  expect(run.code).toBe(0);
  await settled(tw.client, id);
  return id;
}

/**
 * A namespace of its own, with Bamboo's search attributes, where nothing waits for a person:
 * other test files on the shared server have roots waiting at the same time.
 */
async function emptyNamespace(): Promise<string> {
  const namespace = uniqueId('no-requests');
  await tw.client.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('24h') });
  await eventually(async () => (await ensureSearchAttributes(tw.client, namespace).then(() => true, () => false)), { timeoutMs: 30_000, what: 'the namespace to take search attributes' });
  return namespace;
}

test('bamboo requests with nothing pending prints an empty list, as text and as JSON', async () => {
  const root = await idleRoot();

  const namespace = await emptyNamespace();
  const all = await eventually(async () => {
    const out = await bamboo(['requests'], { ...env(), TEMPORAL_NAMESPACE: namespace });
    return out.code === 0 ? out : undefined;
  }, { timeoutMs: 30_000, what: 'bamboo requests in the new namespace' });
  expect(all.stdout.trim()).toBe('no root sessions waiting for a person');
  const allJson = await bamboo(['--json', 'requests'], { ...env(), TEMPORAL_NAMESPACE: namespace });
  expect(allJson.code).toBe(0);
  expect(JSON.parse(allJson.stdout)).toEqual([]);

  const one = await bamboo(['requests', root], env());
  expect(one.code).toBe(0);
  expect(one.stdout.trim()).toBe('no pending requests');
  const oneJson = await bamboo(['requests', root, '--json'], env());
  expect(oneJson.code).toBe(0);
  expect(JSON.parse(oneJson.stdout)).toEqual([]);

  await tw.client.workflow.getHandle(sessionWorkflowId(root)).terminate();
}, 120_000);

test('an ask tool call in a child is listed at its root, approved with bamboo approve, and then runs; a second decision is rejected', async () => {
  const file = join(workDir, 'approved.txt');
  const root = uniqueId('req-approve');
  const prompt = `[[spawn:Writer|[[tool:append_line|{"file":${JSON.stringify(file)}}]] write it]] go`;
  expect((await bamboo(['run', '--no-follow', '--session-id', root, prompt], env())).code).toBe(0);
  const [request] = await eventually(async () => {
    const pending = await pendingRequests(tw.client, root);
    return pending.length > 0 ? pending : undefined;
  }, { timeoutMs: 60_000, what: 'the child’s request at the root' });
  expect(request).toMatchObject({ kind: 'tool', tool: 'append_line' });
  expect(request.sessionId).not.toBe(root);
  expect(existsSync(file)).toBe(false); // not run before a person says so

  const listed = await bamboo(['requests', root], env());
  expect(listed.code).toBe(0);
  const [header, row] = listed.stdout.trim().split('\n');
  expect(header).toMatch(/^REQUEST\s+SESSION\s+KIND\s+TOOL\/QUESTION\s+ARGUMENTS\s+REQUESTED\s+EXPIRES$/);
  expect(row.split(/\s{2,}/)).toEqual([request.requestId, request.sessionId, 'tool', 'append_line', JSON.stringify({ file }), request.requestedAt, request.expiresAt]);
  const listedJson = JSON.parse((await bamboo(['--json', 'requests', root], env())).stdout) as PendingRequest[];
  expect(listedJson).toEqual([request]);

  // Every tree waiting for a person, from visibility (eventually consistent).
  const trees = await eventually(async () => {
    const all = await bamboo(['--json', 'requests'], env());
    const rows = JSON.parse(all.stdout) as TreeWaitingForAPerson[];
    return rows.some((r) => r.rootSessionId === root) ? rows : undefined;
  }, { timeoutMs: 20_000, what: 'the root in bamboo requests' });
  // Other tests' trees may be waiting too (one namespace): this one is listed once, and every row waits.
  expect(trees.filter((r) => r.rootSessionId === root)).toEqual([expect.objectContaining({ rootSessionId: root, pendingRequests: 1 })]);
  expect(trees.every((r) => r.pendingRequests > 0)).toBe(true);
  const treesText = await bamboo(['requests'], env());
  expect(treesText.stdout.trim().split('\n')[0]).toMatch(/^ROOT\s+PENDING\s+STARTED$/);

  const approve = await bamboo(['approve', root, request.requestId, '--reason', 'looks fine'], env());
  expect(approve.stderr).toBe('');
  expect(approve.code).toBe(0);
  expect(approve.stdout.trim()).toBe(`approved request ${request.requestId} (delivered)`);

  const state = await settled(tw.client, root, 60_000);
  expect(state.pendingRequests).toEqual([]);
  expect(readFileSync(file, 'utf8')).toBe('ran\n'); // the call ran, once
  const child = (await tw.client.workflow.getHandle(sessionWorkflowId(request.sessionId)).result()) as ChildRunResult;
  expect(child.status).toBe('completed');
  expect(child.session!.messages.find((m) => m.role === 'tool')?.content).toBe('appended');

  const again = await bamboo(['--json', 'deny', root, request.requestId], env());
  expect(again.code).toBe(1);
  expect(again.stderr.trim()).toBe(`bamboo: request ${JSON.stringify(request.requestId)} was already answered`);
  expect((await bamboo(['requests', root], env())).stdout.trim()).toBe('no pending requests');
  await tw.client.workflow.getHandle(sessionWorkflowId(root)).terminate();
}, 180_000);

test('bamboo answer with an unknown request id exits 1 with the validator’s message', async () => {
  const root = await idleRoot();
  const answer = await bamboo(['answer', root, 'no-such-id', 'some text'], env());
  expect(answer.code).toBe(1);
  expect(answer.stdout).toBe('');
  expect(answer.stderr.trim()).toBe('bamboo: unknown request "no-such-id"');
  await tw.client.workflow.getHandle(sessionWorkflowId(root)).terminate();
}, 120_000);

test('bamboo steer on a streaming child prints the turn its message is merged at; bamboo send to it still injects', async () => {
  const root = await idleRoot();
  const childId = uniqueId('req-steered');
  const spawn = await bamboo(['spawn', '--parent', root, '--child-id', childId, '--prompt', '[[sleep:20]] first'], env());
  expect(spawn.code).toBe(0);
  await eventually(async () => (await sessionState(tw.client, childId)).status === 'running', { timeoutMs: 30_000, what: 'the child to run' });

  const send = await bamboo(['send', childId, 'also this'], env()); // a running child: injected, as before
  expect(send.code).toBe(0);
  expect(send.stdout.trim()).toBe(`sent to ${childId}`);
  const steer = await bamboo(['steer', childId, 'change course'], env());
  expect(steer.stderr).toBe('');
  expect(steer.code).toBe(0);
  expect(steer.stdout.trim()).toMatch(/^merged at turn \d+$/);

  const result = (await tw.client.workflow.getHandle(sessionWorkflowId(childId)).result()) as ChildRunResult;
  expect(result.status).toBe('completed');
  const contents = result.session!.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]);
  expect(contents).toEqual([
    ['user', '[[sleep:20]] first'],
    ['assistant', expect.stringContaining('echo: first')],
    ['user', 'also this'],
    ['user', 'change course'], // merged at the same turn boundary
    ['assistant', 'echo: change course'],
  ]);
  await tw.client.workflow.getHandle(sessionWorkflowId(root)).terminate();
}, 180_000);

test('bamboo steer on a session that is not running exits 1 and says so', async () => {
  const root = await idleRoot();
  await tw.client.workflow.getHandle(sessionWorkflowId(root)).terminate();
  const steer = await bamboo(['steer', root, 'too late'], env());
  expect(steer.code).toBe(1);
  expect(steer.stderr.trim()).toBe(`bamboo: session ${root} is not running (terminated)`);
}, 120_000);

test('bamboo send to a finished child starts its next run from its snapshot: earlier messages, then the new one', async () => {
  const root = await idleRoot();
  const childId = uniqueId('req-followup');
  const spawn = await bamboo(['spawn', '--parent', root, '--child-id', childId, '--prompt', 'first', '--metadata', 'team=blue', '--wait'], env());
  expect(spawn.code).toBe(0);
  const handle = tw.client.workflow.getHandle(sessionWorkflowId(childId));
  const firstRunId = (await handle.describe()).runId;

  const send = await bamboo(['--json', 'send', childId, 'second'], env());
  expect(send.stderr).toBe('');
  expect(send.code).toBe(0);
  const sent = JSON.parse(send.stdout) as { delivery: string; runId: string; parentSessionId: string; model: string };
  expect(sent).toMatchObject({ delivery: 'next-run', parentSessionId: root, model: 'scripted-model' });
  expect(sent.runId).not.toBe(firstRunId);

  const next = (await tw.client.workflow.getHandle(sessionWorkflowId(childId), sent.runId).result()) as ChildRunResult;
  expect(next.status).toBe('completed');
  expect(next.session!.metadata.team).toBe('blue'); // the session's metadata is kept
  expect(next.session!.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content])).toEqual([
    ['user', 'first'],
    ['assistant', 'echo: first'],
    ['user', 'second'],
    ['assistant', 'echo: second'],
  ]);
  await tw.client.workflow.getHandle(sessionWorkflowId(root)).terminate();
}, 180_000);

test('bamboo approve and steer reject bad input before connecting (exit 2), and unknown sessions exit 3', async () => {
  const empty = await bamboo(['steer', 'anyone', '   '], env());
  expect(empty.code).toBe(2);
  expect(empty.stderr).toContain('invalid message: content');
  const missing = await bamboo(['approve', uniqueId('nobody'), 'r1'], env());
  expect(missing.code).toBe(3);
});
