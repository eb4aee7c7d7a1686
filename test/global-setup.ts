/**
 * Starts one real Temporal dev server (in-memory, free port, Bamboo search attributes) — or
 * uses the server BAMBOO_TEST_TEMPORAL_ADDRESS names — and bundles the workflows once; test
 * files start their own real workers against it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDevServer } from '../cli/temporal/dev-server';
import { buildWorkflowBundle } from '../worker/bundle';

export default async function globalSetup(): Promise<void> {
  const outDir = resolve(__dirname, '..', 'test-output');
  mkdirSync(outDir, { recursive: true });
  // BAMBOO_TEST_TEMPORAL_ADDRESS set beforehand: the tests run against that server (e.g. `bamboo
  // cluster up`, docs/production-topology.md) with its search attributes registered, in
  // BAMBOO_TEST_NAMESPACE (default `default`), and no dev server is started.
  const external = process.env.BAMBOO_TEST_TEMPORAL_ADDRESS;
  const [server, bundle] = await Promise.all([
    external ? undefined : startDevServer({ find: { log: (line) => console.log(line) } }),
    buildWorkflowBundle({ workflowsPath: require.resolve('./workflows'), encodeFailures: false, logger: quietLogger() }),
  ]);
  const bundlePath = join(outDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle);
  if (server) {
    (globalThis as Record<string, unknown>).__BAMBOO_DEV_SERVER__ = server;
    process.env.BAMBOO_TEST_TEMPORAL_ADDRESS = server.address;
    process.env.BAMBOO_TEST_NAMESPACE = server.namespace;
  }
  process.env.BAMBOO_TEST_WORKFLOW_BUNDLE = bundlePath;
}

function quietLogger() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
}
