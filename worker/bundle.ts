/**
 * Building workflow bundles ahead of time, marked with how they encode failures, so a worker
 * can tell whether a prebuilt bundle matches its own data converter (see worker-data-converter.ts).
 * Every bundle includes Bamboo's payload converter and workflow interceptors (signal-only
 * lenient decoding), as a worker bundling at start does (create-worker.ts).
 */
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { closeSync, openSync, readSync } from 'node:fs';
import { WORKFLOW_INTERCEPTOR_MODULES, workflowBundleConverters } from './codec/worker-data-converter';

/**
 * Modules every workflow shares in the worker's reusable V8 context, evaluated once instead of
 * once per workflow run (the SDK evaluates the bundle's other modules for every run it holds):
 * zod (through shared-zod.ts), and common/shared-schema.ts, whose cache holds `common/`'s
 * schemas, so they are built once per worker, not once per run. Building them per run was most
 * of a child run's workflow CPU and memory (bench/RESULTS.md). The SDK deep-freezes what shared
 * modules export; neither exports anything a workflow changes, and the schemas live in a Map,
 * which the freeze leaves alone (zod binds a schema's methods on the schema when first used).
 */
export const PRELOADED_WORKFLOW_MODULES: readonly string[] = [require.resolve('../workflows/preload-zod'), require.resolve('../common/shared-schema')];

/** A comment put before the first line (a new line would shift the inline source map; the worker reads that map from the end). */
const MARKER = '/* bamboo-workflow-bundle encode-failures=';

export async function buildWorkflowBundle(options: {
  workflowsPath: string;
  encodeFailures: boolean;
  logger?: BundleOptions['logger'];
  /** More workflow interceptor modules (e.g. worker/observability's), after Bamboo's own. */
  extraInterceptorModules?: readonly string[];
  /** Modules resolved elsewhere (exact request → file): the patch-guard test swaps the SDK's `patched`. */
  aliases?: Record<string, string>;
}): Promise<string> {
  const aliases = Object.entries(options.aliases ?? {}).map(([request, file]) => [`${request}$`, file]);
  const { code } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath,
    ...workflowBundleConverters({ encodeFailures: options.encodeFailures }),
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, ...(options.extraInterceptorModules ?? [])],
    preloadModules: [...PRELOADED_WORKFLOW_MODULES],
    logger: options.logger,
    ...(aliases.length
      ? { webpackConfigHook: (config) => ({ ...config, resolve: { ...config.resolve, alias: { ...(config.resolve?.alias as object), ...Object.fromEntries(aliases) } } }) }
      : {}),
  });
  return `${MARKER}${options.encodeFailures} */ ${code}`;
}

/** Whether the bundle at `path` encodes failures (false for bundles built some other way). */
/** Whether a file is a workflow bundle built by buildWorkflowBundle (its first line says so). */
export function isWorkflowBundle(path: string): boolean {
  return headOf(path).startsWith(MARKER);
}

export function bundleEncodesFailures(path: string): boolean {
  return headOf(path).startsWith(`${MARKER}true `);
}

function headOf(path: string): string {
  const head = Buffer.alloc(128);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString('utf8');
}
