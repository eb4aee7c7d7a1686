/**
 * `mcpServers` in the worker's configuration file: the MCP servers whose tools this worker
 * offers. A stdio server's command comes from this file only, never from session data; an
 * HTTP server's headers are named by environment variable and resolved in the worker, so no
 * secret is written in the file or reaches history.
 */
import { z } from 'zod';
import { MAX_TOOL_TIMEOUT_SECS } from '../../../common';

/**
 * A server name becomes part of tool names (`mcp__<server>__<tool>`), which providers accept
 * only as `[A-Za-z0-9_-]`; `__` is the separator, so a server name may not contain it.
 */
const ServerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
  .refine((name) => !name.includes('__'), 'must not contain "__" (the separator in mcp__<server>__<tool>)');

const common = {
  name: ServerNameSchema,
  /** Tool names (the server's own, without the `mcp__<server>__` prefix) to offer; absent: all. */
  tools: z.array(z.string().min(1)).optional(),
  /** Time limit of one call, at most (and by default) the reference's 120 s. */
  timeoutSecs: z.number().positive().max(MAX_TOOL_TIMEOUT_SECS).optional(),
};

export const McpStdioServerSchema = z.strictObject({
  ...common,
  transport: z.literal('stdio'),
  /** Executable path; run directly (no shell), in its own process group. */
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  cwd: z.string().min(1).optional(),
  /** Extra environment variables, literal values (put no secrets in config files). */
  env: z.record(z.string(), z.string()).default({}),
  /** Names of worker environment variables passed through (e.g. the API key the server needs). */
  inheritEnv: z.array(z.string().min(1)).default([]),
});

export const McpHttpServerSchema = z.strictObject({
  ...common,
  transport: z.literal('http'),
  /** The server's streamable HTTP endpoint, e.g. `http://127.0.0.1:3001/mcp`. */
  url: z.url({ protocol: /^https?$/ }),
  /** Header name → name of the worker environment variable that holds its value. */
  headersEnv: z.record(z.string().min(1), z.string().min(1)).default({}),
});

export const McpServerConfigSchema = z.discriminatedUnion('transport', [McpStdioServerSchema, McpHttpServerSchema]);
export type McpServerConfig = z.output<typeof McpServerConfigSchema>;
export type McpStdioServerConfig = z.output<typeof McpStdioServerSchema>;
export type McpHttpServerConfig = z.output<typeof McpHttpServerSchema>;

export const McpServersSchema = z
  .array(McpServerConfigSchema)
  .default([])
  .superRefine((servers, ctx) => {
    const seen = new Set<string>();
    servers.forEach((server, i) => {
      if (seen.has(server.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate MCP server name ${JSON.stringify(server.name)}` });
      seen.add(server.name);
    });
  });
