/**
 * The tree page's reads for runs that publish no status (`searchAttributes: 'at-start'`): a
 * closed child's outcome comes from its parent's record, read again until the parent has it
 * (a few ticks at most), and again for each new run of the child. The reads are a stand-in
 * for TemporalReads (visibility rows and the parent's `state`); the logic is plain.
 */
import { temporalStatusWord, type RunRow, type TemporalReads } from '../../cli/ui/reads';
import { TreeWatch } from '../../cli/ui/tree-watch';
import type { SessionRunState } from '../../common';

const row = (sessionId: string, extra: Partial<RunRow>): RunRow => ({
  sessionId,
  workflowId: `bamboo-session-${sessionId}`,
  runId: `${sessionId}-1`,
  kind: 'child',
  parentSessionId: 'r',
  status: 'completed',
  statusPublished: false,
  executionStatus: 'COMPLETED',
  tokens: 0,
  costUsd: 0,
  pendingRequests: 0,
  startTime: 10,
  closeTime: 20,
  ...extra,
});

function readsOf(world: { runs: RunRow[]; recorded: Record<string, { status: string; error?: string }> }) {
  const stateReads: string[] = [];
  const reads = {
    treeRuns: async () => world.runs,
    state: async (sessionId: string) => {
      stateReads.push(sessionId);
      const children = Object.entries(world.recorded).map(([childSessionId, r]) => ({ childSessionId, ...r }));
      return { sessionId, children } as unknown as SessionRunState;
    },
    usage: async () => undefined,
    describe: async () => {
      throw new Error('no description in this test');
    },
    client: {},
  } as unknown as TemporalReads;
  return { reads, stateReads };
}

const root = row('r', { kind: 'root', parentSessionId: undefined, status: 'running', executionStatus: 'RUNNING', closeTime: undefined, startTime: 0 });

test('a closed child that publishes no status shows its parent’s record once the parent has it, and each new run is read again', async () => {
  const world = { runs: [root, row('c', {})], recorded: { c: { status: 'running' } } as Record<string, { status: string; error?: string }> };
  const { reads, stateReads } = readsOf(world);
  const watch = new TreeWatch(reads, 'r');
  const node = async () => (await watch.read(100)).tree.sessions.find((s) => s.sessionId === 'c');

  // The parent has not recorded the report yet: Temporal's `completed` stands, and the parent is read again.
  expect(await node()).toMatchObject({ status: 'completed' });
  world.recorded.c = { status: 'error', error: 'no call made' };
  expect(await node()).toMatchObject({ status: 'error', error: 'no call made' });
  const reads1 = stateReads.length;
  expect(await node()).toMatchObject({ status: 'error' });
  expect(stateReads.length).toBe(reads1); // recorded: not read again

  // A follow-up run of the child closes (its status is `completed` again, by Temporal): read again.
  world.runs = [root, row('c', { runId: 'c-2', startTime: 30, closeTime: 40 })];
  world.recorded.c = { status: 'completed' };
  const after = await node();
  expect(after).toMatchObject({ status: 'completed' });
  expect(after?.error).toBeUndefined();
  expect(stateReads.length).toBe(reads1 + 1);
});

test('a parent that never records a closed child’s report is read a few ticks, then left alone', async () => {
  const world = { runs: [root, row('c', {})], recorded: { c: { status: 'running' } } };
  const { reads, stateReads } = readsOf(world);
  const watch = new TreeWatch(reads, 'r');
  for (let tick = 0; tick < 12; tick++) await watch.read(100 + tick);
  expect(stateReads.length).toBe(5);
  expect((await watch.read(200)).tree.sessions.find((s) => s.sessionId === 'c')).toMatchObject({ status: 'completed' });
});

test('Temporal’s execution status in Bamboo’s words, for runs that publish none', () => {
  expect(['RUNNING', 'COMPLETED', 'TIMED_OUT', 'CANCELED', 'TERMINATED', 'FAILED'].map(temporalStatusWord)).toEqual(['running', 'completed', 'timeout', 'cancelled', 'terminated', 'failed']);
});

test('a run that publishes its status keeps it, whatever its parent recorded', async () => {
  const world = { runs: [root, row('c', { status: 'timeout', statusPublished: true })], recorded: { c: { status: 'error', error: 'stale' } } };
  const { reads } = readsOf(world);
  expect((await new TreeWatch(reads, 'r').read(100)).tree.sessions.find((s) => s.sessionId === 'c')).toMatchObject({ status: 'timeout' });
});

test('a follow-up starting (the parent says `pending` again) does not undo the outcome of the run still listed', async () => {
  const world = { runs: [root, row('c', {})], recorded: { c: { status: 'error', error: 'no call made' } } as Record<string, { status: string; error?: string }> };
  const { reads } = readsOf(world);
  const watch = new TreeWatch(reads, 'r');
  const node = async (id: string) => (await watch.read(100)).tree.sessions.find((s) => s.sessionId === id);
  expect(await node('c')).toMatchObject({ status: 'error' });
  // Another child appears (the parent is read again) while c's follow-up start is on its way.
  world.runs = [root, row('c', {}), row('d', { runId: 'd-1', closeTime: undefined, executionStatus: 'RUNNING', status: 'running' })];
  world.recorded = { c: { status: 'pending' }, d: { status: 'running' } };
  expect(await node('c')).toMatchObject({ status: 'error', error: 'no call made' });
  // The follow-up run is listed: it runs.
  world.runs = [root, row('c', { runId: 'c-2', startTime: 30, closeTime: undefined, executionStatus: 'RUNNING', status: 'running' }), world.runs[2]];
  world.recorded = { c: { status: 'running' }, d: { status: 'running' } };
  expect(await node('c')).toMatchObject({ status: 'running' });
});
