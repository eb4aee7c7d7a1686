/**
 * The stdio transport for MCP servers, run the way subprocess agents are (worker/runners/subprocess.ts):
 * the command from the worker's configuration, no shell, a restricted environment, its own
 * process group, and a guard process (worker/runners/process-guard.ts) that ends that group if
 * the worker dies without closing it. The SDK's StdioClientTransport signals only the process
 * it spawned, so a server started through a wrapper (`npx`, a shell script) would outlive it.
 *
 * Closing ends the whole group: stdin closed, then SIGTERM, then SIGKILL, and resolves only
 * once no process of the group is left.
 *
 * Nothing the server writes can throw out of the stdout listener (where a throw is uncaught and
 * ends the worker process): a line that is not a JSON-RPC message is reported through
 * `onerror` and skipped; a line over STDIO_MAX_LINE_BYTES closes the connection — the rest of
 * the stream cannot be trusted, nor the request it answered be told apart — with `failure`
 * saying why, which the calls in flight report (connection.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { ReadBuffer, serializeMessage, STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../../common';
import { guardProcessGroup, type ProcessGroupGuard } from '../../runners/process-guard';
import { restrictedEnv, stopProcessGroup } from '../../runners/process-group';
import type { McpStdioServerConfig } from './config';

const KILL_GRACE_MS = 2000;
const STDERR_TAIL_CHARS = 2048;
/** The longest line (one JSON-RPC message) read from a server: the SDK's own stdio limit, 10 MiB. */
export const STDIO_MAX_LINE_BYTES = STDIO_DEFAULT_MAX_BUFFER_SIZE;

/** The server sent a line over STDIO_MAX_LINE_BYTES: its connection is closed. */
export class McpLineTooLongError extends Error {
  constructor(server: string) {
    super(
      `MCP server ${server} sent a line over the stdio limit of ${STDIO_MAX_LINE_BYTES} bytes (${STDIO_MAX_LINE_BYTES / (1024 * 1024)} MiB): ` +
        'the connection was closed and the server stopped (it is restarted for the next call)',
    );
    this.name = 'McpLineTooLongError';
  }
}

/** The same environment subprocess agents get: the worker's own holds credentials. */
export function serverEnv(server: Pick<McpStdioServerConfig, 'env' | 'inheritEnv'>, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return restrictedEnv(server, from);
}

export class ProcessGroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child?: ChildProcessWithoutNullStreams;
  private guard?: ProcessGroupGuard;
  private readonly buffer = new ReadBuffer({ maxBufferSize: STDIO_MAX_LINE_BYTES });
  private stderrTail = '';
  private closed = false;
  /** Why this transport closed the connection itself (a line too long), if it did. */
  failure?: Error;

  constructor(private readonly server: McpStdioServerConfig) {}

  /** The server's process (group leader) id, once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the server wrote to stderr (for error messages). */
  get stderr(): string {
    return this.stderrTail.trim();
  }

  async start(): Promise<void> {
    const child = spawn(this.server.command, this.server.args, {
      cwd: this.server.cwd,
      env: serverEnv(this.server),
      shell: false,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    if (child.pid !== undefined) this.guard = guardProcessGroup(child.pid, KILL_GRACE_MS / 1000);
    try {
      await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    } catch (error) {
      this.guard?.release();
      throw new Error(`MCP server ${this.server.name} could not start ${this.server.command}: ${errorMessage(error)}`);
    }
    child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS)));
    child.stdin.on('error', (error) => this.onerror?.(error));
    child.once('close', () => void this.close());
  }

  /** The stdout listener: must not throw (see the header). */
  private receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.buffer.append(chunk); // throws, the buffer cleared, past the limit
    } catch {
      this.fail(new McpLineTooLongError(this.server.name));
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (message === null) break;
      this.onmessage?.(message);
      if (this.closed) return;
    }
  }

  private fail(error: Error): void {
    this.failure = error;
    this.onerror?.(error);
    void this.close();
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed) return Promise.reject(new Error(`MCP server ${this.server.name} is not running`));
    return new Promise((resolve) => (stdin.write(serializeMessage(message)) ? resolve() : stdin.once('drain', resolve)));
  }

  /** Ends the server's whole process group; idempotent; `onclose` fires once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pgid = this.child?.pid;
    this.child?.stdin.end();
    if (pgid !== undefined) await stopProcessGroup(pgid, { graceMs: KILL_GRACE_MS });
    this.guard?.release();
    this.buffer.clear();
    this.onclose?.();
  }
}

