/**
 * Every recorded workflow history replays against the current workflow code. A failure
 * here means a change is not replay-safe: guard it with patched() and record new fixtures.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workerDataConverter } from '../../worker/codec/worker-data-converter';
import { testServer } from '../helpers/temporal';

/**
 * histories/ holds the current recordings; histories/shape-1/ those recorded before child runs
 * wrote history shape 2 (SpawnJob.historyShape): deployed histories that must keep replaying.
 */
const DIR = join(__dirname, 'histories');
const FIXTURES_RECORDED = 165;
const files = readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();
const histories = files.map((file) => ({
  workflowId: file,
  history: historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8'))),
}));

/** The run's status as its result says, or 'failed' for a failed workflow execution. */
function outcomeOf(history: ReturnType<typeof historyFromJSON>): string {
  for (const event of history.events ?? []) {
    if (event.workflowExecutionFailedEventAttributes) return 'failed';
    if (event.workflowExecutionContinuedAsNewEventAttributes) return 'continued_as_new';
    if (event.workflowExecutionTerminatedEventAttributes) return 'terminated';
    const payload = event.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    if (payload) return defaultPayloadConverter.fromPayload<{ status: string }>(payload).status;
  }
  return 'open';
}

/** The workflow type a history belongs to (a root scenario records its children's runs too). */
const typeOf = (history: ReturnType<typeof historyFromJSON>) => history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;

const outcomes = (workflowType: string) =>
  [...new Set(histories.filter(({ history }) => typeOf(history) === workflowType).map(({ history }) => outcomeOf(history)))].sort();

test('fixtures cover every terminal status of a child run, a failed workflow, a continued one and a terminated one', () => {
  expect(outcomes('childSessionWorkflow')).toEqual(['cancelled', 'completed', 'continued_as_new', 'error', 'failed', 'skipped', 'terminated', 'timeout']);
});

test('fixtures cover how a root session ends: idle, cancelled, continued-as-new, failed', () => {
  expect(outcomes('sessionWorkflow')).toEqual(['cancelled', 'continued_as_new', 'failed', 'idle_expired']);
});

test('all recorded histories replay without nondeterminism', async () => {
  const failures: string[] = [];
  const replayed: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testServer().bundlePath }, dataConverter: workerDataConverter() }, histories)) {
    replayed.push(result.workflowId);
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed.sort()).toEqual(files);
  // Every fixture recorded so far: a deleted or unreadable one fails here (raise it with new ones).
  expect(files.length).toBeGreaterThanOrEqual(FIXTURES_RECORDED);
});
