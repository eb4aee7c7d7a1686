#!/usr/bin/env node
/**
 * `bamboo`: the command line for Bamboo sessions on Temporal. Connection settings come from
 * @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS,
 * profiles); --address / --namespace override them.
 * Exit codes: 0 ok · 1 failed (a run, a replay) · 2 bad usage · 3 unknown session · 4 server unreachable.
 */
import { Command, CommanderError } from 'commander';
import { errorMessage } from '../common';
import { CliError, ExitCode, type GlobalOptions } from './context';
import { replayCommand } from './commands/replay';
import { registerRequestCommands } from './commands/requests';
import { registerRuntimeCommands } from './commands/runtime';
import { parsePositive, registerSessionCommands } from './commands/sessions';
import { registerToolsCommand } from './commands/tools';
import { registerUsageCommand } from './commands/usage';
import { registerUiCommand } from './commands/ui';
import { registerCassetteCommand } from './commands/cassette';
import { registerReplayAgentCommand } from './commands/replay-agent';
import { registerForkCommand } from './commands/fork';
import { registerDeployCommand } from './commands/deploy';
import { registerClusterCommand } from './cluster/command';

export function buildProgram(): Command {
  const program = new Command('bamboo')
    .description('Bamboo sessions and sub-agents as durable Temporal workflows')
    .option('--address <host:port>', 'Temporal server (default: TEMPORAL_ADDRESS or localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: TEMPORAL_NAMESPACE or default)')
    .option('--json', 'machine-readable output')
    .exitOverride()
    .showHelpAfterError('(bamboo --help lists the commands and options)');
  const globals = () => program.opts<GlobalOptions>();
  registerSessionCommands(program, globals);
  registerUsageCommand(program, globals);
  registerUiCommand(program, globals);
  registerCassetteCommand(program, globals);
  registerReplayAgentCommand(program, globals);
  registerForkCommand(program, globals);
  registerDeployCommand(program, globals);
  registerRequestCommands(program, globals);
  registerRuntimeCommands(program, globals);
  registerToolsCommand(program, globals);
  registerClusterCommand(program, globals);
  program
    .command('replay')
    .description('replay histories (files, --workflow-id, --session or --query) against the current workflow code')
    .argument('[files...]', 'history JSON files (as exported by the Temporal CLI or UI)')
    .option('--workflow-id <id...>', 'download the history of these workflow ids')
    .option('--session <id...>', 'download the history of these sessions')
    .option('--query <visibility-query>', 'download the histories matching a visibility query')
    .option('--limit <n>', 'at most this many histories from --query', parsePositive, 100)
    .action((files: string[], opts) => replayCommand(files, opts, globals()));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage; // help/version, or bad flags (already printed)
    }
    if (error instanceof CliError) {
      console.error(`bamboo: ${error.message}`);
      return error.exitCode;
    }
    console.error(`bamboo: ${errorMessage(error)}`);
    return ExitCode.failed;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => process.exit(code));
}
