/**
 * Schemas (and values derived from them) built once and shared, instead of once per module
 * instance. That matters in the worker: the Temporal SDK evaluates a workflow bundle's modules
 * anew for every workflow run it holds, so every schema in `common/` used to be built again for
 * each run — most of a child run's workflow CPU and memory (bench/RESULTS.md). This module is
 * preloaded into the worker's shared workflow context (worker/bundle.ts), so its cache
 * spans all the runs a worker holds; elsewhere it is an ordinary per-process cache.
 *
 * What may be shared: pure values, never mutated, and built only from other such values. Keys
 * are `<module>.<name>` and must be unique (test/unit/shared-schema.test.ts checks them).
 */
const built = new Map<string, unknown>();

export function sharedSchema<T>(key: string, build: () => T): T {
  if (built.has(key)) return built.get(key) as T;
  const value = build();
  built.set(key, value);
  return value;
}
