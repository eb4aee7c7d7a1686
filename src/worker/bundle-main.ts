/**
 * `npm run bundle-workflows -- <out.js>`: writes the workflow bundle a worker can load with
 * BAMBOO_WORKFLOW_BUNDLE (the Docker image does this at build time, not in every replica).
 * It carries the same payload converter the worker uses.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WORKFLOW_BUNDLE_CONVERTERS } from '../codec/worker-data-converter';
import { WORKFLOWS_PATH } from './create-worker';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npm run bundle-workflows -- <out.js>');
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLE_CONVERTERS });
  writeFileSync(resolve(out), code);
  console.log(`workflow bundle written to ${resolve(out)} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
