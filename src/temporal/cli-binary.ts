/**
 * Finding the Temporal CLI (which embeds the dev server), in order:
 *   1. TEMPORAL_CLI_PATH, 2. `temporal` on PATH, 3. the project-local cache,
 *   4. building the pinned version with the Go toolchain into that cache,
 *   5. letting @temporalio/testing download it (where the internet is reachable).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const PINNED_CLI_VERSION = 'v1.5.1';
export const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const CLI_CACHE_DIR = join(PROJECT_ROOT, '.cache', 'temporal-cli', PINNED_CLI_VERSION);

export type TemporalExecutable =
  | { type: 'existing-path'; path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'go-build' }
  | { type: 'cached-download'; source: 'download' };

export interface FindOptions {
  /** Build with `go install` when nothing is found (default true). */
  build?: boolean;
  /** Fall back to @temporalio/testing's download (default true). */
  allowDownload?: boolean;
  log?: (line: string) => void;
}

export function findTemporalCli(options: FindOptions = {}): TemporalExecutable {
  const log = options.log ?? (() => undefined);
  const fromEnv = process.env.TEMPORAL_CLI_PATH?.trim();
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return { type: 'existing-path', path: fromEnv, source: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = findOnPath('temporal');
  if (onPath) return { type: 'existing-path', path: onPath, source: 'PATH' };
  const cached = join(CLI_CACHE_DIR, 'temporal');
  if (isExecutable(cached)) return { type: 'existing-path', path: cached, source: 'cache' };
  if (options.build !== false && findOnPath('go')) {
    log(`building the Temporal CLI ${PINNED_CLI_VERSION} with Go into ${CLI_CACHE_DIR} (a few minutes, once)…`);
    buildPinnedCli();
    return { type: 'existing-path', path: cached, source: 'go-build' };
  }
  if (options.allowDownload !== false) return { type: 'cached-download', source: 'download' };
  throw new Error(missingCliMessage());
}

export function missingCliMessage(): string {
  return [
    'Temporal CLI not found. Provide it one of three ways:',
    '  1. put `temporal` on PATH, or set TEMPORAL_CLI_PATH=/path/to/temporal;',
    `  2. install Go and let Bamboo build it: go install ${CLI_MODULE}@${PINNED_CLI_VERSION} (into ${CLI_CACHE_DIR});`,
    '  3. allow internet access so @temporalio/testing can download it.',
  ].join('\n');
}

export function buildPinnedCli(): string {
  mkdirSync(CLI_CACHE_DIR, { recursive: true });
  const result = spawnSync('go', ['install', `${CLI_MODULE}@${PINNED_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: CLI_CACHE_DIR, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`go install of the Temporal CLI failed (exit ${result.status}).\n${missingCliMessage()}`);
  return join(CLI_CACHE_DIR, 'temporal');
}

export function cliVersion(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** True when `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
