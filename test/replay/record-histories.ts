/**
 * Records the history of every workflow path in scenarios.ts into test/replay/histories/,
 * for the replay test. Run it after a deliberate workflow change (a new path, or a new
 * version behind patched()):  npm run record-histories
 * It starts its own dev server and worker. Every run of a continued-as-new workflow is
 * recorded (`-run1`, `-run2`, …); existing fixtures with the same name are replaced.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessionWorkflowId } from '../../common';
import { startDevServer } from '../../cli/temporal/dev-server';
import { connectMcpServers } from '../../worker/tools/mcp';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { createToolRegistry } from '../../worker/tools/types';
import { createBambooWorker } from '../../worker/create-worker';
import { createContextWindows } from '../../worker/providers/context-windows';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { RECORDING_PARENT, SCENARIOS, SUMMARY_WINDOW } from './scenarios';

const OUT_DIR = join(__dirname, 'histories');
const TASK_QUEUE = 'record-histories';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer({ find: { log: console.log } });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  // A real MCP server (server-everything over stdio) for the MCP tool paths.
  const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
  const mcp = await connectMcpServers([{ name: 'everything', transport: 'stdio', command: process.execPath, args: [everything, 'stdio'], env: {}, inheritEnv: [] }]);
  const worker = await createBambooWorker({
    connection,
    client,
    namespace: 'default',
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    // Spawned children (subagent_type `general`) must ask before get_current_time; ask_user is allowed.
    deps: {
      // `small-window` has a window of SUMMARY_WINDOW words, for the summary scenarios.
      providers: createProviderRegistry([createScriptedProvider()], 'scripted', {}, {}, createContextWindows({ 'small-window': { contextWindowTokens: SUMMARY_WINDOW } })),
      tools: createToolRegistry([...BUILTIN_TOOLS, ...mcp.tools]),
      toolPolicy: { tools: { ask_user: 'allow', 'mcp__everything__get-env': 'deny' }, subagents: { general: { get_current_time: 'ask', 'mcp__everything__get-sum': 'ask' } } },
    },
  });
  mkdirSync(OUT_DIR, { recursive: true });
  await worker.runUntil(async () => {
    await client.workflow.start('recordingParentWorkflow', { taskQueue: TASK_QUEUE, workflowId: sessionWorkflowId(RECORDING_PARENT) });
    const chosen = SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name));
    await Promise.all(chosen.map((scenario) => record(client, scenario)));
  });
  await mcp.close();
  await connection.close();
  await client.connection.close();
  await server.stop();
}

async function record(client: Client, scenario: (typeof SCENARIOS)[number]): Promise<void> {
  const handle: WorkflowHandle = await scenario.start(client, TASK_QUEUE);
  await scenario.during?.(client, handle);
  const outcome = await handle.result().then(
    (r: { status: string }) => r.status,
    (e: Error) => `failed: ${e.message}`,
  );
  const runs: { runId: string; startTime: Date }[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(run);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const [i, run] of runs.entries()) {
    const history = await client.workflow.getHandle(handle.workflowId, run.runId).fetchHistory();
    const file = `${scenario.name}${runs.length > 1 ? `-run${i + 1}` : ''}.json`;
    writeFileSync(join(OUT_DIR, file), historyToJSON(temporal.api.history.v1.History.create(history)));
    console.log(`recorded ${file} (${outcome}, ${history.events?.length} events)`);
  }
  if (scenario.withChildren) await recordChildren(client, scenario.name, handle.workflowId.replace(/^bamboo-session-/, ''));
}

/** Every child run of the root's tree, in start order: `<scenario>-child<N>.json`. */
async function recordChildren(client: Client, name: string, rootId: string): Promise<void> {
  const runs: { workflowId: string; runId: string; startTime: Date }[] = [];
  for await (const run of client.workflow.list({ query: `BambooRootSessionId = "${rootId}" AND WorkflowType = "childSessionWorkflow"` })) runs.push(run);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const [i, run] of runs.entries()) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const file = `${name}-child${i + 1}.json`;
    writeFileSync(join(OUT_DIR, file), historyToJSON(temporal.api.history.v1.History.create(history)));
    console.log(`recorded ${file} (${history.events?.length} events)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
