/**
 * A long child that spawned a grandchild early (issue 25 item 7): once the grandchild has
 * finished, the child continues-as-new like any long child run, and its next runs still know
 * the grandchild — its status, its spend in the child's subtree and budget, and its result,
 * which reaches the child's transcript once. The root hears of the child once.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startSession } from '../../client/root-sessions';
import { addUsage, sessionWorkflowId, type ModelTurnResult, type Usage, stateQuery, usageQuery } from '../../common';
import { activityResults } from '../helpers/history-text';
import { resumeMessages, sessionTranscript, settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { withTestWorker } from '../helpers/temporal';

const tw = withTestWorker();

interface ChainRun {
  runId: string;
  status: string;
  history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
}

/** Every run of a session's latest chain, first to last, followed back through continue-as-new. */
async function chainOf(client: Client, sessionId: string): Promise<ChainRun[]> {
  const chain: ChainRun[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(sessionWorkflowId(sessionId)).describe()).runId;
  while (runId) {
    const handle: WorkflowHandle = client.workflow.getHandle(sessionWorkflowId(sessionId), runId);
    const history: ChainRun['history'] = await handle.fetchHistory();
    chain.unshift({ runId, status: (await handle.describe()).status.name, history });
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return chain;
}

/** The usage of every model call the runs made, summed from their histories. */
function usageOfCalls(runs: ChainRun[]): Usage {
  let usage: Usage = { inputTokens: 0, outputTokens: 0 };
  for (const run of runs) for (const call of activityResults<ModelTurnResult>(run.history, 'callModel')) usage = addUsage(usage, call.usage);
  return usage;
}

const tokens = (u: Usage) => u.inputTokens + u.outputTokens;

test('a child whose grandchild finished early continues-as-new, keeping the grandchild, its spend and its one result', async () => {
  // The child spawns a quick grandchild, then works 8 rounds of 1 s; 40 events of history
  // make its continue-as-new due every few rounds, long after the grandchild has finished.
  const session = rootSession('[[spawn:Worker|[[spawn:Digger|dig]] [[rounds:8|wait|{"seconds":1}]] long work]] plan');
  const options = { maxSpawnDepth: 2, historyEventBudget: 40, budget: { maxTokens: 1_000_000 } };
  const handle = await startSession(tw.client, { session, options }, { taskQueue: tw.taskQueue });
  const root = await settled(tw.client, session.id, 120_000);

  // The root knows one child, completed, and reported it once.
  expect(root.children).toHaveLength(1);
  const [{ childSessionId: childId, status: childStatus }] = root.children;
  expect(childStatus).toBe('completed');
  const rootResumes = resumeMessages(await sessionTranscript(tw.client, session.id)).filter((m) => m.content.includes(`\`${childId}\``));
  expect(rootResumes).toHaveLength(1);

  // The child's chain continued-as-new, and its last run completed.
  const chain = await chainOf(tw.client, childId);
  console.log(`child chain: ${chain.map((r) => `${r.status} (${r.history.events?.length} events)`).join(' → ')}`);
  expect(chain.slice(0, -1).map((r) => r.status)).toContain('CONTINUED_AS_NEW');
  expect(chain.at(-1)!.status).toBe('COMPLETED');
  // Exactly one completion went to the root, from the whole chain.
  const completionsSent = chain.flatMap((r) => r.history.events ?? []).filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'subSessionCompleted');
  expect(completionsSent).toHaveLength(1);

  // The grandchild was spawned by the first run; the last run (after continue-as-new) still lists it.
  const childHandle = tw.client.workflow.getHandle(sessionWorkflowId(childId));
  const childState = await childHandle.query(stateQuery);
  expect(childState.children).toHaveLength(1);
  const [{ childSessionId: grandchildId, status: grandchildStatus }] = childState.children;
  expect(grandchildStatus).toBe('completed');
  const grandchildStart = chain[0].history.events?.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)?.startChildWorkflowExecutionInitiatedEventAttributes;
  expect(grandchildStart?.workflowId).toBe(sessionWorkflowId(grandchildId));

  // Its spend, counted before continue-as-new, is still in the child's subtree and budget.
  const grandchildUsage = usageOfCalls(await chainOf(tw.client, grandchildId));
  const childSelf = usageOfCalls(chain);
  expect(tokens(grandchildUsage)).toBeGreaterThan(0);
  const childUsage = await childHandle.query(usageQuery);
  expect(childUsage.self).toEqual(childSelf);
  expect(childUsage.children).toEqual([expect.objectContaining({ childSessionId: grandchildId, usage: grandchildUsage })]);
  expect(childUsage.subtree).toEqual(addUsage(childSelf, grandchildUsage));
  expect(childUsage.childRuns).toBe(1);
  expect(childUsage.budget?.used.tokens).toBe(tokens(childSelf) + tokens(grandchildUsage));
  expect(childState.subtreeUsage).toEqual(childUsage.subtree);
  // …and in the root's view of the child.
  const rootUsage = await handle.query(usageQuery);
  expect(rootUsage.children).toEqual([expect.objectContaining({ childSessionId: childId, usage: childUsage.subtree })]);

  // The grandchild's result reached the child's transcript exactly once.
  const childResumes = resumeMessages(await sessionTranscript(tw.client, childId)).filter((m) => m.content.includes(`\`${grandchildId}\``));
  expect(childResumes).toHaveLength(1);
  const grandchildAnswer = (await sessionTranscript(tw.client, grandchildId)).at(-1)!;
  expect(grandchildAnswer.role).toBe('assistant');
  expect(childResumes[0].content).toContain(grandchildAnswer.content);
  await handle.terminate();
}, 180_000);
