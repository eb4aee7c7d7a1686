/**
 * Issue 25: an MCP stdio server must not be able to kill the worker. A real worker process
 * whose configuration file names a real stdio MCP server (the SDK's, test/fixtures/mcp) that
 * answers a read-only tool with one line over the 10 MiB stdio limit: the call is an error
 * result naming the server and the limit, run once (no retry on another worker), and the same
 * worker process goes on serving — the server restarted for the next call.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildRunResult } from '../../common';
import { startChildRun } from '../../client/child-runs';
import { activityTaskAttempts } from '../helpers/history-text';
import { killStartedProcesses, ROOT, type ManagedProcess } from '../helpers/processes';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { connectTestClient, uniqueId } from '../helpers/temporal';
import { startWorkerProcess } from '../helpers/worker-process';

const SERVER = join(ROOT, 'test/fixtures/mcp/oversized-server.mjs');
const LIMIT_ERROR =
  'Error: MCP server flood sent a line over the stdio limit of 10485760 bytes (10 MiB): the connection was closed and the server stopped (it is restarted for the next call)';

afterAll(async () => {
  await killStartedProcesses();
});

/** The run's result, or a failure as soon as the worker process dies (the defect). */
async function resultWhileAlive(run: Promise<ChildRunResult>, worker: ManagedProcess): Promise<ChildRunResult> {
  const died = worker.exited.then((exit) => {
    throw new Error(`the worker process died (${JSON.stringify(exit)}): ${worker.output().slice(-2000)}`);
  });
  return Promise.race([run, died]);
}

test('a line over the stdio limit is an error result, run once, and the worker process lives on', async () => {
  const taskQueue = uniqueId('mcp-oversized');
  const config = join(tmpdir(), `bamboo-${taskQueue}.json`);
  writeFileSync(config, JSON.stringify({ mcpServers: [{ name: 'flood', transport: 'stdio', command: process.execPath, args: [SERVER] }] }));
  const worker = await startWorkerProcess({ taskQueue, env: { BAMBOO_CONFIG: config } });
  await worker.waitForOutput(/MCP tools: flood \(2\)/, 10_000);
  const client = await connectTestClient();
  try {
    const parentSessionId = uniqueId('no-parent'); // the child's report to a missing parent is logged, not fatal
    const flooded = childSession('[[tool:mcp__flood__flood|{}]] read it', { parentSessionId, metadata: { 'child_watchdog.max_idle_secs': '10' } });
    const handle = await startChildRun(client, spawnJobFor(flooded), { taskQueue });
    const result = await resultWhileAlive(handle.result(), worker);
    expect(result.status).toBe('completed');
    expect(result.session!.messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual([LIMIT_ERROR]);
    expect(activityTaskAttempts(await handle.fetchHistory(), 'runTool')).toEqual([1]);

    // The same worker process, and the server restarted: the next call answers.
    const next = childSession('[[tool:mcp__flood__echo|{"message":"still here"}]] done', { parentSessionId });
    const again = await resultWhileAlive((await startChildRun(client, spawnJobFor(next), { taskQueue })).result(), worker);
    expect(again.session!.messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(['echo: still here']);
    expect(worker.alive()).toBe(true);
  } finally {
    await client.connection.close();
    await worker.kill('SIGTERM');
  }
}, 120_000);
