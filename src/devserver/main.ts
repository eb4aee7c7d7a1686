/**
 * `npm run dev-server`: the embedded Temporal dev server alone — SQLite file (state
 * survives restarts), gRPC on :7233, Web UI on :8233, Bamboo search attributes registered.
 * Ctrl-C stops it.
 */
import { startEmbeddedServer } from './embedded';

async function main(): Promise<void> {
  const server = await startEmbeddedServer();
  console.log(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
  console.log(`Web UI:              ${server.uiUrl}`);
  console.log(`Database:            ${server.dbFilename}`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
