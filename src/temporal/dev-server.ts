/**
 * The embedded default: the Temporal CLI dev server with Bamboo's search attributes
 * registered. Persistent (SQLite file, Web UI) for `npm run dev-server` and the demo;
 * in-memory on free ports for tests.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { BAMBOO_SEARCH_ATTRIBUTES } from '../domain';
import { findTemporalCli, type FindOptions } from './cli-binary';

export interface DevServerOptions {
  /** SQLite file; omit for an in-memory server. */
  dbFilename?: string;
  /** gRPC port; omit for a free port. */
  port?: number;
  /** Web UI port; omit for no UI. */
  uiPort?: number;
  namespace?: string;
  /** Codec server for the Web UI (payload encryption). */
  uiCodecEndpoint?: string;
  /** SQLite pragmas for the file store, as `name=value` (e.g. `journal_mode=wal`). */
  sqlitePragmas?: string[];
  find?: FindOptions;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const found = findTemporalCli(options.find);
  const executable = found.type === 'existing-path' ? { type: 'existing-path' as const, path: found.path } : { type: 'cached-download' as const };
  const namespace = options.namespace ?? 'default';
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      namespace,
      dbFilename: options.dbFilename,
      port: options.port,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      searchAttributes: [...BAMBOO_SEARCH_ATTRIBUTES],
      extraArgs: [
        ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
        ...(options.sqlitePragmas ?? []).flatMap((pragma) => ['--sqlite-pragma', pragma]),
      ],
    },
  });
  const address = env.address;
  return {
    address,
    namespace,
    uiUrl: options.uiPort !== undefined ? `http://localhost:${options.uiPort}` : undefined,
    env,
    stop: () => env.teardown(),
  };
}
