/**
 * The tree page's plain parts (issue 27): a tree from visibility's runs (follow-up runs of one
 * session in one row, own tokens = subtree minus children, a run whose parent is not listed hangs
 * under the root), bars on the time axis, and the list's visibility query, whose filter values
 * cannot change its shape.
 */
import type { RunRow } from '../../cli/ui/reads';
import { visibilityQuery } from '../../cli/ui/server';
import { barOf, buildTree } from '../../cli/ui/tree';
import { stateFragment, timeLeft } from '../../cli/ui/views';
import type { SessionRunState } from '../../common';

const run = (sessionId: string, extra: Partial<RunRow>): RunRow => ({
  sessionId,
  workflowId: `bamboo-session-${sessionId}`,
  runId: `${sessionId}-${extra.startTime ?? 0}`,
  kind: 'child',
  status: 'completed',
  statusPublished: true,
  executionStatus: 'COMPLETED',
  tokens: 0,
  costUsd: 0,
  pendingRequests: 0,
  startTime: 0,
  ...extra,
});

test('sessions under their parents, depth first; a session’s runs in one row; own tokens are its subtree’s minus its children’s', () => {
  const runs = [
    run('r', { kind: 'root', status: 'running', executionStatus: 'RUNNING', tokens: 100, costUsd: 0.5, startTime: 0 }),
    run('a', { parentSessionId: 'r', tokens: 40, costUsd: 0.2, startTime: 10, closeTime: 50 }),
    run('a1', { parentSessionId: 'a', tokens: 15, costUsd: 0.1, startTime: 20, closeTime: 30 }),
    run('b', { parentSessionId: 'r', tokens: 20, startTime: 5, closeTime: 15 }),
    // b's follow-up run starts from zero: b's subtree is both runs'; the latest says the status.
    run('b', { parentSessionId: 'r', tokens: 10, status: 'error', startTime: 60, closeTime: 70 }),
    // A parent nobody listed: it hangs under the root.
    run('orphan', { parentSessionId: 'gone', tokens: 5, startTime: 80, status: 'running', executionStatus: 'RUNNING' }),
  ];
  const facts = new Map([
    ['a', { title: 'Alpha' }],
    ['b', { title: 'Beta', error: 'upstream API returned 400' }],
  ]);
  const tree = buildTree('r', runs, facts, 100);
  expect(tree.sessions.map((s) => `${'  '.repeat(s.depth)}${s.sessionId}`)).toEqual(['r', '  b', '  a', '    a1', '  orphan']);
  const byId = new Map(tree.sessions.map((s) => [s.sessionId, s]));
  expect(byId.get('b')).toMatchObject({ title: 'Beta', status: 'error', error: 'upstream API returned 400', tokens: 20 + 10, start: 5, end: 70 });
  expect(byId.get('b')!.runs.map((r) => r.startTime)).toEqual([5, 60]);
  expect(byId.get('a')).toMatchObject({ title: 'Alpha', ownTokens: 25, tokens: 40 });
  expect(byId.get('r')).toMatchObject({ ownTokens: 100 - 40 - 30 - 5 });
  expect(byId.get('r')).not.toHaveProperty('end');
  expect(byId.get('r')!.ownCostUsd).toBeCloseTo(0.3);
  expect(tree.span).toEqual({ start: 0, end: 100 });
});

test('an error text shows only on a session that did not complete', () => {
  const tree = buildTree('r', [run('r', { kind: 'root' }), run('c', { parentSessionId: 'r' })], new Map([['c', { title: 'C', error: 'old failure' }]]), 10);
  expect(tree.sessions[1].error).toBeUndefined();
});

test('a tree with no root run listed yet has no root', () => {
  expect(buildTree('r', [], new Map(), 5)).toEqual({ sessions: [], span: { start: 5, end: 5 } });
});

test('bars: position and width in percent of the tree’s span, never past its end, never invisible', () => {
  expect(barOf({ start: 0, end: 200 }, 50, 150)).toEqual({ left: 25, width: 50 });
  expect(barOf({ start: 0, end: 200 }, 199, 199)).toEqual({ left: 99.5, width: 0.5 });
  expect(barOf({ start: 100, end: 100 }, 100, 100)).toEqual({ left: 0, width: 0.5 });
});

test('the list’s visibility query quotes every filter value', () => {
  expect(visibilityQuery({})).toBe('WorkflowType = "sessionWorkflow"');
  expect(visibilityQuery({ status: 'running', model: 'gpt-4o', waiting: true, q: 's-1' })).toBe(
    'WorkflowType = "sessionWorkflow" AND BambooRunStatus = "running" AND BambooModel = "gpt-4o" AND BambooPendingRequests > 0 AND WorkflowId STARTS_WITH "bamboo-session-s-1"',
  );
  expect(visibilityQuery({ model: 'x" OR WorkflowType = "childSessionWorkflow' })).toBe('WorkflowType = "sessionWorkflow" AND BambooModel = "x\\" OR WorkflowType = \\"childSessionWorkflow"');
});

test('a run that continued-as-new hands its spend to its successor: counted once', () => {
  const tree = buildTree(
    'r',
    [
      run('r', { kind: 'root', executionStatus: 'CONTINUED_AS_NEW', tokens: 50, startTime: 0, closeTime: 10 }),
      run('r', { kind: 'root', executionStatus: 'RUNNING', status: 'running', tokens: 80, startTime: 10 }),
    ],
    new Map(),
    20,
  );
  expect(tree.root).toMatchObject({ tokens: 80, runs: [expect.anything(), expect.anything()] });
});

test('a watchdog’s time left counts down while the session runs and stands still while it waits for a person', () => {
  const deadlineAt = '2030-01-01T01:00:00.000Z';
  const t = Date.parse('2030-01-01T00:30:00.000Z');
  expect(timeLeft({ deadlineAt }, t)).toBe(30 * 60_000);
  expect(timeLeft({ deadlineAt }, t + 60_000)).toBe(29 * 60_000);
  const paused = { deadlineAt, pausedSince: new Date(t).toISOString() };
  expect(timeLeft(paused, t + 10 * 60_000)).toBe(30 * 60_000);
  const state = { status: 'running', turn: 1, messageCount: 2, children: [], watchdog: { maxIdleSecs: 120, maxTotalSecs: 3600, ...paused } } as unknown as SessionRunState;
  const page = String(stateFragment(state, undefined, t + 10 * 60_000));
  expect(page).toContain('total time left 30m00s of 1h00m');
  expect(page).toContain('it has waited 10m00s for a person');
});
