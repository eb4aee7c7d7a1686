/**
 * The worker's MCP servers: one connection per configured server (connection.ts), their
 * tools discovered once when the worker starts and offered as `mcp__<server>__<tool>`
 * (tools.ts). A server that cannot be reached at start stops the start with its name: a
 * worker that silently lacks configured tools would offer models a different tool set than
 * its peers on the same task queue.
 */
import { errorMessage } from '../../../common';
import type { ToolDefinition } from '../types';
import type { McpServerConfig } from './config';
import { McpConnection } from './connection';
import { describeTool, mcpToolDefinition, type DiscoveredTool } from './tools';

export { McpServersSchema, type McpServerConfig } from './config';
export { mcpToolName } from './tools';

export interface McpServerTools {
  server: string;
  transport: McpServerConfig['transport'];
  tools: DiscoveredTool[];
}

export interface McpServers {
  /** The offered tools of every server, for the worker's tool registry. */
  readonly tools: ToolDefinition[];
  /** Per server, every tool it lists, offered or skipped (with why). */
  readonly servers: McpServerTools[];
  connection(server: string): McpConnection | undefined;
  /** Closes every connection; stdio servers' process groups are gone when it resolves. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Where problems that do not stop the start go (a skipped tool, an unknown allow-list name). */
  warn?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Connects to every server and lists its tools; on any failure closes what it opened and throws. */
export async function connectMcpServers(configs: readonly McpServerConfig[], options: ConnectOptions = {}): Promise<McpServers> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const connections = configs.map((config) => new McpConnection(config, options.env));
  const close = async () => {
    await Promise.all(connections.map((c) => c.close()));
  };
  const discovered = await Promise.allSettled(connections.map((c) => discover(c, warn)));
  const failures = discovered.flatMap((d, i) => (d.status === 'rejected' ? [`${configs[i].name}: ${errorMessage(d.reason)}`] : []));
  if (failures.length > 0) {
    await close();
    throw new Error(`MCP servers could not list their tools: ${failures.join('; ')}`);
  }
  const results = discovered.map((d) => (d as PromiseFulfilledResult<Discovery>).value);
  return {
    tools: results.flatMap((r) => r.definitions),
    servers: results.map((r) => r.listing),
    connection: (server) => connections.find((c) => c.server.name === server),
    close,
  };
}

interface Discovery {
  listing: McpServerTools;
  definitions: ToolDefinition[];
}

async function discover(connection: McpConnection, warn: (message: string) => void): Promise<Discovery> {
  const { server } = connection;
  const listed = await connection.listTools();
  const definitions: ToolDefinition[] = [];
  const tools = listed.map((tool) => {
    const found = describeTool(server.name, tool, server.tools);
    const allowListed = server.tools === undefined || server.tools.includes(tool.name);
    if (found.skipped === undefined) definitions.push(mcpToolDefinition(connection, tool, found));
    else if (allowListed) warn(`MCP server ${server.name}: tool ${tool.name} not offered: ${found.skipped}`);
    return found;
  });
  for (const name of server.tools ?? []) {
    if (!listed.some((t) => t.name === name)) warn(`MCP server ${server.name}: the allow-list names ${name}, which the server does not list`);
  }
  return { listing: { server: server.name, transport: server.transport, tools }, definitions };
}
