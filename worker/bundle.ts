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
 * Modules every workflow run shares in the worker's reusable V8 context, evaluated once per
 * worker instead of once per run (the SDK evaluates a bundle's other modules for every run it
 * holds: for a Bamboo child run that was most of its workflow memory and CPU, bench/RESULTS.md):
 *  - zod (through preload-zod.ts) and common/shared-schema.ts, whose cache holds `common/`'s
 *    schemas (a Map, which the SDK's deep freeze of shared modules leaves alone);
 *  - Bamboo's workflows (workflows/index.ts) and everything they import. Sharing code is safe
 *    because none of it keeps state at module level (ESLint keeps it so: no top-level `let`, no
 *    top-level Map or Set but the schema cache); a run's state lives in its objects and in the
 *    SDK's per-run activator. The SDK deep-freezes what shared modules export: constants,
 *    functions and classes, which nothing changes, and the shared schemas, which refuse the
 *    freeze (zod defines properties on a schema when first used; common/shared-schema.ts).
 *    Built from TypeScript sources, module concatenation puts most of them into one module;
 *    from the published package (CommonJS) each stays a module of its own.
 * Your own workflows module, if you have one, stays per run (it is not preloaded).
 */
export const PRELOADED_WORKFLOW_MODULES: readonly string[] = [require.resolve('../workflows/preload-zod'), require.resolve('../common/shared-schema'), require.resolve('../workflows')];

/**
 * webpack's module concatenation (scope hoisting): the modules a workflow bundle imports with
 * `import` become one module. Fewer modules to evaluate (and export getters to build), and the
 * preloaded workflows export nothing but their functions (see PRELOADED_WORKFLOW_MODULES).
 */
export function concatenateWorkflowModules(hook?: BundleOptions['webpackConfigHook']): NonNullable<BundleOptions['webpackConfigHook']> {
  return (config) => {
    const own = hook ? hook(config) : config;
    // A hook that chose (`concatenateModules: false`) keeps its choice.
    return { ...own, optimization: { ...own.optimization, concatenateModules: own.optimization?.concatenateModules ?? true } };
  };
}

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
    webpackConfigHook: concatenateWorkflowModules(
      aliases.length ? (config) => ({ ...config, resolve: { ...config.resolve, alias: { ...(config.resolve?.alias as object), ...Object.fromEntries(aliases) } } }) : undefined,
    ),
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
