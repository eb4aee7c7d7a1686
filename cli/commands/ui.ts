/**
 * `bamboo ui`: the session-tree page on localhost (docs/ui.md): roots, each tree live with its
 * timeline, an inbox of requests waiting for a person, and the actions on them.
 */
import type { Command } from 'commander';
import { resolveTemporalTarget } from '../temporal/connection';
import { taskQueue } from '../../worker/config/env';
import { connect, type GlobalOptions } from '../context';
import { untilShutdownSignal } from '../signals';
import { DEFAULT_UI_PORT, startUiServer } from '../ui/server';
import { parsePositive } from './sessions';

export function registerUiCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ui')
    .description('serve the session-tree page: roots, live trees with their timeline, the approvals inbox')
    .option('--host <address>', 'address to bind (any but this machine needs --token)', '127.0.0.1')
    .option('--port <port>', 'port (0: a free one)', (v) => (v === '0' ? 0 : parsePositive(v)), DEFAULT_UI_PORT)
    .option('--token <token>', 'required off this machine (or BAMBOO_UI_TOKEN)')
    .option('--temporal-ui <url>', 'the Temporal Web UI, for links into histories', 'http://localhost:8233')
    .action(async (opts: { host: string; port: number; token?: string; temporalUi: string }) => {
      const client = await connect(globals());
      const namespace = globals().namespace ?? resolveTemporalTarget().namespace;
      const ui = await startUiServer({
        client,
        namespace,
        host: opts.host,
        port: opts.port,
        token: opts.token ?? process.env.BAMBOO_UI_TOKEN,
        temporalUiUrl: opts.temporalUi,
        taskQueue: taskQueue(),
      });
      console.log(`Bamboo UI: ${ui.url} (Ctrl-C stops it)`);
      await untilShutdownSignal();
      await ui.close();
      await client.connection.close();
    });
}
