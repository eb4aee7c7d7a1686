/**
 * The embedded default (`npm start`, `bamboo dev`): a persistent SQLite store, in WAL mode
 * (the fast setting `npm run bench:sqlite` measured), that keeps sessions across restarts.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedServer } from '../../src/devserver/embedded';

jest.setTimeout(120_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

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
