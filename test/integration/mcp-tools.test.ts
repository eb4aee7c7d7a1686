/**
 * MCP servers' tools as durable tool calls, against a real MCP server nobody here wrote
 * (`@modelcontextprotocol/server-everything`), over stdio and over streamable HTTP, in child
 * runs on a real worker: round trips through the scripted model, progress that keeps a child
 * alive past max_idle and shows in `bamboo watch`'s progress, a cancel that reaches the
 * server, a server killed mid-call, the tool policy and an allow-list deciding what models are
 * offered, and no server process left once the worker stops.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildRunResult } from '../../common';
import { cancelSession, startChildRun } from '../../client/child-runs';
import { startSession } from '../../client/root-sessions';
import { sessionWorkflowId, type PendingRequest, respondUpdate, stateQuery } from '../../common';
import { liveProgress } from '../../cli/sessions-api';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import type { ModelProvider, ModelRequest } from '../../worker/providers/types';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { connectMcpServers, type McpServerConfig, type McpServers } from '../../worker/tools/mcp';
import { createToolRegistry, type ToolDefinition } from '../../worker/tools/types';
import { eventually } from '../helpers/eventually';
import { historyText } from '../helpers/history-text';
import { freePort, isRunning, killStartedProcesses, ROOT, startProcess, type ManagedProcess } from '../helpers/processes';
import { withRecordingParent } from '../helpers/recording-suite';
import { childSession, rootSession, spawnJobFor } from '../helpers/session-fixtures';
import { bamboo } from '../helpers/cli';
import { startWorkerProcess } from '../helpers/worker-process';
import { connectTestClient, uniqueId } from '../helpers/temporal';

const SERVER_BIN = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const TAP = join(ROOT, 'test/fixtures/mcp/mcp-tap.mjs');
const tapLog = join(tmpdir(), `bamboo-mcp-tap-${randomUUID()}.log`);
const stdio = (name: string, args: string[], extra: Partial<McpServerConfig> = {}): McpServerConfig =>
  ({ name, transport: 'stdio', command: process.execPath, args, env: {}, inheritEnv: [], ...extra }) as McpServerConfig;

/** Every model request, to see which tools (and which schemas) each model call was offered. */
const requests: ModelRequest[] = [];
const scripted = createScriptedProvider();
const recordingScripted: ModelProvider = {
  name: scripted.name,
  stream: (request) => {
    requests.push(request);
    return scripted.stream(request);
  },
};

// Filled once the servers are connected (the first beforeAll), before the worker starts.
const tools = new Map<string, ToolDefinition>();
let mcp: McpServers;
let httpServer: ManagedProcess;
let port: number;
const startupWarnings: string[] = [];

async function startHttpServer(): Promise<ManagedProcess> {
  const server = startProcess('server-everything (streamable HTTP)', process.execPath, [SERVER_BIN, 'streamableHttp'], { env: { ...process.env, PORT: String(port) } });
  await server.waitForOutput(`listening on port ${port}`, 30_000);
  return server;
}

beforeAll(async () => {
  port = await freePort();
  httpServer = await startHttpServer();
  mcp = await connectMcpServers([
    stdio('everything', [SERVER_BIN, 'stdio']),
    stdio('tapped', [TAP, tapLog, process.execPath, SERVER_BIN, 'stdio']),
    { name: 'web', transport: 'http', url: `http://127.0.0.1:${port}/mcp`, headersEnv: {} },
    stdio('limited', [SERVER_BIN, 'stdio'], { tools: ['echo'] }),
  ], { warn: (warning) => startupWarnings.push(warning) });
  for (const [name, tool] of createToolRegistry([...BUILTIN_TOOLS, ...mcp.tools])) tools.set(name, tool);
});

const suite = withRecordingParent({
  deps: {
    tools,
    providers: createProviderRegistry([recordingScripted], 'scripted'),
    toolPolicy: {
      tools: { 'mcp__everything__get-env': 'deny', 'mcp__web__get-sum': 'ask' },
      subagents: { reviewer: { mcp__everything__echo: 'deny' } },
    },
  },
});

