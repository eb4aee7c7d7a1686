/** Runs the real `bamboo` CLI as a process, against the test dev server. */
import { runCommand, type CommandResult } from './processes';
import { testServer } from './temporal';

export type CliResult = CommandResult;

export function bamboo(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { address, namespace } = testServer();
  return runCommand(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, ...env });
}
