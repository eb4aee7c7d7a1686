/** The persistent embedded default used by `npm run dev-server` and the demo. */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dataRoot } from '../package-root';
import { errorMessage } from '../../common';
import { startDevServer, type DevServer } from '../temporal/dev-server';

/**
 * The dev server's SQLite file unless BAMBOO_DEV_DB names one: `.cache/dev-server/` in a
 * checkout, `./.bamboo/.cache/dev-server/` for an installed package (out of `node_modules`).
 */
export const DEFAULT_DB_FILE = join(dataRoot(), '.cache', 'dev-server', 'bamboo.sqlite');
/**
 * Write-ahead logging: 1.8× the child-run throughput of SQLite's default rollback journal on
 * this store (17.1 against 9.7 runs/s, as fast as in memory; `npm run bench:sqlite`).
 */
export const EMBEDDED_SQLITE_PRAGMAS = ['journal_mode=wal'];

export interface EmbeddedServer extends DevServer {
  dbFilename: string;
}

export async function startEmbeddedServer(
  options: { port?: number; uiPort?: number; dbFilename?: string; uiCodecEndpoint?: string } = {},
): Promise<EmbeddedServer> {
  const dbFilename = options.dbFilename ?? process.env.BAMBOO_DEV_DB ?? DEFAULT_DB_FILE;
  mkdirSync(dirname(dbFilename), { recursive: true });
  const port = options.port ?? 7233;
  try {
    const server = await startDevServer({
      dbFilename,
      port,
      uiPort: options.uiPort ?? 8233,
      uiCodecEndpoint: options.uiCodecEndpoint,
      sqlitePragmas: EMBEDDED_SQLITE_PRAGMAS,
      find: { log: console.log },
    });
    return { ...server, dbFilename };
  } catch (error) {
    throw new Error(
      `could not start the Temporal dev server on port ${port} (${errorMessage(error)}).\n` +
        'Is another Temporal server already running there? Stop it, or point TEMPORAL_ADDRESS at it and run `npm run worker`.',
    );
  }
}
