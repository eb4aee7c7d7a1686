/**
 * `bamboo tools [--json]`: what each MCP server in the configuration file (BAMBOO_CONFIG or
 * ./bamboo.config.json) offers, found the way a worker finds it at start: connect, list the
 * tools, apply the allow-list, close (a stdio server is started and stopped again). Each tool
 * shows its name as models see it, the tool policy's default permission for it, whether it may
 * run again after a worker died (annotations), and its description. Needs no Temporal server.
 * Exit 1 when a server cannot be reached, naming it.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../worker/config/load';
import { connectMcpServers, type McpServerTools } from '../../worker/tools/mcp';
import { policyFor, type ToolPermission, type ToolPolicy } from '../../worker/tools/policy';
import { CliError, ExitCode, print, type GlobalOptions } from '../context';
import { table, truncate } from '../format';

export type ReportedTool = McpServerTools['tools'][number] & { policy: ToolPermission };

export interface ToolsReport {
  servers: Array<Omit<McpServerTools, 'tools'> & { tools: ReportedTool[] }>;
  warnings: string[];
}

export function registerToolsCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('tools')
    .description('the tools each configured MCP server offers (connects to them as a worker would)')
    .action(async () => {
      const report = await toolsReport();
      print(globals(), report, () => renderTools(report));
    });
}

export async function toolsReport(): Promise<ToolsReport> {
  const config = loadConfig();
  const warnings: string[] = [];
  let mcp: Awaited<ReturnType<typeof connectMcpServers>>;
  try {
    mcp = await connectMcpServers(config.mcpServers, { warn: (message) => warnings.push(message) });
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), ExitCode.failed);
  }
  await mcp.close();
  return { servers: mcp.servers.map((server) => withPolicy(server, config.toolPolicy)), warnings };
}

function withPolicy(server: McpServerTools, policy: ToolPolicy): ToolsReport['servers'][number] {
  return { ...server, tools: server.tools.map((tool) => ({ ...tool, policy: policyFor(policy, tool.name) })) };
}

export function renderTools(report: ToolsReport): string {
  if (report.servers.length === 0) return 'no MCP servers configured (mcpServers in the configuration file)';
  const sections = report.servers.map((server) => {
    const offered = server.tools.filter((t) => !t.skipped);
    const head = `${server.server} (${server.transport}): ${offered.length} of ${server.tools.length} tools offered`;
    const rows = server.tools.map((t) =>
      t.skipped
        ? [`  ${t.name}`, '-', '-', `not offered: ${t.skipped}`]
        : [`  ${t.name}`, t.policy, t.idempotent ? 'retry' : 'once', truncate(firstLine(t.description), 80)],
    );
    return rows.length > 0 ? `${head}\n${table([['  tool', 'policy', 'after a crash', 'description'], ...rows])}` : head;
  });
  return [...sections, ...report.warnings.map((w) => `warning: ${w}`)].join('\n\n');
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
