/**
 * `bamboo usage`, the tokens column of `bamboo ls` and `bamboo run`'s budget flags, run as
 * real processes the way a user types them, against trees on the real dev server.
 */
import { sessionWorkflowId } from '../../common';
import { startSession } from '../../client/root-sessions';
import type { UsageReport } from '../../cli/commands/usage';
import { ExitCode } from '../../cli/context';
import { bamboo } from '../helpers/cli';
import { eventually } from '../helpers/eventually';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { uniqueId, withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();

test('bamboo usage --tree prints every session of the tree with its tokens, and a total that adds up', async () => {
  const session = rootSession('[[spawn:Lead|[[spawn:Helper|dig]] organise]] [[spawn:Solo|alone]] plan');
  const handle = await startSession(tw.client, { session, options: { maxSpawnDepth: 2 } }, { taskQueue: tw.taskQueue });
  const state = await settled(tw.client, session.id, 90_000);

  const json = await bamboo(['--json', 'usage', session.id, '--tree'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(json.code).toBe(0);
  const report = JSON.parse(json.stdout) as UsageReport;
  expect(report.rows.map((r) => r.depth)).toEqual([0, 1, 2, 1]); // own calls, Lead, Lead's Helper, Solo
  const ownAndChildren = report.rows.filter((r) => r.depth < 2).reduce((n, r) => n + r.usage.inputTokens + r.usage.outputTokens, 0);
  const total = report.total.subtree.inputTokens + report.total.subtree.outputTokens;
  expect(ownAndChildren).toBe(total); // a child's figures include its own children
  expect(total).toBe(state.subtreeUsage!.inputTokens + state.subtreeUsage!.outputTokens);

  const text = await bamboo(['usage', session.id, '--tree'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(text.code).toBe(0);
  const lines = text.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^SESSION\s+INPUT\s+OUTPUT\s+CACHED\s+TOKENS\s+COST$/);
  expect(lines[1]).toContain(`${session.id} (own calls)`);
  expect(lines.filter((l) => /^ {2}\S/.test(l))).toHaveLength(2); // the two children
  expect(lines.filter((l) => /^ {4}\S/.test(l))).toHaveLength(1); // the grandchild
  expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^total\\s+\\d+\\s+\\d+\\s+\\d+\\s+${total}\\s+no price$`))); // scripted: no price
  expect(lines.at(-1)).toMatch(/^child runs\s+3$/); // Lead, its Helper, Solo
  expect(text.stdout).not.toContain('budget'); // no budget, no budget block

  // ls shows the same total in its tokens column (visibility is eventually consistent).
  const listed = await eventually(async () => {
    const ls = await bamboo(['ls', '--kind', 'root', '--limit', '200'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
    return ls.stdout.split('\n').find((l) => l.startsWith(session.id) && l.includes(` ${total} `));
  }, { timeoutMs: 20_000, what: 'the root with its tokens in bamboo ls' });
  expect(listed).toBeDefined();
  await handle.terminate();
}, 180_000);

test('bamboo usage --tree: a row with no model calls shows no cost (—), the rows without a price say "no price", each the same way', async () => {
  const session = rootSession('[[spawn:Fine|done]] [[spawn:Broken|[[fail:no call made]]]] plan');
  const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
  const state = await settled(tw.client, session.id, 90_000);
  const [fine, broken] = state.children.map((c) => c.childSessionId);

  const text = await bamboo(['usage', session.id, '--tree'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(text.code).toBe(0);
  const cost = (name: string) => text.stdout.split('\n').find((l) => l.trimStart().startsWith(name))?.split(/\s{2,}/).at(-1);
  expect(cost(`${session.id} (own calls)`)).toBe('no price'); // scripted: tokens, no price
  expect(cost(fine)).toBe('no price');
  expect(cost(broken)).toBe('—'); // its only call failed: nothing counted, nothing to price
  expect(cost('total')).toBe('no price');
  expect(text.stdout).not.toContain('$0.000000');
  await handle.terminate();
}, 180_000);

test('bamboo run --max-sessions 1 lets the root start one child and refuses the second; bamboo usage shows the budget', async () => {
  const id = uniqueId('budget');
  const env = { BAMBOO_TASK_QUEUE: tw.taskQueue };
  const run = await bamboo(['run', '--session-id', id, '--max-sessions', '1', '--max-tokens', '100000', '[[spawn:A|leaf]] [[spawn:B|leaf]] go'], env);
  expect(run.code).toBe(0); // followed until idle, last turn completed
  await settled(tw.client, id, 90_000);

  const transcript = await bamboo(['transcript', id], env);
  expect(transcript.code).toBe(0);
  expect(transcript.stdout).toContain('Session budget exceeded: sessions (1/1)'); // B's spawn, as the tool's answer

  const text = await bamboo(['usage', id], env);
  expect(text.code).toBe(0);
  const lines = text.stdout.trim().split('\n');
  expect(lines).toContainEqual(expect.stringMatching(/^child runs\s+1$/));
  expect(lines).toContainEqual(expect.stringMatching(/^budget\s+tokens\s+\d+ used of 100000 \(\d+ left\)$/));
  expect(lines).toContainEqual(expect.stringMatching(/^\s+sessions\s+1 used of 1 \(0 left\)$/));

  const json = await bamboo(['usage', id, '--json'], env);
  expect(json.code).toBe(0);
  const report = JSON.parse(json.stdout) as UsageReport;
  expect(report.total.childRuns).toBe(1);
  expect(report.total.budget?.limits).toEqual({ maxTokens: 100000, maxSessions: 1 });
  expect(report.total.budget?.used.sessions).toBe(1);
  expect(report.total.budget?.remaining.sessions).toBe(0);
  await tw.client.workflow.getHandle(sessionWorkflowId(id)).terminate();
}, 180_000);

test('bamboo run --max-tokens 0 is bad usage, named after the budget field, before anything starts', async () => {
  const result = await bamboo(['run', '--max-tokens', '0', 'x'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(result.code).toBe(ExitCode.usage);
  expect(result.stderr).toContain('budget.maxTokens');
});
