/**
 * `npm run bundle-workflows -- [--encode-failures] <out.js>`: writes the workflow bundle a
 * worker can load with BAMBOO_WORKFLOW_BUNDLE (the Docker image does this at build time, not
 * in every replica). `--encode-failures` builds it for workers that encrypt payloads
 * (BAMBOO_ENCRYPTION_KEY set); a worker refuses a bundle built for the other case.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage } from '../common';
import { buildWorkflowBundle } from '../worker/bundle';
import { WORKFLOWS_PATH } from '../worker/create-worker';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const encodeFailures = args.includes('--encode-failures');
  const out = args.filter((a) => a !== '--encode-failures');
  if (out.length !== 1 || out[0].startsWith('-')) throw new Error('usage: npm run bundle-workflows -- [--encode-failures] <out.js>');
  const code = await buildWorkflowBundle({ workflowsPath: WORKFLOWS_PATH, encodeFailures });
  writeFileSync(resolve(out[0]), code);
  console.log(`workflow bundle written to ${resolve(out[0])} (${(code.length / 1024).toFixed(0)} KiB, failures ${encodeFailures ? 'encoded' : 'in clear'})`);
}

main().catch((error: unknown) => {
  console.error(errorMessage(error));
  process.exit(1);
});
