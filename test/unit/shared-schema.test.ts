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
