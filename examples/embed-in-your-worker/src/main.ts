/**
 * Embeds Bamboo in a worker that runs your own workflow too: one worker, one task queue, one
 * client. It starts your workflow, then a root session whose (scripted) model spawns a child,
 * waits until the session is idle, and prints what it saw as JSON.
 *
 * TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default `default`), TASK_QUEUE.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { BambooClient } from 'bamboo-engine/client';
import { bambooPlugin } from 'bamboo-engine/worker';
import * as activities from './activities';
import { addTicketSignal, closeSignal, ticketsQuery, type ticketCounter } from './workflows';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.TASK_QUEUE ?? 'bamboo';

  // The plugin goes to the worker and the client alike: the client needs Bamboo's data converter.
  const bamboo = bambooPlugin();
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    plugins: [bamboo],
  });
  const client = new Client({ connection: await Connection.connect({ address }), namespace, plugins: [bamboo] });

  await worker.runUntil(async () => {
    const counter = await client.workflow.start<typeof ticketCounter>('ticketCounter', { taskQueue, workflowId: `tickets-${Date.now()}`, args: ['ops'] });
    await counter.signal(addTicketSignal);

    const sessions = new BambooClient(client, { taskQueue });
    const session = await sessions.startRootSession({
      model: 'scripted-model',
      prompt: 'Plan the launch. [[spawn:Checklist|List what to check, after [[tool:get_current_time|{}]]]]',
      options: { budget: { maxSessions: 3 } },
    });
    const state = await session.waitForIdle({ timeoutMs: 120_000 });
    const tree = await session.tree();
    const transcript = await session.transcript();
    // Every message the session ever held (across summaries and runs), read from its histories.
    const full = await session.fullTranscript();

    await counter.signal(addTicketSignal);
    const tickets = await counter.query(ticketsQuery);
    await counter.signal(closeSignal);
    const counterResult = await counter.result();

    console.log(JSON.stringify({ sessionId: session.sessionId, lastRunStatus: state.lastRunStatus, tree, answer: transcript.at(-1)?.content, fullMessages: full.filter((e) => e.kind === 'message').length, messages: transcript.length, tickets, counterResult }));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
