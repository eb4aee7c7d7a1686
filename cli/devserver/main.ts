/**
 * `npm run dev-server [-- --port 7233 --ui-port 8233 --db FILE]`: the embedded Temporal dev
 * server alone — SQLite file (state survives restarts), gRPC on :7233, Web UI on :8233,
 * Bamboo search attributes registered. Runs until Ctrl-C or SIGTERM, then stops the server
 * and exits 0; exits 1 if the server cannot start or ends by itself, 2 on a bad flag.
 */
import { parseArgs } from 'node:util';
import { errorMessage } from '../../common';
import { untilShutdownSignal } from '../signals';
import { startEmbeddedServer } from './embedded';

const USAGE = 'usage: npm run dev-server [-- --port 7233] [--ui-port 8233] [--db FILE]';

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new UsageError(`${flag} must be a port number (got ${JSON.stringify(value)})`);
  return n;
}

class UsageError extends Error {}

function parseFlags(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, 'ui-port': { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return { help: values.help ?? false, port: port(values.port, '--port'), uiPort: port(values['ui-port'], '--ui-port'), db: values.db };
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const signal = untilShutdownSignal();
  const server = await startEmbeddedServer({ port: flags.port, uiPort: flags.uiPort, dbFilename: flags.db });
  console.log(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
  console.log(`Web UI:              ${server.uiUrl}`);
  console.log(`Database:            ${server.dbFilename}`);
  console.log('Press Ctrl-C to stop.');
  const outcome = await Promise.race([signal.then((s) => ({ signal: s })), server.exited.then((exit) => ({ exit }))]);
  if ('exit' in outcome) {
    console.error(`the Temporal dev server exited by itself (${outcome.exit.signal ?? `code ${outcome.exit.code}`})`);
    return 1;
  }
  console.log(`${outcome.signal}: stopping the Temporal dev server…`);
  await server.stop();
  console.log('stopped.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(errorMessage(error));
    if (error instanceof UsageError) console.error(USAGE);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
