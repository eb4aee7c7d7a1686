/**
 * Schemas (and values derived from them) built once and shared, instead of once per module
 * instance. In the worker, Bamboo's workflow modules are preloaded into the SDK's reusable V8
 * context (worker/bundle.ts), so they and this cache are evaluated once per worker, not once per
 * workflow run; elsewhere this is an ordinary per-process cache.
 *
 * The SDK deep-freezes what preloaded modules export, but a zod schema memoizes on itself when
 * first used (it defines properties on the schema), which a frozen schema refuses. So in that
 * context a shared object is handed out behind a proxy that refuses the freeze: the SDK skips
 * what it cannot freeze, and every other operation reaches the schema itself.
 *
 * What may be shared: pure values, never mutated, and built only from other such values. Keys
 * are `<module>.<name>` and must be unique (test/unit/shared-schema.test.ts checks them).
 */
// eslint-disable-next-line no-restricted-syntax -- the cache every run shares, by design
const built = new Map<string, unknown>();

/**
 * The SDK's workflow contexts route webpack's module cache through this global (the reusable
 * one, which freezes; the per-run one too, where the proxy only costs a hop); Node does not.
 */
const inSharedWorkflowContext = (): boolean => Object.prototype.hasOwnProperty.call(globalThis, '__webpack_module_cache__');

const REFUSES_FREEZE: ProxyHandler<object> = {
  isExtensible(): boolean {
    throw new TypeError('a shared schema is not frozen: zod memoizes on it when first used');
  },
};

export function sharedSchema<T>(key: string, build: () => T): T {
  if (built.has(key)) return built.get(key) as T;
  const value = build();
  const shared = typeof value === 'object' && value !== null && inSharedWorkflowContext() ? (new Proxy(value, REFUSES_FREEZE) as T) : value;
  built.set(key, shared);
  return shared;
}
