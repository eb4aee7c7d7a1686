/** The persistent embedded default used by `npm run dev-server` and the demo. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { startDevServer, type DevServer } from '../temporal/dev-server';

export const DEFAULT_DB_FILE = resolve(__dirname, '..', '..', '.cache', 'dev-server', 'bamboo.sqlite');

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
    const server = await startDevServer({ dbFilename, port, uiPort: options.uiPort ?? 8233, uiCodecEndpoint: options.uiCodecEndpoint, find: { log: console.log } });
    return { ...server, dbFilename };
  } catch (error) {
    throw new Error(
      `could not start the Temporal dev server on port ${port} (${error instanceof Error ? error.message : String(error)}).\n` +
        'Is another Temporal server already running there? Stop it, or point TEMPORAL_ADDRESS at it and run `npm run worker`.',
    );
  }
}