afterAll(async () => {
  await mcp?.close();
  await killStartedProcesses(); // the HTTP server, and any worker process a failed test left
});

async function runChild(prompt: string, options: { metadata?: Record<string, string>; disabledTools?: string[] } = {}) {
  const session = childSession(prompt, { parentSessionId: suite.parentSessionId, metadata: options.metadata ?? {} });
  const job = spawnJobFor(session, options.disabledTools ? { disabledTools: options.disabledTools } : {});
  const handle = await startChildRun(suite.tw.client, job, { taskQueue: suite.tw.taskQueue });
  return { session, handle };
}

const toolMessages = (result: ChildRunResult) => result.session?.messages.filter((m) => m.role === 'tool').map((m) => m.content);

/** The tool names offered in the first model request of the session whose prompt holds `marker`. */
function offeredTo(marker: string): string[] {
  const request = requests.find((r) => r.messages.some((m) => m.role === 'user' && m.content.includes(marker)));
  if (!request) throw new Error(`no model request for ${marker}`);
  return request.tools.map((t) => t.name);
}

/** The progress note of the run's tool call, as `bamboo watch` reads it, once it has one. */
async function toolProgressNote(handle: WorkflowHandle, pattern: RegExp): Promise<string> {
  return eventually(
    async () => {
      const live = await liveProgress(suite.tw.client, await handle.describe());
      const note = live.find((p) => p.activity === 'runTool')?.details?.note;
      return note && pattern.test(note) ? note : undefined;
    },
    { timeoutMs: 60_000, what: `the tool's progress note to match ${pattern}` },
  );
}

test('stdio: the model calls mcp__everything__echo, reads its answer, and history carries the name, not the schema', async () => {
  const { session, handle } = await runChild('[[tool:mcp__everything__echo|{"message":"hi"}]] done');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual(['Echo: hi']);
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'echo: done' });
  const history = historyText(await handle.fetchHistory());
  expect(history).toContain('mcp__everything__echo');
  expect(history).not.toContain('Message to echo'); // the schema's description went to the model only
  expect(await suite.completionsFor(session.id)).toEqual([expect.objectContaining({ status: 'completed' })]);
});

test('streamable HTTP: the same round trip through a server on a loopback port', async () => {
  const { handle } = await runChild('[[tool:mcp__web__echo|{"message":"over http"}]] done');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual(['Echo: over http']);
});

test("a long-running tool's progress notifications keep the child alive past max_idle and show in its heartbeat details", async () => {
  const args = JSON.stringify({ duration: 12, steps: 12 });
  const { handle } = await runChild(`[[tool:mcp__web__trigger-long-running-operation|${args}]] done`, {
    metadata: { 'child_watchdog.max_idle_secs': '4' },
  });
  expect(await toolProgressNote(handle, /^progress \d+\/12$/)).toMatch(/^progress \d+\/12$/);
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual(['Long running operation completed. Duration: 12 seconds, Steps: 12.']);
});

/** What the tapped server received, line by line. */
function sentToTapped(): WireMessage[] {
  if (!existsSync(tapLog)) return [];
  return readFileSync(tapLog, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as WireMessage];
      } catch {
        return []; // the empty tail, or a line still being written
      }
    });
}

/** The `notifications/cancelled` the tapped server received for the call with these `steps`. */
async function cancellationReceived(steps: number): Promise<WireMessage> {
  const call = sentToTapped().find((m) => m.method === 'tools/call' && m.params?.name === 'trigger-long-running-operation' && m.params.arguments?.steps === steps);
  expect(call).toBeDefined();
  return eventually(async () => sentToTapped().find((m) => m.method === 'notifications/cancelled' && m.params?.requestId === call!.id), {
    timeoutMs: 15_000,
    what: 'notifications/cancelled to reach the server',
  });
}

test('cancelling the session mid-call sends the server notifications/cancelled for that request', async () => {
  const { session, handle } = await runChild('[[tool:mcp__tapped__trigger-long-running-operation|{"duration":100,"steps":100}]]');
  await toolProgressNote(handle, /^progress \d+\/100$/);
  await cancelSession(suite.tw.client, session.id);
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'cancelled', error: 'Child session cancelled' });
  expect((await cancellationReceived(100)).params?.reason).toBeDefined();
});

