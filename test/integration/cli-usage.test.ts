/**
 * `bamboo usage` and the tokens column of `bamboo ls`, run as real processes the way a user
 * types them, against a depth-2 tree on the real dev server.
 */
import { startSession } from '../../src/client/root-sessions';
import type { UsageReport } from '../../src/cli/commands/usage';
import { bamboo } from '../helpers/cli';
import { eventually } from '../helpers/eventually';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { withTestWorker } from '../helpers/temporal';

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
  expect(lines.at(-1)).toMatch(new RegExp(`^total\\s+\\d+\\s+\\d+\\s+\\d+\\s+${total}\\s+no price$`)); // scripted: no price

  // ls shows the same total in its tokens column (visibility is eventually consistent).
  const listed = await eventually(async () => {
    const ls = await bamboo(['ls', '--kind', 'root', '--limit', '200'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
    return ls.stdout.split('\n').find((l) => l.startsWith(session.id) && l.includes(` ${total} `));
  }, { timeoutMs: 20_000, what: 'the root with its tokens in bamboo ls' });
  expect(listed).toBeDefined();
  await handle.terminate();
}, 180_000);
