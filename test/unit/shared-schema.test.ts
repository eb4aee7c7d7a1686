/** Shared schemas: each key names one value, built once; a key used twice would hand one module another's schema. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedSchema } from '../../common/shared-schema';
import { SpawnJobSchema } from '../../common';

const COMMON = join(__dirname, '..', '..', 'common');

test('every sharedSchema key in common/ is unique and names its module', () => {
  const keys: string[] = [];
  for (const file of readdirSync(COMMON).filter((f) => f.endsWith('.ts'))) {
    for (const [, key] of readFileSync(join(COMMON, file), 'utf8').matchAll(/sharedSchema\('([^']+)'/g)) {
      expect(key.startsWith(`${file.slice(0, -3)}.`)).toBe(true);
      keys.push(key);
    }
  }
  expect(keys.length).toBeGreaterThan(40);
  expect(new Set(keys).size).toBe(keys.length);
});

test('a shared value is built once and then handed out as it is', () => {
  let builds = 0;
  const first = sharedSchema('test.once', () => ({ built: ++builds }));
  const second = sharedSchema('test.once', () => ({ built: ++builds }));
  expect(second).toBe(first);
  expect(builds).toBe(1);
});

test('the shared schemas still validate (a SpawnJob with a bad field is refused, naming it)', () => {
  const result = SpawnJobSchema.safeParse({ parentSessionId: 'p', childSessionId: '', model: 'm' });
  expect(result.success).toBe(false);
  expect(result.error?.issues[0].path).toEqual(['childSessionId']);
});

/** The SDK's freeze of what preloaded modules export (@temporalio/worker lib/workflow/reusable-vm.js `deepFreeze`), in short. */
function freezeAsTheSdkDoes(object: unknown, visited = new WeakSet<object>()): void {
  if (object === null || (typeof object !== 'object' && typeof object !== 'function') || visited.has(object)) return;
  visited.add(object);
  if (Object.isFrozen(object)) return;
  if (typeof object === 'object') {
    for (const name of [...Object.getOwnPropertyNames(object), ...Object.getOwnPropertySymbols(object)]) {
      const value = (object as Record<PropertyKey, unknown>)[name];
      if (value && (typeof value === 'object' || typeof value === 'function')) {
        try {
          freezeAsTheSdkDoes(value, visited);
        } catch {
          // as the SDK: what cannot be frozen is left as it is
        }
      }
    }
  }
  Object.freeze(object);
}

test('in the SDK’s shared workflow context a shared schema survives the freeze of its module’s exports; a plain one would not', async () => {
  const { z } = await import('zod');
  const global = globalThis as { __webpack_module_cache__?: unknown };
  global.__webpack_module_cache__ = {};
  try {
    const exports = { Shared: sharedSchema('test.frozen', () => z.object({ name: z.string().min(1), tags: z.array(z.string()).optional() })), Plain: z.object({ name: z.string() }) };
    freezeAsTheSdkDoes({ exports });
    expect(exports.Shared.safeParse({ name: 'a', tags: ['x'] }).success).toBe(true);
    expect(exports.Shared.safeParse({ name: '' }).error?.issues[0].path).toEqual(['name']);
    expect(() => exports.Plain.safeParse({ name: 'a' })).toThrow(/not extensible/);
  } finally {
    delete global.__webpack_module_cache__;
  }
});