test('the idle watchdog firing mid-call (no progress for max_idle) ends the run timeout and cancels the request at the server', async () => {
  // Two steps of 30 s: the first progress notification would come only after max_idle.
  const { handle } = await runChild('[[tool:mcp__tapped__trigger-long-running-operation|{"duration":60,"steps":2}]]', {
    metadata: { 'child_watchdog.max_idle_secs': '3' },
  });
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(result.error).toMatch(/^Child session idle timeout after \d+ seconds without events \(max_idle_secs=3\)$/);
  expect((await cancellationReceived(2)).params?.reason).toBeDefined();
});

test('a server killed mid-call: the model reads an error result, and the next call runs on a restarted server', async () => {
  const connection = mcp.connection('everything')!;
  const { handle } = await runChild('[[tool:mcp__everything__trigger-long-running-operation|{"duration":100,"steps":100}]] still there?');
  await toolProgressNote(handle, /^progress \d+\/100$/);
  const killed = (await connection.pid())!;
  process.kill(killed, 'SIGKILL');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual([expect.stringMatching(/^Error: MCP server everything closed the connection during the call \(it is reconnected for the next call\)/)]);
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'echo: still there?' });

  const next = await runChild('[[tool:mcp__everything__echo|{"message":"again"}]] done');
  const nextResult = await next.handle.result();
  expect(toolMessages(nextResult)).toEqual(['Echo: again']);
  const restarted = await connection.pid();
  expect(restarted).not.toBe(killed);
  expect(isRunning(killed)).toBe(false);
});

test('the tool policy and disabledTools decide which MCP tools a model is offered; a denied one called anyway is an error result', async () => {
  const marker = uniqueId('offered');
  const { handle } = await runChild(`[[tool:mcp__everything__get-env|{}]] ${marker}`, { disabledTools: ['mcp__everything__get-sum'] });
  const result = await handle.result();
  expect(toolMessages(result)).toEqual(['Error: tool mcp__everything__get-env is denied by policy']);
  const offered = offeredTo(marker);
  expect(offered).toEqual(expect.arrayContaining(['mcp__everything__echo', 'mcp__web__echo', 'get_current_time']));
  expect(offered).not.toContain('mcp__everything__get-env'); // denied
  expect(offered).not.toContain('mcp__everything__get-sum'); // disabled for this child
  const echo = requests.find((r) => r.messages.some((m) => m.content.includes(marker)))!.tools.find((t) => t.name === 'mcp__everything__echo');
  expect(echo?.parameters).toEqual({ type: 'object', properties: { message: { type: 'string', description: 'Message to echo' } }, required: ['message'] });

  const reviewer = uniqueId('reviewer');
  await (await runChild(`plain ${reviewer}`, { metadata: { subagent_type: 'reviewer' } })).handle.result();
  expect(offeredTo(reviewer)).not.toContain('mcp__everything__echo'); // denied for this subagent_type
  expect(offeredTo(reviewer)).toContain('mcp__web__echo');
});

test('an ask MCP tool in a child waits for a person at the root and runs once approved', async () => {
  const session = rootSession('[[spawn:Helper|[[tool:mcp__web__get-sum|{"a":2,"b":3}]] add them]] plan');
  const handle = await startSession(suite.tw.client, { session }, { taskQueue: suite.tw.taskQueue });
  try {
    const request = await eventually<PendingRequest>(async () => (await handle.query(stateQuery)).pendingRequests?.[0], { timeoutMs: 60_000, what: 'a pending request at the root' });
    expect(request).toMatchObject({ kind: 'tool', tool: 'mcp__web__get-sum', argumentsPreview: '{"a":2,"b":3}' });
    await handle.executeUpdate(respondUpdate, { args: [{ requestId: request.requestId, decision: 'approve' }] });
    const child = (await suite.tw.client.workflow.getHandle(sessionWorkflowId(request.sessionId)).result()) as ChildRunResult;
    expect(toolMessages(child)).toEqual(['The sum of 2 and 3 is 5.']);
  } finally {
    await handle.terminate().catch(() => undefined);
  }
});

