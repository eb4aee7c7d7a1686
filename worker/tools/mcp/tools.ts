/**
 * An MCP server's tools as the worker's ToolDefinitions, named `mcp__<server>__<tool>`.
 *
 * The spec carries the server's own JSON Schema, which reaches the model only inside the model
 * activity's request; history carries tool names and arguments. A call runs in the tool
 * activity like any tool: its abort signal (cancellation, the idle watchdog, the time limit)
 * aborts the MCP request, and the SDK sends the server `notifications/cancelled`; the
 * server's progress notifications are progress (heartbeat details, the idle watchdog reset).
 * A tool whose annotations say it is read-only or idempotent may run again after a worker
 * died mid-call; any other is reported as an unknown outcome (worker/activities/tools.ts).
 */
import type { Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import { MAX_TOOL_TIMEOUT_SECS } from '../../../common';
import type { ToolDefinition } from '../types';
import type { McpConnection } from './connection';
import { resultText } from './results';

/** What every provider accepts as a tool name (OpenAI: `^[a-zA-Z0-9_-]{1,64}$`). */
const PROVIDER_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** The SDK's own limit stays behind the tool activity's, which answers the model. */
const SDK_TIMEOUT_MARGIN_MS = 10_000;

export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool}`;
}

/** A tool the server lists, and whether (and if not, why not) the worker offers it. */
export interface DiscoveredTool {
  /** The name models see: `mcp__<server>__<tool>`. */
  name: string;
  /** The server's own name for it. */
  tool: string;
  description: string;
  /** From annotations: readOnlyHint or idempotentHint. */
  idempotent: boolean;
  /** Absent: offered. */
  skipped?: string;
}

export function describeTool(server: string, tool: Tool, allowList: readonly string[] | undefined): DiscoveredTool {
  const name = mcpToolName(server, tool.name);
  const description = tool.description ?? tool.title ?? tool.annotations?.title ?? '';
  const idempotent = tool.annotations?.readOnlyHint === true || tool.annotations?.idempotentHint === true;
  const found: DiscoveredTool = { name, tool: tool.name, description, idempotent };
  if (allowList && !allowList.includes(tool.name)) return { ...found, skipped: 'not in the server\'s "tools" allow-list' };
  if (!PROVIDER_TOOL_NAME.test(name)) return { ...found, skipped: `${name} is not a name providers accept ([A-Za-z0-9_-], at most 64 characters)` };
  // A task-required tool answers a plain call with an error; Bamboo does not run MCP tasks (yet).
  if (tool.execution?.taskSupport === 'required') return { ...found, skipped: 'it runs only as an MCP task, which Bamboo does not use' };
  return found;
}

/** The ToolDefinition that calls `tool` on `connection`. */
export function mcpToolDefinition(connection: McpConnection, tool: Tool, found: DiscoveredTool): ToolDefinition {
  const timeoutSecs = connection.server.timeoutSecs;
  const sdkTimeoutMs = (timeoutSecs ?? MAX_TOOL_TIMEOUT_SECS) * 1000 + SDK_TIMEOUT_MARGIN_MS;
  return {
    spec: { name: found.name, description: found.description, parameters: parametersOf(tool) },
    idempotent: found.idempotent,
    timeoutSecs,
    async execute(args, { signal, progress }) {
      const result = await connection.callTool(tool.name, args, {
        signal,
        timeoutMs: sdkTimeoutMs,
        onprogress: (p) => progress(progressNote(p)),
      });
      const text = resultText(result);
      if (result.isError) throw new Error(text);
      return text;
    },
  };
}

/** The server's input schema, without the `$schema` marker providers do not want. */
function parametersOf(tool: Tool): Record<string, unknown> {
  const schema: Record<string, unknown> = { ...tool.inputSchema };
  delete schema.$schema;
  return schema;
}

export function progressNote(p: Progress): string {
  const amount = p.total !== undefined ? `${p.progress}/${p.total}` : `${p.progress}`;
  return `progress ${amount}${p.message ? `: ${p.message}` : ''}`;
}
