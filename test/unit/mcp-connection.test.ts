/**
 * One worker's connection to a real stdio MCP server (`@modelcontextprotocol/server-everything`):
 * a restricted environment, reused, reopened after the server dies, closed with nothing left,
 * an abort that ends the call; and start-up failures that name the server.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connectMcpServers } from '../../worker/tools/mcp';
import type { McpServerConfig } from '../../worker/tools/mcp/config';
import { McpConnection } from '../../worker/tools/mcp/connection';
import { join } from 'node:path';
import { isRunning, ROOT } from '../helpers/processes';

const SERVER_BIN = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const everything = (extra: Partial<McpServerConfig> = {}): McpServerConfig =>
  ({ name: 'everything', transport: 'stdio', command: process.execPath, args: [SERVER_BIN, 'stdio'], env: {}, inheritEnv: [], ...extra }) as McpServerConfig;
const noProgress = { onprogress: () => undefined, timeoutMs: 30_000 };
/** A server (the SDK's) whose `flood` answers with one line over the 10 MiB stdio limit (issue 25). */
const OVERSIZED_BIN = join(ROOT, 'test/fixtures/mcp/oversized-server.mjs');

test("the server's environment: the basics, inheritEnv by name and literal env; not the worker's secrets", async () => {
  const connection = new McpConnection(everything({ env: { GREETING: 'hello' }, inheritEnv: ['MCP_TEST_PASSED'] } as Partial<McpServerConfig>), {});
  process.env.MCP_TEST_SECRET = 'do-not-leak';
  process.env.MCP_TEST_PASSED = 'passed-by-name';
  try {
    const result = await connection.callTool('get-env', {}, { signal: new AbortController().signal, ...noProgress });
    const env = JSON.parse((result.content[0] as { text: string }).text) as Record<string, string>;
    expect(env).toMatchObject({ GREETING: 'hello', MCP_TEST_PASSED: 'passed-by-name', PATH: process.env.PATH });
    expect(env.MCP_TEST_SECRET).toBeUndefined();
  } finally {
    delete process.env.MCP_TEST_SECRET;
    delete process.env.MCP_TEST_PASSED;
    await connection.close();
  }
});

test('one process serves every call; a killed server is restarted for the next call; close leaves nothing', async () => {
  const connection = new McpConnection(everything());
  const signal = new AbortController().signal;
  try {
    await connection.callTool('echo', { message: 'one' }, { signal, ...noProgress });
    const first = (await connection.pid())!;
    await connection.callTool('echo', { message: 'two' }, { signal, ...noProgress });
    expect(await connection.pid()).toBe(first);
    expect(connection.connects).toBe(1);

    const inFlight = connection.callTool('trigger-long-running-operation', { duration: 100, steps: 100 }, { signal, ...noProgress });
    await sleep(500);
    process.kill(first, 'SIGKILL');
    await expect(inFlight).rejects.toThrow(/^MCP server everything closed the connection during the call/);

    const again = await connection.callTool('echo', { message: 'three' }, { signal, ...noProgress });
    expect(again.content).toEqual([{ type: 'text', text: 'Echo: three' }]);
    const second = (await connection.pid())!;
    expect(second).not.toBe(first);
    expect(connection.connects).toBe(2);

    await connection.close();
    expect(isRunning(second)).toBe(false);
    await expect(connection.callTool('echo', { message: 'four' }, { signal, ...noProgress })).rejects.toThrow(/shutting down/);
  } finally {
    await connection.close();
  }
});

test('a line over the 10 MiB stdio limit fails the call, naming the server and the limit; this process lives and the next call gets a new server', async () => {
  const connection = new McpConnection({ name: 'flood', transport: 'stdio', command: process.execPath, args: [OVERSIZED_BIN], env: {}, inheritEnv: [] });
  const uncaught: Error[] = [];
  const record = (error: Error) => void uncaught.push(error);
  const signal = new AbortController().signal;
  try {
    await connection.callTool('echo', { message: 'before' }, { signal, ...noProgress });
    const first = (await connection.pid())!;
    // Were the listener to throw, the error would be uncaught: this process (a worker's) would exit.
    process.prependListener('uncaughtException', record);
    await expect(connection.callTool('flood', {}, { signal, ...noProgress })).rejects.toThrow(
      'MCP server flood sent a line over the stdio limit of 10485760 bytes (10 MiB): the connection was closed and the server stopped (it is restarted for the next call)',
    );
    expect(uncaught).toEqual([]);
    expect(isRunning(first)).toBe(false);

    const after = await connection.callTool('echo', { message: 'after' }, { signal, ...noProgress });
    expect(after.content).toEqual([{ type: 'text', text: 'echo: after' }]);
    expect(await connection.pid()).not.toBe(first);
    expect(connection.connects).toBe(2);
  } finally {
    process.removeListener('uncaughtException', record);
    await connection.close();
  }
});

test('an abort ends the call at once with progress seen so far; the connection stays usable', async () => {
  const connection = new McpConnection(everything());
  try {
    const abort = new AbortController();
    const notes: number[] = [];
    const call = connection.callTool('trigger-long-running-operation', { duration: 100, steps: 200 }, {
      signal: abort.signal,
      timeoutMs: 120_000,
      onprogress: (p) => {
        notes.push(p.progress);
        if (notes.length === 2) abort.abort(new Error('cancelled by test'));
      },
    });
    await expect(call).rejects.toThrow('cancelled by test');
    expect(notes).toEqual([1, 2]);
    const after = await connection.callTool('echo', { message: 'still here' }, { signal: new AbortController().signal, ...noProgress });
    expect(after.content).toEqual([{ type: 'text', text: 'Echo: still here' }]);
    expect(connection.connects).toBe(1);
  } finally {
    await connection.close();
  }
});

test('a server that cannot start stops discovery, naming it, and the servers already started are closed', async () => {
  const broken = everything({ name: 'broken', command: '/nonexistent/mcp-server' } as Partial<McpServerConfig>);
  await expect(connectMcpServers([everything(), broken], { warn: () => undefined })).rejects.toThrow(
    /^MCP servers could not list their tools: broken: cannot connect to MCP server broken: MCP server broken could not start \/nonexistent\/mcp-server/,
  );
});

test("an HTTP server's header variable that is not set is an error naming the variable, not a value", async () => {
  const connection = new McpConnection({ name: 'remote', transport: 'http', url: 'http://127.0.0.1:9/mcp', headersEnv: { Authorization: 'REMOTE_MCP_TOKEN' } }, {});
  await expect(connection.listTools()).rejects.toThrow('MCP server remote: header Authorization needs the environment variable REMOTE_MCP_TOKEN, which is not set');
});

test('discovery lists every tool, applies the allow-list and warns about names the server does not list', async () => {
  const warnings: string[] = [];
  const mcp = await connectMcpServers([everything({ tools: ['echo', 'get-sum', 'no-such-tool'] } as Partial<McpServerConfig>)], { warn: (w) => warnings.push(w) });
  try {
    expect(mcp.tools.map((t) => t.spec.name)).toEqual(['mcp__everything__echo', 'mcp__everything__get-sum']);
    expect(mcp.tools.every((t) => t.idempotent)).toBe(true);
    expect(mcp.servers[0].tools.length).toBeGreaterThan(2);
    expect(warnings).toEqual(['MCP server everything: the allow-list names no-such-tool, which the server does not list']);
  } finally {
    await mcp.close();
  }
});
