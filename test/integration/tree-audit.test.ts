/**
 * The tree audit (test/helpers/tree-audit.ts) can fail: on a real tree it finds nothing, and
 * each kind of defect it exists to catch — a report delivered twice, a child session run twice
 * with each run reporting once, a report lost, a status or a usage the engine got wrong — is
 * made (on the server, or in the records it read) and named exactly.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { sessionWorkflowId, type ChildCompletion, subSessionCompletedSignal } from '../../common';
import { startSession } from '../../client/root-sessions';
import { startChildRun } from '../../client/child-runs';
import { completionSignalsSent, sessionState, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';
import { auditTree, auditTreeSettled, judge, readTree, type TreeRecords } from '../helpers/tree-audit';

const tw = withTestWorker();

/** A copy of the records whose runs' events can be changed without touching the original. */
function copyOf(records: TreeRecords): TreeRecords {
  return { ...records, runs: records.runs.map((r) => ({ ...r, events: [...r.events] })), engine: { ...records.engine, children: records.engine.children.map((c) => ({ ...c })) } };
}

test('the audit finds nothing wrong in a real tree, and finds each defect made in it', async () => {
  // A root that continues-as-new while it waits (its reports land in several runs), a child that
  // completes, and one terminated by an operator (it never reports: the root reconciles it).
  const session = rootSession('[[spawn:Quick|[[sleep:2]] quick]] [[spawn:Long|[[sleep:300]] long]]');
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 20 } }, { taskQueue: tw.taskQueue });
  const [quick, long] = await eventually(async () => {
    const s = await sessionState(tw.client, session.id);
    return s.children.length === 2 && s.children[0].status === 'completed' ? s.children.map((c) => c.childSessionId) : undefined;
  }, { timeoutMs: 30_000, what: 'the quick child completed' });
  await tw.client.workflow.getHandle(sessionWorkflowId(long)).terminate('tree audit test');
  await settled(tw.client, session.id);

  const clean = await auditTreeSettled(tw.client, session.id, { childSessions: 2, chainsPerChild: 1 });
  expect({ lost: clean.lost, duplicated: clean.duplicated, disagreements: clean.disagreements }).toEqual({ lost: [], duplicated: [], disagreements: [] });
  // The terminated run is one of the tree's child runs (the engine once left it out: found by this audit).
  expect([clean.usage.childRuns, clean.engine.childRuns]).toEqual([2, 2]);
  expect(clean.closeStatuses).toEqual({ COMPLETED: 1, TERMINATED: 1 });
  expect(clean.statuses).toEqual({ completed: 1, error: 1 });
  expect(clean.chainsById.map((c) => [c.childSessionId, c.reportsDelivered, c.reportsReceived.length])).toEqual(
    expect.arrayContaining([[quick, 1, 1], [long, 0, 0]]),
  );
  expect(clean.runs).toBeGreaterThan(3); // the root ran more than once
  expect(clean.usage.subtree.outputTokens).toBeGreaterThan(0);

  // In memory: the quick child's report removed from the root's runs → lost.
  const records = await readTree(tw.client, session.id);
  const dropped = copyOf(records);
  for (const run of dropped.runs) run.events = run.events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName !== 'subSessionCompleted');
  expect(judge(dropped).lost).toEqual([expect.stringMatching(new RegExp(`^${quick} run .*: a report its history says was delivered is in no run of the parent$`))]);
  // The engine naming a wrong status, or a usage that is not the calls' sum → disagreements.
  const wrong = copyOf(records);
  wrong.engine.children.find((c) => c.childSessionId === long)!.status = 'completed';
  wrong.engine.subtree = { inputTokens: 0, outputTokens: 0 };
  expect(judge(wrong).disagreements).toEqual([
    expect.stringContaining(`${long}: the root says completed, its last run closed TERMINATED (error)`),
    expect.stringContaining('subtree usage: the engine says 0/0'),
  ]);
  // A model call's result removed from the quick child's history → its usage disagrees.
  const uncounted = copyOf(records);
  const quickRun = uncounted.runs.find((r) => r.workflowId === sessionWorkflowId(quick))!;
  quickRun.events = quickRun.events.filter((e) => !e.activityTaskCompletedEventAttributes);
  expect(judge(uncounted).disagreements).toEqual(expect.arrayContaining([expect.stringContaining(`${quick}: the root counts`)]));

  // On the server: the quick child's report signalled again by hand → duplicated (the engine drops it: only the audit sees it).
  const rootRuns = records.runs.filter((r) => r.workflowId === sessionWorkflowId(session.id));
  const report = rootRuns.flatMap((r) => r.events).find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'subSessionCompleted')!;
  const completion = defaultPayloadConverter.fromPayload<ChildCompletion>(report.workflowExecutionSignaledEventAttributes!.input!.payloads![0] as never);
  await handle.signal(subSessionCompletedSignal, completion);
  const doubled = await eventually(async () => {
    const audit = await auditTree(tw.client, session.id);
    return audit.duplicated.length > 0 ? audit : undefined;
  }, { what: 'the audit to see the duplicate' });
  expect(doubled.duplicated).toEqual([expect.stringContaining(`${completion.childSessionId} run ${completion.runId}`)]);
  expect(doubled.duplicated[0]).toContain('the same report received 1 extra time(s)');

  // On the server: a second run of the quick child, started by hand (from its snapshot: nothing
  // to answer, so `skipped`), reporting once too. Its latest run alone shows one report, as the
  // old check read it; every run of the id shows two, and the audit two runs of the session.
  const second = await startChildRun(tw.client, { parentSessionId: session.id, childSessionId: quick, model: 'scripted-model' }, { taskQueue: tw.taskQueue });
  await second.result();
  const latest = (await second.fetchHistory()).events ?? [];
  expect(latest.filter((e) => e.externalWorkflowExecutionSignaledEventAttributes)).toHaveLength(1);
  expect(await completionSignalsSent(tw.client, quick)).toBe(2);
  const twice = await eventually(async () => {
    const audit = await auditTree(tw.client, session.id, { chainsPerChild: 1 });
    return audit.chains === 3 ? audit : undefined;
  }, { what: 'the second run in visibility' });
  expect(twice.disagreements).toEqual(expect.arrayContaining([`${quick}: 2 separate runs (chains), the scenario caused 1`]));
  await handle.terminate();
}, 120_000);