test("a server's allow-list: only the tools it names are offered; another of its tools is unknown", async () => {
  const marker = uniqueId('allow');
  const { handle } = await runChild(`[[tool:mcp__limited__echo|{"message":"listed"}]] [[tool:mcp__limited__get-sum|{"a":1,"b":2}]] ${marker}`);
  const result = await handle.result();
  expect(toolMessages(result)).toEqual(['Echo: listed', 'Error: unknown tool "mcp__limited__get-sum"']);
  const limited = offeredTo(marker).filter((name) => name.startsWith('mcp__limited__'));
  expect(limited).toEqual(['mcp__limited__echo']);
  // Outside the allow-list is not worth a warning; a tool the worker cannot offer is.
  expect(startupWarnings.filter((w) => w.startsWith('MCP server limited'))).toEqual([]);
  expect(startupWarnings).toContain('MCP server everything: tool simulate-research-query not offered: it runs only as an MCP task, which Bamboo does not use');
});

test('an HTTP server killed mid-call: the model reads an error result; once the server is back, the next call reconnects', async () => {
  const { handle } = await runChild('[[tool:mcp__web__trigger-long-running-operation|{"duration":100,"steps":100}]] still there?');
  await toolProgressNote(handle, /^progress \d+\/100$/);
  await httpServer.kill('SIGKILL');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual([expect.stringMatching(/^Error: MCP server web closed the connection during the call/)]);

  httpServer = await startHttpServer();
  const next = await (await runChild('[[tool:mcp__web__echo|{"message":"back"}]] done')).handle.result();
  expect(toolMessages(next)).toEqual(['Echo: back']);
});

describe('a worker process with MCP servers in its configuration file', () => {
  /** The pids of processes whose command line holds `marker`. */
  function processesWith(marker: string): number[] {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  async function startWorkerWithServer(marker: string) {
    const configFile = join(tmpdir(), `bamboo-mcp-config-${marker}.json`);
    writeFileSync(configFile, JSON.stringify({ mcpServers: [stdio('everything', [SERVER_BIN, 'stdio', `--marker=${marker}`])] }));
    const taskQueue = `mcp-${marker}`;
    const worker = await startWorkerProcess({ taskQueue, env: { BAMBOO_CONFIG: configFile } });
    await worker.waitForOutput(/MCP tools: everything \(\d+\)/, 10_000);
    return { worker, taskQueue };
  }

  test('serves MCP tools, and stopping it (SIGTERM) leaves no server process behind', async () => {
    const marker = uniqueId('mcp-stop');
    const { worker, taskQueue } = await startWorkerWithServer(marker);
    expect(processesWith(marker)).toHaveLength(1);
    const client = await connectTestClient();
    try {
      const session = childSession('[[tool:mcp__everything__echo|{"message":"from the worker process"}]] done', { parentSessionId: suite.parentSessionId });
      const result = await (await startChildRun(client, spawnJobFor(session), { taskQueue })).result();
      expect(toolMessages(result)).toEqual(['Echo: from the worker process']);
    } finally {
      await client.connection.close();
    }
    const exit = await worker.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(processesWith(marker)).toEqual([]);
  });

  test('a read-only MCP tool whose worker is killed mid-call runs again on another worker and completes', async () => {
    const marker = uniqueId('mcp-retry');
    const log = join(tmpdir(), `bamboo-mcp-tap-${marker}.log`);
    const configFile = join(tmpdir(), `bamboo-mcp-config-${marker}.json`);
    writeFileSync(configFile, JSON.stringify({ mcpServers: [stdio('everything', [TAP, log, process.execPath, SERVER_BIN, 'stdio', `--marker=${marker}`])] }));
    const taskQueue = `mcp-${marker}`;
    const first = await startWorkerProcess({ taskQueue, env: { BAMBOO_CONFIG: configFile } });
    const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('"tools/call"')).length : 0);
    const session = childSession('[[tool:mcp__everything__trigger-long-running-operation|{"duration":10,"steps":10}]] done', {
      parentSessionId: suite.parentSessionId,
      metadata: { 'child_watchdog.max_idle_secs': '5' }, // a dead worker is noticed within 5 s
    });
    const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue });
    await eventually(async () => calls() === 1, { timeoutMs: 60_000, what: 'the first call to reach the server' });
    const second = await startWorkerProcess({ taskQueue, env: { BAMBOO_CONFIG: configFile } });
    try {
      await first.kill('SIGKILL');
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(toolMessages(result)).toEqual(['Long running operation completed. Duration: 10 seconds, Steps: 10.']);
      expect(calls()).toBe(2); // run again, on the second worker's server
    } finally {
      await second.kill('SIGTERM');
    }
    expect(processesWith(marker)).toEqual([]);
  });

  test('a worker that dies (SIGKILL) leaves no server process behind either (the process-group guard ends it)', async () => {
    const marker = uniqueId('mcp-kill');
    const { worker } = await startWorkerWithServer(marker);
    expect(processesWith(marker)).toHaveLength(1);
    await worker.kill('SIGKILL');
    await eventually(async () => processesWith(marker).length === 0, { timeoutMs: 15_000, what: 'the MCP server process to end' });
  });
});

