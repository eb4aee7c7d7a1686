/**
 * The usage ledger across a session tree: every model call counted once, in the session that
 * made it and in every ancestor's subtree — across depth, duplicate completions and
 * continue-as-new. The scripted provider reports deterministic usage; the check is the sum of
 * every model call's result recorded in the tree's histories.
 */
import type { Client } from '@temporalio/client';
import { startSession } from '../../client/root-sessions';
import { addUsage, BambooCostUsd, sessionWorkflowId, type ChildCompletion, type ModelTurnResult, type Usage, subSessionCompletedSignal, usageQuery } from '../../common';
import { activityResults } from '../helpers/history-text';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();

const decode = <T>(data: Uint8Array | null | undefined): T => JSON.parse(Buffer.from(data!).toString()) as T;

/** Every run of every session of the tree (the root's search attribute marks them all). */
async function treeRuns(client: Client, rootId: string): Promise<{ workflowId: string; runId: string }[]> {
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const run of client.workflow.list({ query: `BambooRootSessionId = "${rootId}"` })) runs.push({ workflowId: run.workflowId, runId: run.runId });
  return runs;
}

/** The sum of the usage every `callModel` activity returned, read from the runs' histories. */
async function usageOfEveryCall(client: Client, runs: { workflowId: string; runId: string }[]): Promise<{ usage: Usage; calls: number }> {
  const total = { usage: { inputTokens: 0, outputTokens: 0 } as Usage, calls: 0 };
  for (const run of runs) {
    for (const call of activityResults<ModelTurnResult>(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(), 'callModel')) {
      total.usage = addUsage(total.usage, call.usage);
      total.calls += 1;
    }
  }
  return total;
}

test('a depth-2 tree: the root subtree is the sum of every model call in it, each child its own subtree', async () => {
  const session = rootSession('[[spawn:A|[[spawn:A1|leaf one]] middle a]] [[spawn:B|[[spawn:B1|leaf two]] middle b]] plan');
  const handle = await startSession(tw.client, { session, options: { maxSpawnDepth: 2 } }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id, 90_000);
  const usage = await handle.query(usageQuery);
  const runs = await treeRuns(tw.client, session.id);
  const everyCall = await usageOfEveryCall(tw.client, runs);

  expect(runs.length).toBe(5); // root, A, B, A1, B1
  expect(everyCall.calls).toBeGreaterThanOrEqual(10); // each session: a call that spawns or answers, then the answer
  expect(usage.subtree).toEqual(everyCall.usage);
  // The root's own calls plus its two children's subtrees make the whole.
  const rootOnly = await usageOfEveryCall(tw.client, runs.filter((r) => r.workflowId === handle.workflowId));
  expect(usage.self).toEqual(rootOnly.usage);
  expect(usage.children).toHaveLength(2);
  for (const child of usage.children) {
    const sub = runs.filter((r) => r.workflowId === sessionWorkflowId(child.childSessionId) || r.workflowId.startsWith(`${sessionWorkflowId(child.childSessionId)}-`));
    const childCalls = await usageOfEveryCall(tw.client, sub);
    expect(child.usage).toEqual(childCalls.usage);
  }
  // No model has a price here: tokens count, cost does not.
  expect(usage.costMicroUsd).toBe(0);
  expect(usage.unpricedCalls).toBe(everyCall.calls);
  expect(usage.costUsd).toBeUndefined();
  // state carries the same subtree totals.
  const state = await settled(tw.client, session.id);
  expect(state.subtreeUsage).toEqual(usage.subtree);
  // …and so do the search attributes the Web UI sorts and filters by.
  const tokens = usage.subtree.inputTokens + usage.subtree.outputTokens;
  const listed = await eventually(async () => {
    for await (const run of tw.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}" AND BambooTokens = ${tokens}` })) return run;
    return undefined;
  }, { timeoutMs: 20_000, what: 'BambooTokens in visibility' });
  expect(listed.typedSearchAttributes.get(BambooCostUsd)).toBe(0);
  await handle.terminate();
}, 180_000);

test('a duplicate completion changes nothing; continue-as-new carries the ledger', async () => {
  const session = rootSession('[[spawn:One|first]] [[spawn:Two|second]] [[spawn:Three|third]] go');
  const handle = await startSession(tw.client, { session, options: { historyEventBudget: 20 } }, { taskQueue: tw.taskQueue });
  await settled(tw.client, session.id, 90_000);
  const before = await tw.client.workflow.getHandle(handle.workflowId).query(usageQuery);
  const runs = await treeRuns(tw.client, session.id);
  expect(runs.filter((r) => r.workflowId === handle.workflowId).length).toBeGreaterThan(1); // it continued-as-new
  const everyCall = await usageOfEveryCall(tw.client, runs);
  expect(before.subtree).toEqual(everyCall.usage);

  // Send the parent a copy of a completion it already applied: the ledger must not move.
  const childRun = runs.find((r) => r.workflowId !== handle.workflowId)!;
  const sent = (await tw.client.workflow.getHandle(childRun.workflowId, childRun.runId).fetchHistory()).events!.find((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)!;
  const completion = decode<ChildCompletion>(sent.signalExternalWorkflowExecutionInitiatedEventAttributes!.input!.payloads![0].data);
  expect(completion.subtreeSpend?.usage.inputTokens).toBeGreaterThan(0);
  await tw.client.workflow.getHandle(handle.workflowId).signal(subSessionCompletedSignal, completion);
  const after = await tw.client.workflow.getHandle(handle.workflowId).query(usageQuery);
  expect(after.subtree).toEqual(before.subtree);
  expect(after.children).toEqual(before.children);
  await handle.terminate();
}, 180_000);
