/**
 * History growth per model turn of a root session (npm run bench:history).
 *
 * A session answers N user messages (one model turn each) on a real dev server; we read its
 * history and report events and bytes per turn, and the size of the largest
 * ActivityTaskScheduled event — which would grow with the transcript if the transcript
 * were carried in the model activity's input (it is read through a query instead).
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { sendUserMessage, sessionState, startSession } from '../client/root-sessions';
import { startDevServer } from '../cli/temporal/dev-server';
import { createBambooWorker } from '../worker/create-worker';
import { eventsQuery, stateQuery, transcriptQuery } from '../common';
import { recordResults } from './results';

const TURNS = (process.env.BENCH_TURNS ?? '1,10,50,100').split(',').map(Number);
const TASK_QUEUE = 'bench-history';

export interface Row {
  turns: number;
  /** Runs in the continue-as-new chain. */
  runs: number;
  events: number;
  bytes: number;
  eventsPerTurn: number;
  bytesPerTurn: number;
  largestScheduleBytes: number;
  transcriptBytes: number;
}

/**
 * One session answering `turns` user messages. With `historyEventBudget` unset the default
 * budget applies and long sessions continue-as-new; every run of the chain is counted.
 */
export async function measure(client: Client, turns: number, options: { taskQueue?: string; historyEventBudget?: number; model?: string; keep?: boolean } = {}): Promise<Row & { workflowId: string }> {
  const id = `bench-${randomUUID().slice(0, 8)}`;
  const session = { id, kind: 'root' as const, rootSessionId: id, spawnDepth: 0, model: options.model ?? 'bench', metadata: {}, messages: [] };
  const handle = await startSession(
    client,
    { session, options: options.historyEventBudget ? { historyEventBudget: options.historyEventBudget } : {} },
    { taskQueue: options.taskQueue ?? TASK_QUEUE },
  );
  // The latest run (queries follow continue-as-new); a turn ends with its `complete` event.
  // (Not by counting messages: past 1 MiB the session is compacted and drops its oldest.)
  const latest = client.workflow.getHandle(handle.workflowId);
  let afterSeq = 0;
  for (let turn = 1; turn <= turns; turn++) {
    const { runId: sentTo } = await latest.describe();
    // A realistic message size: ~400 characters per user message.
    await sendUserMessage(client, id, `message ${turn}: ${'lorem ipsum dolor sit amet '.repeat(15)}`);
    for (;;) {
      const fresh = await latest.query(eventsQuery, { afterSeq });
      afterSeq = fresh.at(-1)?.seq ?? afterSeq;
      if (fresh.some((e) => e.type === 'complete' || e.type === 'error')) break;
      // A run that ends its turn and continues-as-new in one task leaves its `complete` event
      // behind (events are not carried): the next run idle with nothing queued says the same.
      if ((await latest.describe()).runId !== sentTo) {
        const state = await latest.query(stateQuery);
        if (state.phase === 'idle' && state.pendingInjectedMessages === 0) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const runs: string[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(run.runId);
  const histories = await Promise.all(runs.map((runId) => client.workflow.getHandle(handle.workflowId, runId).fetchHistory()));
  const events = histories.flatMap((h) => h.events ?? []);
  const bytes = histories.reduce((n, h) => n + temporal.api.history.v1.History.encode(h).finish().length, 0);
  const largestScheduleBytes = Math.max(
    ...events
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => temporal.api.history.v1.HistoryEvent.encode(e).finish().length),
  );
  const { messageCount } = await sessionState(client, id);
  const transcriptBytes = JSON.stringify(await handle.query(transcriptQuery, { count: messageCount })).length;
  if (!options.keep) await handle.terminate();
  return { workflowId: handle.workflowId, turns, runs: runs.length, events: events.length, bytes, eventsPerTurn: events.length / turns, bytesPerTurn: bytes / turns, largestScheduleBytes, transcriptBytes };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createBambooWorker({ connection, client, namespace: 'default', taskQueue: TASK_QUEUE });
  const rows: Row[] = [];
  await worker.runUntil(async () => {
    for (const turns of TURNS) {
      const row = await measure(client, turns, { historyEventBudget: 1_000_000 });
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  });
  const marginal = rows.length > 1 ? (rows.at(-1)!.bytes - rows.at(-2)!.bytes) / (rows.at(-1)!.turns - rows.at(-2)!.turns) : rows[0].bytesPerTurn;
  const table = [
    '| turns | events | history bytes | events/turn | bytes/turn | largest ActivityTaskScheduled (bytes) | transcript (bytes) |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.turns} | ${r.events} | ${r.bytes} | ${r.eventsPerTurn.toFixed(1)} | ${Math.round(r.bytesPerTurn)} | ${r.largestScheduleBytes} | ${r.transcriptBytes} |`,
    ),
    '',
    `Marginal cost of one more turn between the last two sizes: ${Math.round(marginal)} bytes — constant: the model`,
    'activity carries a transcript inline only up to 4 KiB and reads longer ones through the `transcript` query,',
    'so its scheduled event stops growing at about 4 KiB.',
    `Carrying the transcript inline instead would add the whole transcript to every turn: at ${rows.at(-1)!.turns} turns the`,
    `last turn alone would write about ${rows.at(-1)!.transcriptBytes} bytes, and the history would grow quadratically`,
    `(about ${Math.round(rows.at(-1)!.transcriptBytes / 2 / 1024)} KiB per turn on average over those turns; an estimate from the transcript size, not a measurement).`,
  ].join('\n');
  console.log(`\n${table}`);
  recordResults('history-growth', 'History growth per model turn (root session, scripted provider)', table, rows);
  await connection.close();
  await client.connection.close();
  await server.stop();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
