/** Runs the real `bamboo` CLI as a process, against the test dev server. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { testServer } from './temporal';

const ROOT = resolve(__dirname, '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function bamboo(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { address, namespace } = testServer();
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}
