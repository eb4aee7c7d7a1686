/**
 * `searchAttributes: 'at-start'` (issue 30): a tree whose runs keep the search attributes they
 * started with. Started the way a user types it (`bamboo run --search-attributes at-start`), on
 * the real dev server: no run of the tree upserts Bamboo's attributes, children at every depth
 * inherit the mode, a child that cannot spawn and calls the model once writes bare Temporal's 16
 * events (no upsert at all), and the readers still tell each session's outcome (the tree from
 * Temporal's status and the parents' records).
 */
import { temporal } from '@temporalio/proto';
import { BambooModel, BambooParentSessionId, BambooRootSessionId, BambooRunStatus, BambooSessionKind, BambooTokens, sessionWorkflowId } from '../../common';
import { TemporalReads } from '../../cli/ui/reads';
import { TreeWatch } from '../../cli/ui/tree-watch';
import { ExitCode } from '../../cli/context';
import { bamboo } from '../helpers/cli';
import { eventually } from '../helpers/eventually';
import { settled } from '../helpers/root';
import { testServer, uniqueId, withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();
const { EventType } = temporal.api.enums.v1;

test('bamboo run --search-attributes at-start: no run of the tree upserts Bamboo’s attributes, a one-call leaf child writes 16 events, and the tree still shows every outcome', async () => {
  const id = uniqueId('at-start');
  const prompt = '[[spawn:Fine|done]] [[spawn:Broken|[[fail:no call made]]]] [[spawn:Lead|[[spawn:Helper|dig]] organise]] plan';
  const started = await bamboo(['--json', 'run', prompt, '--session-id', id, '--search-attributes', 'at-start', '--max-spawn-depth', '2', '--no-follow'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(started.code).toBe(0);
  expect(JSON.parse(started.stdout)).toMatchObject({ sessionId: id });
  const state = await settled(tw.client, id, 90_000);
  const byTitle = new Map(state.children.map((c) => [c.title, c]));
  expect(byTitle.get('Fine')?.status).toBe('completed');
  expect(byTitle.get('Broken')).toMatchObject({ status: 'error', error: 'no call made' });

  // Every run of the tree, at every depth: started with what it is, never an upsert.
  const runs: { workflowId: string; runId: string }[] = [];
  await eventually(async () => {
    runs.length = 0;
    for await (const run of tw.client.workflow.list({ query: `BambooRootSessionId = "${id}"` })) runs.push(run);
    return runs.length === 5 ? runs : undefined; // the root, Fine, Broken, Lead, Lead's Helper
  }, { timeoutMs: 20_000, what: 'the five runs of the tree in visibility' });
  for (const run of runs) {
    const handle = tw.client.workflow.getHandle(run.workflowId, run.runId);
    const events = (await handle.fetchHistory()).events ?? [];
    // The SDK's own TemporalChangeVersion (beside a patch marker) is the only upsert left.
    const upserted = events.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
    expect({ workflowId: run.workflowId, upserted: upserted.filter((key) => key !== 'TemporalChangeVersion') }).toEqual({ workflowId: run.workflowId, upserted: [] });
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(BambooRunStatus)).toBeUndefined();
    expect(attributes.get(BambooTokens)).toBeUndefined();
    expect(attributes.get(BambooRootSessionId)).toBe(id);
    expect(attributes.get(BambooModel)).toBeDefined();
  }
  const helper = runs.find((r) => r.workflowId !== sessionWorkflowId(id) && ![...byTitle.values()].some((c) => sessionWorkflowId(c.childSessionId) === r.workflowId))!;
  const lead = byTitle.get('Lead')!;
  expect((await tw.client.workflow.getHandle(helper.workflowId).describe()).typedSearchAttributes.get(BambooParentSessionId)).toBe(lead.childSessionId);
  const root = await tw.client.workflow.getHandle(sessionWorkflowId(id)).describe();
  expect(root.typedSearchAttributes.get(BambooSessionKind)).toBe('root');

  // Bare Temporal's child (bench/workflows/baseline.ts) writes 16 events for one model call: so
  // does a child that cannot spawn (Helper, at the deepest depth), with no upsert at all.
  const helperEvents = (await tw.client.workflow.getHandle(helper.workflowId).fetchHistory()).events ?? [];
  expect(helperEvents).toHaveLength(16);
  expect(helperEvents.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)).toEqual([]);

  // The tree page's reads: Temporal says each child completed; the parent's record says how.
  const view = await new TreeWatch(new TemporalReads(tw.client, testServer().namespace), id).read();
  const node = (title: string) => view.tree.sessions.find((s) => s.sessionId === byTitle.get(title)?.childSessionId);
  expect(node('Fine')).toMatchObject({ status: 'completed' });
  expect(node('Broken')).toMatchObject({ status: 'error', error: 'no call made' });
  expect(view.tree.sessions.find((s) => s.sessionId === helper.workflowId.replace(/^bamboo-session-/, ''))).toMatchObject({ status: 'completed', depth: 2 });
  expect(view.tree.root).toMatchObject({ status: 'running' }); // idle between turns, as Temporal says

  // `bamboo ls` shows Temporal's status where a run publishes none.
  const ls = await bamboo(['--json', 'ls', '--parent', id], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(ls.code).toBe(0);
  const rows = JSON.parse(ls.stdout) as { sessionId: string; status: string }[];
  expect(rows.map((r) => r.status).sort()).toEqual(['completed', 'completed', 'completed']);

  await tw.client.workflow.getHandle(sessionWorkflowId(id)).terminate('test done');
}, 180_000);

test('bamboo run --search-attributes with another mode exits 2 and names both', async () => {
  const result = await bamboo(['run', 'hello', '--search-attributes', 'sometimes', '--no-follow'], { BAMBOO_TASK_QUEUE: tw.taskQueue });
  expect(result.code).toBe(ExitCode.usage);
  expect(result.stderr).toContain('--search-attributes must be upserted or at-start (got sometimes)');
});
