/**
 * The Temporal server, its schema tool and the Web UI server as binaries, built once with the Go
 * toolchain into project-local caches (as the CLI is, cli/temporal/cli-binary.ts) and never
 * rebuilt while present. The releases are pinned in cli/temporal/versions.ts, with the images
 * docker-compose.yml runs (temporalio/server, temporalio/admin-tools, temporalio/ui): the server
 * and UI the pinned CLI embeds.
 *
 * The server module also carries the SQL schemas the schema tool applies; they are copied next to
 * the binaries at build time, so a cached cluster needs no Go toolchain and no module cache.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { goModuleDir, isExecutable } from '../temporal/cli-binary';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION } from '../temporal/versions';

export const SERVER_VERSION = `v${TEMPORAL_SERVER_VERSION}`;
export const UI_VERSION = `v${TEMPORAL_UI_VERSION}`;
const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';
const PROJECT_ROOT = PACKAGE_ROOT;
export const SERVER_CACHE_DIR = join(PROJECT_ROOT, '.cache', 'temporal-server', SERVER_VERSION);
export const UI_CACHE_DIR = join(PROJECT_ROOT, '.cache', 'temporal-ui', UI_VERSION);

export interface ClusterBinaries {
  /** `temporal-server` (go.temporal.io/server/cmd/server). */
  server: string;
  /** `temporal-sql-tool` (go.temporal.io/server/cmd/tools/sql). */
  sqlTool: string;
  /** The server module's `schema/postgresql/v12` directory (temporal/ and visibility/). */
  postgresSchemaDir: string;
  /** The Web UI server (github.com/temporalio/ui-server/v2/cmd/server); absent when not wanted or not buildable. */
  ui?: string;
}

export interface BinaryOptions {
  /** Also find or build the Web UI server. */
  ui?: boolean;
  log?: (line: string) => void;
}

/** Finds the cached binaries, building what is missing (a few minutes, once). */
export function ensureClusterBinaries(options: BinaryOptions = {}): ClusterBinaries {
  const log = options.log ?? (() => undefined);
  const server = join(SERVER_CACHE_DIR, 'server');
  const sqlTool = join(SERVER_CACHE_DIR, 'sql');
  const postgresSchemaDir = join(SERVER_CACHE_DIR, 'schema', 'postgresql', 'v12');
  if (!isExecutable(server) || !isExecutable(sqlTool)) {
    requireGo(`the Temporal server ${SERVER_VERSION}`);
    log(`building the Temporal server ${SERVER_VERSION} and its SQL tool with Go into ${SERVER_CACHE_DIR} (about 4 minutes, once)…`);
    goInstall(SERVER_CACHE_DIR, [`${SERVER_MODULE}/cmd/server@${SERVER_VERSION}`, `${SERVER_MODULE}/cmd/tools/sql@${SERVER_VERSION}`]);
  }
  if (!existsSync(postgresSchemaDir)) {
    requireGo(`the SQL schemas of the Temporal server ${SERVER_VERSION}`);
    cpSync(join(goModuleDir(SERVER_MODULE, SERVER_VERSION), 'schema', 'postgresql', 'v12'), postgresSchemaDir, { recursive: true });
  }
  let ui: string | undefined;
  if (options.ui) {
    ui = join(UI_CACHE_DIR, 'server');
    if (!isExecutable(ui)) {
      requireGo(`the Temporal Web UI ${UI_VERSION}`);
      log(`building the Temporal Web UI server ${UI_VERSION} with Go into ${UI_CACHE_DIR} (once)…`);
      goInstall(UI_CACHE_DIR, [`${UI_MODULE}/cmd/server@${UI_VERSION}`]);
    }
  }
  return { server, sqlTool, postgresSchemaDir, ui };
}

function requireGo(what: string): void {
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${what} is not in the cache and there is no Go toolchain to build it; install Go (1.26 or later) or copy a built cache into .cache/`);
  }
}

/** `go install` into a directory (both modules have no replace directives, so this works outside a module). */
function goInstall(gobin: string, packages: string[]): void {
  mkdirSync(gobin, { recursive: true });
  const result = spawnSync('go', ['install', ...packages], {
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 2, 2], // progress on stderr: stdout may carry `bamboo --json cluster up`'s result
  });
  if (result.status !== 0) throw new Error(`go install ${packages.join(' ')} failed (exit ${result.status})`);
}
