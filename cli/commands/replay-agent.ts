/**
 * `bamboo replay-agent <cassette>`: runs a recorded tree again with the cassette answering every
 * model and tool call (cli/replay-agent.ts, docs/replay.md), under today's code and the given
 * configuration, and prints the first divergence or that the run was identical. Exits 1 on a
 * divergence, so a folder of cassettes can gate a prompt or tool change.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { errorMessage } from '../../common';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../../worker/config/load';
import { connectMcpServers } from '../../worker/tools/mcp';
import { dataConverterFromEnv } from '../../worker/codec/aes-gcm';
import { describeDivergence, replayCassette, type ReplayReport } from '../replay-agent';
import { connectWorkerConnection, resolveTemporalTarget } from '../temporal/connection';
import { CliError, ExitCode, print, withClient, type GlobalOptions } from '../context';
import { quietRuntime } from '../quiet-runtime';

interface ReplayAgentOptions {
  config?: string;
  onDivergence: string;
  timeout: string;
}

export function registerReplayAgentCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('replay-agent')
    .description('run a recorded tree again with its cassette answering every model and tool call; report the first divergence (exit 1) or that it was identical')
    .argument('<cassette>', 'a file written by `bamboo cassette export`')
    .option('--config <file>', "the configuration to replay under (tool policy, providers, MCP servers); default: BAMBOO_CONFIG's")
    .option('--on-divergence <mode>', 'stop: the diverging session stops; live: the call goes to the real provider or tool', 'stop')
    .option('--timeout <seconds>', 'how long the replay may take', '300')
    .action(async (file: string, opts: ReplayAgentOptions) => {
      const options = globals();
      if (opts.onDivergence !== 'stop' && opts.onDivergence !== 'live') throw new CliError(`--on-divergence must be stop or live, got ${JSON.stringify(opts.onDivergence)}`, ExitCode.usage);
      const timeoutSecs = Number(opts.timeout);
      if (!Number.isFinite(timeoutSecs) || timeoutSecs <= 0) throw new CliError(`--timeout must be a number of seconds, got ${JSON.stringify(opts.timeout)}`, ExitCode.usage);
      let cassette: unknown;
      try {
        cassette = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new CliError(`cannot read the cassette ${file}: ${errorMessage(error)}`, ExitCode.usage);
      }
      const config = loadConfig(opts.config);
      const dataConverter = dataConverterFromEnv();
      quietRuntime();
      const report = await withClient(options, async (client) => {
        const target = resolveTemporalTarget();
        const connection = await connectWorkerConnection({ ...target, connectionOptions: { ...target.connectionOptions, address: options.address ?? target.address } });
        const mcp = await connectMcpServers(config.mcpServers);
        try {
          return await replayCassette({
            client,
            connection,
            namespace: options.namespace ?? target.namespace,
            cassette,
            deps: { providers: providersFromConfig(config), runners: runnersFromConfig(config), toolPolicy: config.toolPolicy },
            mcpTools: mcp.tools,
            onDivergence: opts.onDivergence as 'stop' | 'live',
            timeoutMs: timeoutSecs * 1000,
            ...(dataConverter ? { dataConverter } : {}),
          }).catch((error: unknown) => {
            throw new CliError(errorMessage(error));
          });
        } finally {
          await mcp.close();
          await connection.close();
        }
      });
      print(options, report, () => describeReport(report));
      if (!report.identical) process.exitCode = ExitCode.failed;
    });
}

function describeReport(report: ReplayReport): string {
  const lines = [`replayed ${report.recordedRootSessionId} as ${report.rootSessionId}: ${report.served.model} model calls and ${report.served.tool} tool calls answered from the cassette`];
  if (report.live.model || report.live.tool) lines.push(`live after diverging: ${report.live.model} model calls, ${report.live.tool} tool calls`);
  if (report.identical) lines.push('identical: every call matched the recording, and every recorded call was made');
  if (report.divergence) lines.push(`first divergence: ${describeDivergence(report.divergence)}`);
  if (report.divergences.length > 1) lines.push(`${report.divergences.length - 1} more after it`);
  for (const u of report.unplayed) lines.push(`not made again: ${u.path.join(' › ')}: ${u.modelCalls} model calls, ${u.toolCalls} tool calls`);
  lines.push(`final answer: ${report.finalAnswer.slice(0, 500)}`);
  return lines.join('\n');
}
