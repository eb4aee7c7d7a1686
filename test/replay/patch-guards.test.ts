/**
 * The replay fixtures guard every patch, both ways (test/replay/guards/patched-switch.ts swaps
 * the SDK's `patched()` in a bundle of the current workflows):
 *  - a fixture recorded before a patch (`…-before-…patch…`) fails to replay when its guard is
 *    always taken: it is what stops someone from deleting the old branch;
 *  - for every patch id in workflows/, a fixture that recorded its marker fails to replay when
 *    that guard is never taken: the new branch is recorded, so a change to it is caught.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkflowBundle } from '../../worker/bundle';
import { workerDataConverter } from '../../worker/codec/worker-data-converter';

const DIR = join(__dirname, 'histories');
const ROOT = join(__dirname, '..', '..');
const fixtures = readdirSync(DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, history: historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8'))) }));

/** The patch ids the workflow code declares (each `patched('…')` call or `…_PATCH = '…'` constant). */
function patchIdsInCode(): string[] {
  const dir = join(ROOT, 'workflows');
  const ids = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/patched\('([^']+)'\)|_PATCH = '([^']+)'/g)) ids.add(m[1] ?? m[2]);
  }
  return [...ids].sort();
}

/** The patch ids whose markers a history recorded. */
function markersOf(history: (typeof fixtures)[number]['history']): Set<string> {
  const ids = new Set<string>();
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    if (data) ids.add((JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id);
  }
  return ids;
}

let bundlePath: string;

beforeAll(async () => {
  const code = await buildWorkflowBundle({
    workflowsPath: require.resolve('../workflows'),
    encodeFailures: false,
    aliases: { '@temporalio/workflow': require.resolve('./guards/patched-switch') },
  });
  mkdirSync(join(ROOT, 'test-output'), { recursive: true });
  bundlePath = join(ROOT, 'test-output', 'patch-guards-bundle.js');
  writeFileSync(bundlePath, code);
}, 120_000);

/** Replays each history under the given workflow id; returns the files that failed. */
async function failing(runs: { file: string; workflowId: string; history: (typeof fixtures)[number]['history'] }[]): Promise<string[]> {
  const failed: string[] = [];
  const histories = runs.map(({ workflowId, history }) => ({ workflowId, history }));
  const fileOf = new Map(runs.map((r) => [r.workflowId, r.file]));
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundlePath }, dataConverter: workerDataConverter() }, histories)) {
    if (result.error) failed.push(fileOf.get(result.workflowId)!);
  }
  return failed.sort();
}

test('the switch leaves the SDK’s answer alone for any other workflow id: every fixture replays', async () => {
  expect(await failing(fixtures.map(({ file, history }) => ({ file, workflowId: file, history })))).toEqual([]);
}, 120_000);

test('every fixture recorded before a patch fails to replay once its guard is always taken', async () => {
  const before = fixtures.filter(({ file }) => /before-(.+-)?patch/.test(file));
  expect(before.length).toBeGreaterThanOrEqual(5);
  const failed = await failing(before.map(({ file, history }) => ({ file, workflowId: `${file}#all`, history })));
  expect(failed).toEqual(before.map((f) => f.file).sort());
}, 120_000);

/**
 * Patches whose new branch no run on a real server can be made to take on demand, each with
 * why and where its branch is tested instead. Its old branch is every fixture's (they replay).
 */
const BRANCH_NOT_RECORDABLE: Record<string, string> = {
  // The restart's start must fail for another reason than "already started", which Temporal's
  // child-start failures do not give within one namespace: test/unit/child-tracker.test.ts.
  'bamboo-messages-after-failed-start': 'a restart whose start failed',
  // A message must reach the run in the task after its last report, while a notice of a
  // grandchild that closed unreported is still on its way to the root: a window of one task.
  'bamboo-messages-at-last-step': 'a message while the last notices are sent',
  // Its new branch changes a command only when a late report reaches the root while it cancels
  // its children (root-cancelled-closed-first.json has its marker): test/unit/child-tracker.test.ts.
  'bamboo-root-closed-at-cancel': 'a late report while a cancelled root waits for its children',
};

test('every patch in the workflow code has a fixture that fails to replay once its guard is never taken', async () => {
  const ids = patchIdsInCode().filter((id) => !Object.hasOwn(BRANCH_NOT_RECORDABLE, id));
  expect(ids.length).toBeGreaterThanOrEqual(11);
  const uncovered: string[] = [];
  for (const id of ids) {
    const recorded = fixtures.filter(({ history }) => markersOf(history).has(id));
    const failed = await failing(recorded.map(({ file, history }) => ({ file, workflowId: `${file}#without:${id}`, history })));
    if (failed.length === 0) uncovered.push(`${id} (${recorded.length} fixtures recorded its marker)`);
  }
  expect(uncovered).toEqual([]);
}, 300_000);
