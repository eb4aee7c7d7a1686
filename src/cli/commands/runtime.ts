/** Commands that run things: dev (server + worker), worker, demo. */
import type { Command } from 'commander';
import { startEmbeddedServer } from '../../devserver/embedded';
import { runWorker } from '../../worker/run';
import { runDemo } from '../demo';
import type { GlobalOptions } from '../context';
import { parsePositive } from './sessions';

export function registerRuntimeCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dev')
    .description('the embedded default: Temporal dev server (SQLite, Web UI) plus a worker; Ctrl-C stops both')
    .option('--port <port>', 'gRPC port', parsePositive, 7233)
    .option('--ui-port <port>', 'Web UI port', parsePositive, 8233)
    .option('--db <file>', 'SQLite file (default .cache/dev-server/bamboo.sqlite)')
    .action(async (opts) => {
      const server = await startEmbeddedServer({ port: opts.port, uiPort: opts.uiPort, dbFilename: opts.db });
      console.log(`Temporal dev server ${server.address} · Web UI ${server.uiUrl} · ${server.dbFilename}`);
      try {
        await runWorker({ ...globals(), address: server.address });
      } finally {
        await server.stop();
      }
    });

  program
    .command('worker')
    .description('a worker for TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE on BAMBOO_TASK_QUEUE; Ctrl-C stops it gracefully')
    .action(() => runWorker(globals()));

  program
    .command('demo')
    .description('the demo on the embedded default: a root session spawns children that end four ways')
    .option('--exit', 'exit when the demo is done instead of keeping the server up')
    .action((opts) => runDemo({ exitWhenDone: Boolean(opts.exit) }));
}
