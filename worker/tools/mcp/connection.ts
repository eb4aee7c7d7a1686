/**
 * One worker's connection to one MCP server: a single SDK client, opened on first use and
 * shared by every call on this worker (MCP multiplexes concurrent requests over it). When the
 * connection closes — a stdio server exited or was killed, an HTTP stream gave up — the calls
 * in flight end with an error and the next call opens a new one (for stdio: a new process).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../../common';
import type { McpHttpServerConfig, McpServerConfig } from './config';
import { ProcessGroupStdioTransport } from './stdio-transport';

const CLIENT_INFO = { name: 'bamboo', version: '1.0.0' };
/** For listing tools and connecting; a call's own limit is the tool activity's. */
const REQUEST_TIMEOUT_MS = 30_000;
const SESSION_END_WAIT_MS = 2000;

export interface McpCallOptions {
  signal: AbortSignal;
  /** The SDK's own limit for the call: a backstop behind the tool activity's time limit. */
  timeoutMs: number;
  onprogress(progress: Progress): void;
}

/** Raised when the connection closed during a call; the next call reconnects. */
export class McpConnectionLostError extends Error {}

interface Live {
  client: Client;
  transport: Transport;
  /** The connection closed (set before the SDK fails the requests in flight). */
  lost: boolean;
}

export class McpConnection {
  private live?: Promise<Live>;
  private current?: Live;
  private closing = false;
  /** How many connections were opened so far (1 + reconnects). */
  connects = 0;

  constructor(
    readonly server: McpServerConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The process id of a stdio server's current process (tests kill it to prove restarts). */
  async pid(): Promise<number | undefined> {
    const live = await this.connect();
    return live.transport instanceof ProcessGroupStdioTransport ? live.transport.pid : undefined;
  }

  async listTools(): Promise<Tool[]> {
    const { client } = await this.connect();
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: REQUEST_TIMEOUT_MS });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /**
   * Calls `name`. Resolves with the server's result (an `isError` result included); rejects
   * with the SDK's error when aborted, and with McpConnectionLostError when the connection
   * closed first (the server died): the connection is reopened for the next call.
   */
  async callTool(name: string, args: Record<string, unknown>, options: McpCallOptions): Promise<CallToolResult> {
    const live = await this.connect();
    options.signal.throwIfAborted();
    try {
      return (await live.client.callTool({ name, arguments: args }, undefined, {
        signal: options.signal,
        timeout: options.timeoutMs,
        onprogress: options.onprogress,
      })) as CallToolResult;
    } catch (error) {
      if (live.lost && !options.signal.aborted) throw new McpConnectionLostError(this.lostMessage(live));
      throw error;
    }
  }

  /** Closes the connection (for stdio: ends the server's process group). No reconnect after. */
  async close(): Promise<void> {
    this.closing = true;
    const live = await this.live?.catch(() => undefined);
    this.live = undefined;
    // An HTTP server keeps a session until told: end it, but never let a slow server hold up shutdown.
    if (live?.transport instanceof StreamableHTTPClientTransport && !live.lost) await within(live.transport.terminateSession(), SESSION_END_WAIT_MS);
    await live?.client.close().catch(() => undefined);
    await live?.transport.close().catch(() => undefined);
  }

  private connect(): Promise<Live> {
    if (this.closing) return Promise.reject(new Error(`MCP server ${this.server.name}: the worker is shutting down`));
    if (!this.live) {
      const opening = this.open();
      this.live = opening;
      // A failed connect is not kept: the next call tries again.
      opening.catch(() => {
        if (this.live === opening) this.live = undefined;
      });
    }
    return this.live;
  }

  private async open(): Promise<Live> {
    const transport = this.server.transport === 'stdio' ? new ProcessGroupStdioTransport(this.server) : httpTransport(this.server, this.env);
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    const live: Live = { client, transport, lost: false };
    // Called before the SDK fails the requests in flight, so they can tell why they failed.
    client.onclose = () => {
      live.lost = true;
      if (this.current === live) {
        this.current = undefined;
        this.live = undefined;
      }
    };
    // An HTTP stream that cannot be resumed leaves its request unanswered: treat the
    // connection as lost, so the calls end and the next one reconnects.
    client.onerror = (error) => {
      if (/Maximum reconnection attempts|Failed to reconnect/.test(error.message)) void client.close();
    };
    this.connects += 1;
    try {
      await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    } catch (error) {
      await transport.close().catch(() => undefined);
      throw new Error(`cannot connect to MCP server ${this.server.name}: ${describeFailure(transport, error)}`);
    }
    if (live.lost) throw new Error(`MCP server ${this.server.name} closed the connection right after connecting${stderrOf(transport)}`);
    this.current = live;
    return live;
  }

  private lostMessage(live: Live): string {
    // The transport closed it itself: its reason says what the server did.
    if (live.transport instanceof ProcessGroupStdioTransport && live.transport.failure) return live.transport.failure.message;
    return `MCP server ${this.server.name} closed the connection during the call (it is reconnected for the next call)${stderrOf(live.transport)}`;
  }
}

async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function stderrOf(transport: Transport): string {
  return transport instanceof ProcessGroupStdioTransport && transport.stderr ? `; its stderr: ${transport.stderr.slice(-500)}` : '';
}

function describeFailure(transport: Transport, error: unknown): string {
  if (transport instanceof ProcessGroupStdioTransport && transport.failure) return transport.failure.message;
  return `${errorMessage(error)}${stderrOf(transport)}`;
}

function httpTransport(server: McpHttpServerConfig, env: NodeJS.ProcessEnv): StreamableHTTPClientTransport {
  const headers: Record<string, string> = {};
  for (const [header, variable] of Object.entries(server.headersEnv)) {
    const value = env[variable];
    if (value === undefined || value === '') throw new Error(`MCP server ${server.name}: header ${header} needs the environment variable ${variable}, which is not set`);
    headers[header] = value;
  }
  return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
}
