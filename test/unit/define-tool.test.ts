/**
 * Tools in code (issue 26): what the model is shown, and what `execute` receives, for tools
 * written with defineTool and for AI SDK tools taken as they are; name rules and clashes.
 */
import { jsonSchema, tool } from 'ai';
import { z } from 'zod';
import { checkToolNames, defineTool, fromAiSdkTool, toolDefinitions } from '../../worker/tools/define-tool';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import type { ToolContext } from '../../worker/tools/types';

const context = (): ToolContext & { notes: string[] } => {
  const notes: string[] = [];
  return { signal: new AbortController().signal, progress: (note) => void notes.push(note), notes };
};

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number().describe('first'), b: z.number().int().min(0) }),
  idempotent: true,
  timeoutSecs: 5,
  execute: ({ a, b }, { progress }) => {
    progress('adding');
    return { sum: a + b };
  },
});

test('defineTool: the model is shown the JSON Schema of its zod input', () => {
  expect(add.spec).toEqual({
    name: 'add',
    description: 'Adds two numbers.',
    parameters: {
      type: 'object',
      properties: { a: { type: 'number', description: 'first' }, b: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
      required: ['a', 'b'],
      additionalProperties: false,
    },
  });
  expect(add.idempotent).toBe(true);
  expect(add.timeoutSecs).toBe(5);
});

test('defineTool: execute gets parsed arguments and its progress; a result that is not text goes as JSON', async () => {
  const ctx = context();
  await expect(add.execute({ a: 2, b: 3 }, ctx)).resolves.toBe('{"sum":5}');
  expect(ctx.notes).toEqual(['adding']);
});

test('defineTool: a bad argument is an error naming the field, and execute never runs', async () => {
  const execute = jest.fn((args: unknown) => JSON.stringify(args));
  const listing = defineTool({ name: 'listing', description: 'd', input: z.object({ path: z.string(), depth: z.number().max(3) }), idempotent: false, execute });
  await expect(listing.execute({ path: 7, depth: 9 }, context())).rejects.toThrow(/^invalid arguments: path: .*expected string.*; depth: .*<=3/);
  expect(execute).not.toHaveBeenCalled();
  // What the schema does not name does not reach execute.
  await expect(listing.execute({ path: '/', depth: 1, extra: true }, context())).resolves.toBe('{"path":"/","depth":1}');
});

test('an AI SDK tool with a zod schema is taken as it is: its schema shown, its arguments checked, its abort signal passed', async () => {
  const seen: AbortSignal[] = [];
  const reverse = tool({
    description: 'Reverses text.',
    inputSchema: z.object({ text: z.string().min(1) }),
    execute: async ({ text }, { abortSignal }) => {
      if (abortSignal) seen.push(abortSignal);
      return [...text].reverse().join('');
    },
  });
  const [definition] = toolDefinitions({ reverse_text: reverse });
  expect(definition.spec.name).toBe('reverse_text');
  expect(definition.spec.parameters).toMatchObject({ type: 'object', properties: { text: { type: 'string', minLength: 1 } }, required: ['text'] });
  expect(definition.spec.parameters).not.toHaveProperty('$schema');
  expect(definition.idempotent).toBe(false);
  const ctx = context();
  await expect(definition.execute({ text: 'abc' }, ctx)).resolves.toBe('cba');
  expect(seen).toEqual([ctx.signal]);
  await expect(definition.execute({ text: '' }, ctx)).rejects.toThrow(/^invalid arguments: text: /);
});

test('an AI SDK tool with a JSON Schema, idempotent when wrapped so; a streaming execute gives its last value', async () => {
  const counter = tool({
    description: 'Counts to n.',
    inputSchema: jsonSchema<{ n: number }>({ type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }),
    execute: async function* ({ n }) {
      for (let i = 1; i <= n; i++) yield i;
    },
  });
  const definition = fromAiSdkTool('count', counter, { idempotent: true, timeoutSecs: 10 });
  expect(definition).toMatchObject({ idempotent: true, timeoutSecs: 10, spec: { name: 'count', parameters: { required: ['n'] } } });
  await expect(definition.execute({ n: 3 }, context())).resolves.toBe('3');
});

test('an AI SDK tool without execute cannot run on a worker', () => {
  expect(() => fromAiSdkTool('client_side', tool({ description: 'x', inputSchema: z.object({}) }))).toThrow('tool client_side: an AI SDK tool without execute cannot run on a worker');
});

test('tool names: providers’ rules, and one owner per name', () => {
  expect(() => defineTool({ name: 'has space', description: '', input: z.object({}), idempotent: true, execute: () => '' })).toThrow(
    'tool name "has space": use 1 to 64 letters, digits, "_" or "-"',
  );
  const wait = defineTool({ name: 'wait', description: 'mine', input: z.object({}), idempotent: true, execute: () => '' });
  expect(() => checkToolNames([{ source: 'Bamboo (a built-in tool)', tools: BUILTIN_TOOLS }, { source: 'this worker', tools: [wait] }])).toThrow(
    'tool name clash: "wait" is defined by this worker and by Bamboo (a built-in tool)',
  );
  const spawn = defineTool({ name: 'spawn_session', description: 'mine', input: z.object({}), idempotent: true, execute: () => '' });
  expect(() => checkToolNames([{ source: 'this worker', tools: [spawn] }])).toThrow(
    'tool name clash: "spawn_session" is defined by this worker and by the workflows (a tool they handle themselves)',
  );
  expect(() => toolDefinitions({ other: add })).toThrow('tool "add" is given under the name "other": use one name');
});

test('defineTool: a field with a default is optional to the model; an async refinement works; a schema with no JSON Schema is refused naming the tool', async () => {
  const paged = defineTool({
    name: 'paged',
    description: 'd',
    input: z.object({ page: z.number().int().default(1), q: z.string().refine(async (v) => v !== 'forbidden', 'is not allowed') }),
    idempotent: true,
    execute: ({ page, q }) => `${q}@${page}`,
  });
  expect(paged.spec.parameters).toMatchObject({ required: ['q'], additionalProperties: false });
  await expect(paged.execute({ q: 'x' }, context())).resolves.toBe('x@1');
  await expect(paged.execute({ q: 'forbidden' }, context())).rejects.toThrow('invalid arguments: q: is not allowed');
  expect(() => defineTool({ name: 'shaped', description: 'd', input: z.object({ n: z.string().transform((v) => v.length) }), idempotent: true, execute: () => '' })).not.toThrow();
  expect(() => defineTool({ name: 'dated', description: 'd', input: z.object({ at: z.date() }), idempotent: true, execute: () => '' })).toThrow(/^tool dated: its input schema has no JSON Schema: /);
});

test('an AI SDK tool: not an object schema, or wanting approval, is refused; toModelOutput and the call id are honoured', async () => {
  expect(() => fromAiSdkTool('text_only', tool({ description: 'x', inputSchema: z.string(), execute: async (s) => s }))).toThrow(
    'tool text_only: its input schema must describe an object (providers take only object arguments), not "string"',
  );
  expect(() => fromAiSdkTool('danger', tool({ description: 'x', inputSchema: z.object({}), needsApproval: true, execute: async () => 'done' }))).toThrow(
    `tool danger: needsApproval is not taken on a worker; ask a person with toolPolicy: { tools: { "danger": 'ask' } }`,
  );
  const ids: string[] = [];
  const secret = fromAiSdkTool(
    'lookup',
    tool({
      description: 'x',
      inputSchema: z.object({ id: z.string() }),
      execute: async ({ id }, { toolCallId }) => {
        ids.push(toolCallId);
        return { id, secret: 'hunter2', shown: 'public part' };
      },
      toModelOutput: ({ output }) => ({ type: 'text', value: output.shown }),
    }),
  );
  await expect(secret.execute({ id: 'a' }, { ...context(), toolCallId: 'call-7' })).resolves.toBe('public part');
  expect(ids).toEqual(['call-7']);
});
