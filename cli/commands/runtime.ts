/** Commands that run things: dev (server + worker), worker, demo. */
import type { Command } from 'commander';
import { startEmbeddedServer } from '../devserver/embedded';
import { runWorker } from '../worker-host';
import { runDemo } from '../demo';
import { CliError, ExitCode, type GlobalOptions } from '../context';
import { encryptionCodecFromEnv, KEY_ENV } from '../../worker/codec/aes-gcm';
import { DEFAULT_CODEC_SERVER_PORT, startCodecServer } from '../codec-server';
import { guardWorkerShutdown, untilShutdownSignal } from '../signals';
import { parsePositive } from './sessions';

export function registerRuntimeCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dev')
    .description('the embedded default: Temporal dev server (SQLite, Web UI) plus a worker; Ctrl-C stops both')
    .option('--port <port>', 'gRPC port', parsePositive, 7233)
    .option('--ui-port <port>', 'Web UI port', parsePositive, 8233)
    .option('--db <file>', 'SQLite file (default .cache/dev-server/bamboo.sqlite)')
    .option('--ui-codec-endpoint <url>', 'codec server the Web UI uses to show encrypted payloads (see codec-server)')
    .action(async (opts) => {
      guardWorkerShutdown();
      const server = await startEmbeddedServer({ port: opts.port, uiPort: opts.uiPort, dbFilename: opts.db, uiCodecEndpoint: opts.uiCodecEndpoint });
      console.log(`Temporal dev server ${server.address} · Web UI ${server.uiUrl} · ${server.dbFilename}`);
      let serverEnded: string | undefined;
      let stopping = false;
      void server.exited.then((exit) => {
        if (stopping) return;
        serverEnded = exit.signal ?? `code ${exit.code}`;
        console.error(`bamboo: the Temporal dev server exited by itself (${serverEnded}); stopping the worker`);
        process.kill(process.pid, 'SIGTERM'); // the worker's own shutdown signal: it drains and returns
      });
      try {
        await runWorker({ ...globals(), address: server.address });
      } finally {
        stopping = true;
        await server.stop();
      }
      if (serverEnded) throw new CliError(`worker stopped: the Temporal dev server had exited by itself (${serverEnded})`, ExitCode.failed);
      console.log('bamboo dev: worker and dev server stopped');
    });

  program
    .command('worker')
    .description('a worker for TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE on BAMBOO_TASK_QUEUE; Ctrl-C stops it gracefully')
    .action(async () => {
      guardWorkerShutdown();
      await runWorker(globals());
    });

  program
    .command('codec-server')
    .description('decode encrypted payloads for the Temporal Web UI and CLI (needs BAMBOO_ENCRYPTION_KEY)')
    .option('--port <port>', 'port', parsePositive, DEFAULT_CODEC_SERVER_PORT)
    .option('--host <host>', 'interface', '127.0.0.1')
    .option('--cors-origin <origin...>', 'Web UI origins allowed to call it (default http://localhost:8233)')
    .action(async (opts) => {
      const codec = encryptionCodecFromEnv();
      if (!codec) throw new CliError(`${KEY_ENV} is not set: the codec server needs the same key as the workers`, ExitCode.usage);
      const server = await startCodecServer({ port: opts.port, host: opts.host, codec, corsOrigins: opts.corsOrigin });
      console.log(`bamboo codec server on ${server.url} (key id ${codec.keyId})`);
      console.log(`  Web UI: bamboo dev --ui-codec-endpoint ${server.url} (or set it in the UI's data encoder settings)`);
      console.log(`  CLI:    temporal workflow show --codec-endpoint ${server.url} --workflow-id …`);
      await untilShutdownSignal(); // the listening socket keeps the process up until then
      await server.stop();
    });

  program
    .command('demo')
    .description('the demo on the embedded default: a root session spawns children that end four ways')
    .option('--exit', 'exit when the demo is done instead of keeping the server up')
    .action((opts) => runDemo({ exitWhenDone: Boolean(opts.exit) }));
}
