/**
 * Your own tools and provider: the plugin gets a `defineTool` tool, an AI SDK `tool()` and a
 * provider built from an AI SDK model; a root session on that model spawns a child that calls
 * both tools, and the worker runs your own `hello` workflow meanwhile. Prints the tree, the
 * usage, the child's transcript and hello's result as JSON.
 *
 * TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default `default`), TASK_QUEUE.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { BambooClient } from 'bamboo-engine/client';
import { bambooPlugin } from 'bamboo-engine/worker';
import { planModel } from './model';
import { reverseText, wordCount } from './tools';
import type { hello } from './workflows';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.TASK_QUEUE ?? 'bamboo';

  const bamboo = bambooPlugin({
    tools: { word_count: wordCount, reverse_text: reverseText },
    providers: { local: planModel },
    builtinTools: false,
  });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    plugins: [bamboo],
  });
  const client = new Client({ connection: await Connection.connect({ address }), namespace, plugins: [bamboo] });

  await worker.runUntil(async () => {
    const sessions = new BambooClient(client, { taskQueue });
    const session = await sessions.startRootSession({ model: 'plan-1', provider: 'local', prompt: 'Temporal keeps agents going' });
    const greeting = await client.workflow.execute<typeof hello>('hello', { taskQueue, workflowId: `hello-${Date.now()}`, args: ['tools'] });
    const state = await session.waitForIdle({ timeoutMs: 120_000 });
    const tree = await session.tree();
    const usage = await session.usage();
    const child = tree.children[0] ? await sessions.getSession(tree.children[0].sessionId).transcript() : [];
    const transcript = await session.transcript();
    console.log(JSON.stringify({ sessionId: session.sessionId, lastRunStatus: state.lastRunStatus, tree, usage, answer: transcript.at(-1)?.content, child, greeting }));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
