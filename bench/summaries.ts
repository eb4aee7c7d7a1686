/**
 * Long sessions with and without summaries (npm run bench:summaries; issue 31).
 *
 * One root session answers BENCH_SUMMARY_TURNS user messages (300; ~400 characters each, the
 * scripted model echoes them) twice on one dev server and worker: on a model with no known
 * window (what every session did before summaries: the transcript grows until the byte guard),
 * and on a model the worker gives an 8,192-token window. Recorded beside each other: history
 * events and bytes per turn, the largest activity input, what the model was sent (input tokens
 * per call, largest and in total: a provider bills every call's whole input), the transcript at
 * the end, and the summaries written.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer } from '../cli/temporal/dev-server';
import type { ModelTurnResult, SummaryResult } from '../common';
import { createBambooWorker } from '../worker/create-worker';
import { createContextWindows } from '../worker/providers/context-windows';
import { createProviderRegistry } from '../worker/providers/router';
import { createScriptedProvider } from '../worker/providers/scripted';
import { measure } from './history-growth';
import { recordResults } from './results';

const TURNS = Number(process.env.BENCH_SUMMARY_TURNS ?? 300);
const WINDOW = 8192;
const TASK_QUEUE = 'bench-summaries';

interface Side {
  side: string;
  turns: number;
  runs: number;
  eventsPerTurn: number;
  bytesPerTurn: number;
  largestScheduleBytes: number;
  transcriptBytes: number;
  summaries: number;
  largestInputTokens: number;
  inputTokensTotal: number;
  secondsPerTurn: number;
}

async function side(client: Client, label: string, model: string): Promise<Side> {
  const started = Date.now();
  const row = await measure(client, TURNS, { taskQueue: TASK_QUEUE, model, keep: true });
  const seconds = (Date.now() - started) / 1000;
  const calls: ModelTurnResult[] = [];
  const summaries: SummaryResult[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${row.workflowId}"` })) {
    const history = await client.workflow.getHandle(row.workflowId, run.runId).fetchHistory();
    const completed = new Map<string, string>();
    for (const e of history.events ?? []) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) completed.set(String(e.eventId), scheduled.activityType?.name ?? '');
      const done = e.activityTaskCompletedEventAttributes;
      const type = done && completed.get(String(done.scheduledEventId));
      if (!done || !type) continue;
      const value = JSON.parse(Buffer.from(done.result!.payloads![0].data!).toString('utf8')) as ModelTurnResult & SummaryResult;
      if (type === 'callModel') calls.push(value);
      if (type === 'summarizeTranscript') summaries.push(value);
    }
  }
  await client.workflow.getHandle(row.workflowId).terminate();
  const inputs = calls.map((c) => c.usage.inputTokens);
  return {
    side: label,
    turns: TURNS,
    runs: row.runs,
    eventsPerTurn: row.eventsPerTurn,
    bytesPerTurn: row.bytesPerTurn,
    largestScheduleBytes: row.largestScheduleBytes,
    transcriptBytes: row.transcriptBytes,
    summaries: summaries.length,
    largestInputTokens: Math.max(...inputs),
    inputTokensTotal: inputs.reduce((a, b) => a + b, 0) + summaries.reduce((n, s) => n + s.usage.inputTokens, 0),
    secondsPerTurn: seconds / TURNS,
  };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const providers = createProviderRegistry([createScriptedProvider()], 'scripted', {}, {}, createContextWindows({ 'bench-window': { contextWindowTokens: WINDOW } }));
  const worker = await createBambooWorker({ connection, client, namespace: 'default', taskQueue: TASK_QUEUE, deps: { providers } });
  const sides: Side[] = [];
  await worker.runUntil(async () => {
    for (const [label, model] of [['no window (before)', 'bench-plain'], [`${WINDOW}-token window`, 'bench-window']]) {
      const result = await side(client, label, model);
      sides.push(result);
      console.log(JSON.stringify(result));
    }
  });
  const [before, after] = sides;
  const table = [
    `| ${TURNS} turns | runs | events/turn | bytes/turn | largest activity input (bytes) | transcript at the end (bytes) | summaries | largest call (input tokens) | input tokens, all calls | s/turn |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...sides.map(
      (s) =>
        `| ${s.side} | ${s.runs} | ${s.eventsPerTurn.toFixed(1)} | ${Math.round(s.bytesPerTurn)} | ${s.largestScheduleBytes} | ${s.transcriptBytes} | ${s.summaries} | ${s.largestInputTokens} | ${s.inputTokensTotal} | ${s.secondsPerTurn.toFixed(3)} |`,
    ),
    '',
    `With the window: history ${(after.bytesPerTurn / before.bytesPerTurn).toFixed(2)}× the bytes per turn, the largest call ${(after.largestInputTokens / before.largestInputTokens).toFixed(2)}× the input,`,
    `and ${(after.inputTokensTotal / before.inputTokensTotal).toFixed(2)}× the input tokens over the session (summary calls included). Tokens are the scripted model's words.`,
  ].join('\n');
  console.log(`\n${table}`);
  recordResults('summaries', `Long sessions with and without summaries (${TURNS} turns, scripted provider)`, table, sides);
  await connection.close();
  await client.connection.close();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
