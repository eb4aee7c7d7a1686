/**
 * The embedded default (`npm start`, `npm run dev-server`, `bamboo dev`): a persistent SQLite
 * store, in WAL mode (the fast setting `npm run bench:sqlite` measured), that keeps sessions
 * across restarts; the commands stay up until Ctrl-C or SIGTERM and take the server down with them.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedServer } from '../../cli/devserver/embedded';
import { eventually } from '../helpers/eventually';
import { freePort, isRunning, portOpen, runCommand, startProcess, userEnv } from '../helpers/processes';

jest.setTimeout(300_000);

test('the embedded dev server keeps its store in WAL mode and what it holds across a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-embedded-'));
  const dbFilename = join(dir, 'bamboo.sqlite');
  const [port, uiPort] = [await freePort(), await freePort()];
  try {
    let server = await startEmbeddedServer({ port, uiPort, dbFilename });
    let client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const handle = await client.workflow.start('sessionWorkflow', { taskQueue: 'no-worker', workflowId: 'bamboo-session-kept', args: [{}] });
    await client.connection.close();
    await server.stop();
    // SQLite's header: bytes 18 and 19 (file format write/read versions) are 2 in WAL mode, 1 in rollback mode.
    const header = readFileSync(dbFilename).subarray(18, 20);
    expect([...header]).toEqual([2, 2]);

    server = await startEmbeddedServer({ port, uiPort, dbFilename });
    client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const described = await client.workflow.getHandle(handle.workflowId).describe();
    expect(described.runId).toBe(handle.firstExecutionRunId);
    await client.workflow.getHandle(handle.workflowId).terminate();
    await client.connection.close();
    await server.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm run dev-server started from a script (stdin closed) serves until a SIGTERM to its pid, then stops the server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-dev-server-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const job = startProcess('npm run dev-server', 'npm', ['run', 'dev-server', '--', '--port', String(port), '--ui-port', String(uiPort)], {
    env: userEnv({ BAMBOO_DEV_DB: join(dir, 'bamboo.sqlite') }),
    ownGroup: true,
  });
  try {
    await job.waitForOutput('Press Ctrl-C to stop.', 120_000);
    const client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${port}` }) });
    const handle = await client.workflow.start('sessionWorkflow', { taskQueue: 'no-worker', workflowId: 'bamboo-session-scripted', args: [{}] });
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await client.connection.close();
    expect(job.alive()).toBe(true);

    job.child.kill('SIGTERM'); // `kill <pid>` from the script: npm's process only
    expect(await job.exited).toEqual({ code: 0, signal: null });
    expect(job.output()).toContain('SIGTERM: stopping the Temporal dev server');
    expect(await portOpen(port)).toBe(false);
    // The server process went with it (a loaded machine may take a moment to reap the last of the group).
    await eventually(async () => !isRunning(-job.pid), { timeoutMs: 10_000, what: 'every process of the group to exit' });
  } finally {
    if (job.alive()) await job.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bamboo dev serves sessions with its own worker until Ctrl-C, then stops both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-dev-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const job = startProcess('npm run bamboo -- dev', 'npm', ['run', 'bamboo', '--', 'dev', '--port', String(port), '--ui-port', String(uiPort), '--db', join(dir, 'bamboo.sqlite')], {
    env: userEnv(),
    ownGroup: true,
  });
  try {
    await job.waitForOutput('bamboo worker:', 180_000);
    const run = await runCommand('npx', ['bamboo', 'run', 'hello there'], userEnv({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('assistant: echo: hello there');

    expect(await job.kill('SIGINT')).toEqual({ code: 0, signal: null });
    expect(job.output()).toContain('bamboo dev: worker and dev server stopped');
    expect(await portOpen(port)).toBe(false);
    expect(await portOpen(uiPort)).toBe(false);
    await eventually(async () => !isRunning(-job.pid), { timeoutMs: 10_000, what: 'every process of the group to exit' });
  } finally {
    if (job.alive()) await job.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
