/**
 * Building workflow bundles ahead of time, marked with how they encode failures, so a worker
 * can tell whether a prebuilt bundle matches its own data converter (see worker-data-converter.ts).
 * Every bundle includes Bamboo's payload converter and workflow interceptors (signal-only
 * lenient decoding), as a worker bundling at start does (create-worker.ts).
 */
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { closeSync, openSync, readSync } from 'node:fs';
import { WORKFLOW_INTERCEPTOR_MODULES, workflowBundleConverters } from '../codec/worker-data-converter';

/**
 * Modules every workflow shares in the worker's reusable V8 context, evaluated once instead of
 * once per workflow run: the zod library, through shared-zod.ts (zod's module scope builds
 * hundreds of classes and keeps no per-workflow state). Evaluating zod was the largest cost of
 * starting a workflow (bench/RESULTS.md, "Where a child run's worker CPU went"). Our own schemas
 * cannot be shared: the SDK deep-freezes shared modules' exports, and a zod schema binds its
 * methods on itself when first used.
 */
export const PRELOADED_WORKFLOW_MODULES: readonly string[] = [require.resolve('./shared-zod')];

/** A comment put before the first line (a new line would shift the inline source map; the worker reads that map from the end). */
const MARKER = '/* bamboo-workflow-bundle encode-failures=';

export async function buildWorkflowBundle(options: {
  workflowsPath: string;
  encodeFailures: boolean;
  logger?: BundleOptions['logger'];
  /** More workflow interceptor modules (e.g. src/observability's), after Bamboo's own. */
  extraInterceptorModules?: readonly string[];
}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath,
    ...workflowBundleConverters({ encodeFailures: options.encodeFailures }),
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, ...(options.extraInterceptorModules ?? [])],
    preloadModules: [...PRELOADED_WORKFLOW_MODULES],
    logger: options.logger,
  });
  return `${MARKER}${options.encodeFailures} */ ${code}`;
}

/** Whether the bundle at `path` encodes failures (false for bundles built some other way). */
export function bundleEncodesFailures(path: string): boolean {
  const head = Buffer.alloc(128);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString('utf8').startsWith(`${MARKER}true `);
}
