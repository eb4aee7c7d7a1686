/**
 * Worker Versioning (docs/operations.md#deploying-under-running-sessions): a worker joins a
 * worker deployment as one version (deployment name + build id) when versioning is on. Every run
 * is pinned to the version it started on — a child run, and its continue-as-new chain, to the
 * end; a root during a turn: at a turn boundary it continues-as-new onto the current version with
 * AUTO_UPGRADE (workflows/root-session.ts, upgradeWanted). The behaviour is the worker's default,
 * not an annotation on each workflow type: an unversioned worker refuses a workflow that names
 * one ("versioning behavior cannot be specified without deployment options").
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { z } from 'zod';

export const DEFAULT_DEPLOYMENT_NAME = 'bamboo';

/** Temporal's rules for a deployment name and a build id (no `.` in the name: it joins them; at most 255 characters). */
export const DeploymentSchema = z.object({
  name: z.string().trim().min(1).max(255).regex(/^[^.]+$/, 'must not contain "."'),
  buildId: z.string().trim().min(1).max(255),
});
export type Deployment = z.infer<typeof DeploymentSchema>;

/** The worker options for a version of the deployment; runs default to pinned (each workflow type says its own). */
export function workerDeploymentOptions(deployment: Deployment): WorkerDeploymentOptions {
  const { name, buildId } = DeploymentSchema.parse(deployment);
  return { version: { deploymentName: name, buildId }, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}

/** A build id a user would expect: the package's version and a hash of the workflow code it runs. */
export function defaultBuildId(workflowBundleCode: string): string {
  return `${readPackageVersion()}-${createHash('sha256').update(withoutSourceMap(workflowBundleCode)).digest('hex').slice(0, 12)}`;
}

/** The bundle's inline source map names files by absolute path: one release installed in two places is one build. */
function withoutSourceMap(code: string): string {
  return code.replace(/\n\/\/# sourceMappingURL=[^\n]*\s*$/, '\n');
}

/** bamboo-engine's own version (from its package.json, above this file in a checkout or an installed package). */
export function readPackageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'bamboo-engine' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}