describe('bamboo tools', () => {
  function configFile(config: unknown): string {
    const file = join(tmpdir(), `bamboo-mcp-tools-${randomUUID()}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  test("lists each server's tools as models see them, with the policy, the retry rule and what is not offered", async () => {
    const config = configFile({
      mcpServers: [stdio('everything', [SERVER_BIN, 'stdio'], { tools: ['echo', 'get-sum'] }), { name: 'web', transport: 'http', url: `http://127.0.0.1:${port}/mcp` }],
      toolPolicy: { tools: { 'mcp__everything__get-sum': 'deny' } },
    });
    const text = await bamboo(['tools'], { BAMBOO_CONFIG: config });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^everything \(stdio\): 2 of \d+ tools offered$/m);
    expect(text.stdout).toMatch(/^ {2}mcp__everything__echo +allow +retry +Echoes back the input string$/m);
    expect(text.stdout).toMatch(/^ {2}mcp__everything__get-sum +deny +retry +Returns the sum of two numbers$/m);
    expect(text.stdout).toMatch(/^ {2}mcp__everything__get-env +- +- +not offered: not in the server's "tools" allow-list$/m);
    expect(text.stdout).toMatch(/^web \(http\): \d+ of \d+ tools offered$/m);
    expect(text.stdout).toMatch(/^ {2}mcp__web__simulate-research-query +- +- +not offered: it runs only as an MCP task, which Bamboo does not use$/m);

    const json = await bamboo(['tools', '--json'], { BAMBOO_CONFIG: config });
    const report = JSON.parse(json.stdout) as { servers: { server: string; tools: { name: string; policy: string; idempotent: boolean; skipped?: string }[] }[] };
    expect(report.servers.map((s) => s.server)).toEqual(['everything', 'web']);
    expect(report.servers[0].tools.find((t) => t.name === 'mcp__everything__echo')).toMatchObject({ policy: 'allow', idempotent: true });
    expect(report.servers[1].tools.find((t) => t.name === 'mcp__web__toggle-simulated-logging')).toMatchObject({ idempotent: false });
    expect(report.servers[1].tools.filter((t) => t.skipped !== undefined).map((t) => t.name)).toEqual(['mcp__web__simulate-research-query']);
  });

  test('a server that cannot be reached: exit 1, naming it', async () => {
    const config = configFile({ mcpServers: [{ name: 'gone', transport: 'stdio', command: '/nonexistent/mcp-server' }] });
    const result = await bamboo(['tools'], { BAMBOO_CONFIG: config });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bamboo: MCP servers could not list their tools: gone: cannot connect to MCP server gone');
  });
});

interface WireMessage {
  id?: number;
  method?: string;
  params?: { name?: string; arguments?: { steps?: number }; requestId?: number; reason?: string };
}
