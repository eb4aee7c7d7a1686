/** Tool definitions: idempotency is declared, time limits are at most the reference's 120 s. */
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { createToolRegistry, toolTimeoutSecs, type ToolDefinition } from '../../worker/tools/types';

const tool = (extra: Partial<ToolDefinition>): ToolDefinition => ({
  spec: { name: 'probe', description: 'x', parameters: { type: 'object', properties: {} } },
  idempotent: false,
  execute: () => Promise.resolve('ok'),
  ...extra,
});

test('built-in tools are idempotent and run under the 120 s limit', () => {
  expect(BUILTIN_TOOLS.map((t) => [t.spec.name, t.idempotent, toolTimeoutSecs(t)])).toEqual([
    ['get_current_time', true, 120],
    ['wait', true, 120],
  ]);
});

test('a tool may set a shorter time limit, never a longer one', () => {
  expect(toolTimeoutSecs(tool({ timeoutSecs: 5 }))).toBe(5);
  expect(() => createToolRegistry([tool({ timeoutSecs: 300 })])).toThrow('tool probe: timeoutSecs must be > 0 and at most 120, got 300');
  expect(() => createToolRegistry([tool({ timeoutSecs: 0 })])).toThrow('tool probe: timeoutSecs must be > 0 and at most 120, got 0');
});

test('a tool must say whether it is idempotent', () => {
  const undeclared = { ...tool({}), idempotent: undefined } as unknown as ToolDefinition;
  expect(() => createToolRegistry([undeclared])).toThrow('tool probe: idempotent must be true or false');
});
