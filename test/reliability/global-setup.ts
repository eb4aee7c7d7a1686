/**
 * Global setup of the reliability suite (`npm run test:reliability`): like the main suite's
 * (one real in-memory dev server with the Bamboo search attributes, the test workflow bundle),
 * plus the secrets the suite later looks for in every history: a provider API key and an A2A
 * bearer token, set in the environment that every worker (in process and subprocess) inherits.
 * The bundle goes to test-output/reliability/, apart from the main suite's.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer } from '../../cli/temporal/dev-server';
import { buildWorkflowBundle } from '../../worker/bundle';
import { PROVIDER_KEY_ENV, A2A_TOKEN_ENV, RELIABILITY_OUT } from './support/paths';

export default async function globalSetup(): Promise<void> {
  rmSync(RELIABILITY_OUT, { recursive: true, force: true });
  mkdirSync(RELIABILITY_OUT, { recursive: true });
  const [server, bundle] = await Promise.all([
    startDevServer({ find: { log: (line) => console.log(line) } }),
    buildWorkflowBundle({ workflowsPath: require.resolve('../workflows'), encodeFailures: false, logger: quietLogger() }),
  ]);
  const bundlePath = join(RELIABILITY_OUT, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle);
  (globalThis as Record<string, unknown>).__BAMBOO_DEV_SERVER__ = server; // stopped by test/global-teardown.ts
  process.env.BAMBOO_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.BAMBOO_TEST_NAMESPACE = server.namespace;
  process.env.BAMBOO_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env[PROVIDER_KEY_ENV] = `sk-rel-${randomBytes(18).toString('hex')}-provider-secret`;
  process.env[A2A_TOKEN_ENV] = `a2a-rel-${randomBytes(18).toString('hex')}-bearer-secret`;
}

function quietLogger() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
}
