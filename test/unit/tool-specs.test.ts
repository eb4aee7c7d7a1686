/**
 * Tool specs are derived from the zod schemas that parse the tools' arguments
 * (common/tool-spec.ts): the JSON Schema the model is shown, pinned here, and the promise
 * that a call the JSON Schema allows is one the tool's parser takes.
 */
import { z } from 'zod';
import { ASK_USER_TOOL, AskUserArgsSchema, ManageArgsSchema, MANAGE_TOOL, SpawnArgsSchema, SPAWN_TOOL, WORKFLOW_TOOL_SPECS, type ToolSpecInput } from '../../common';
import { BUILTIN_TOOLS, WaitArgsSchema } from '../../worker/tools/builtin';

/** The hand-written schemas the derived ones replaced (common/workflow-tool-specs.ts before). */
const HAND_WRITTEN = {
  [SPAWN_TOOL]: {
    type: 'object',
    properties: {
      title: { type: 'string', description: 'Short title of the child session' },
      responsibility: { type: 'string', description: 'What the child is responsible for' },
      prompt: { type: 'string', description: 'The task brief' },
      subagent_type: { type: 'string', description: 'Kind of sub-agent, e.g. general, researcher, coder' },
      model: { type: 'string', description: 'Model override (default: the parent model)' },
      reasoning_effort: { type: 'string', enum: ['low', 'medium', 'high'] },
    },
    required: ['title', 'responsibility', 'prompt', 'subagent_type'],
    additionalProperties: false,
  },
  [MANAGE_TOOL]: {
    type: 'object',
    properties: {
      action: { type: 'string', enum: ['list', 'get', 'send_message', 'cancel'] },
      child_session_id: { type: 'string' },
      message: { type: 'string' },
    },
    required: ['action'],
    additionalProperties: false,
  },
  // New with issue 14 (no hand-written original): what a model must send to ask the user.
  [ASK_USER_TOOL]: {
    type: 'object',
    properties: { question: { type: 'string', description: 'The question, as the person should read it' } },
    required: ['question'],
    additionalProperties: false,
  },
  get_current_time: { type: 'object', properties: {}, additionalProperties: false },
  wait: {
    type: 'object',
    properties: { seconds: { type: 'number', minimum: 0, maximum: 3600 } },
    required: ['seconds'],
    additionalProperties: false,
  },
} as Record<string, { properties: Record<string, Record<string, unknown>> }>;

/** What deriving adds to them: the parsers' length limits, which the hand-written ones left out. */
const LENGTH_LIMITS: Record<string, Record<string, Record<string, number>>> = {
  [SPAWN_TOOL]: {
    title: { minLength: 1 },
    responsibility: { minLength: 1 },
    prompt: { minLength: 1 },
    subagent_type: { minLength: 1 },
    model: { minLength: 1, maxLength: 200 },
  },
  [MANAGE_TOOL]: { child_session_id: { minLength: 1 }, message: { minLength: 1 } },
  [ASK_USER_TOOL]: { question: { minLength: 1, maxLength: 10_000 } },
};

function handWrittenWithLimits(name: string): Record<string, unknown> {
  const schema = structuredClone(HAND_WRITTEN[name]);
  for (const [field, limits] of Object.entries(LENGTH_LIMITS[name] ?? {})) Object.assign(schema.properties[field], limits);
  return schema;
}

const ALL_SPECS: ToolSpecInput[] = [...WORKFLOW_TOOL_SPECS, ...BUILTIN_TOOLS.map((t) => t.spec)];

/** The parser each tool runs its arguments through. */
const PARSERS: Record<string, z.ZodType> = {
  [SPAWN_TOOL]: SpawnArgsSchema,
  [MANAGE_TOOL]: ManageArgsSchema,
  [ASK_USER_TOOL]: AskUserArgsSchema,
  get_current_time: z.object({}),
  wait: WaitArgsSchema,
};

/** The one rule manage_children's JSON Schema cannot carry: which fields each action needs. */
const MANAGE_NEEDS: Record<string, string[]> = {
  list: [],
  get: ['child_session_id'],
  send_message: ['child_session_id', 'message'],
  cancel: ['child_session_id'],
};

type PropertySchema = { type?: string; enum?: unknown[]; minimum?: number; maximum?: number };

/** Values the property's schema allows: each enum value, a string, a number's bounds. */
function valuesFor(property: PropertySchema): unknown[] {
  if (property.enum) return property.enum;
  if (property.type === 'string') return ['x'];
  if (property.type === 'number') return [property.minimum ?? 0, property.maximum ?? 1];
  throw new Error(`no sample values for ${JSON.stringify(property)}`);
}

/** Every combination of allowed values, optional properties present or absent. */
function samples(parameters: Record<string, unknown>): Record<string, unknown>[] {
  const properties = (parameters.properties ?? {}) as Record<string, PropertySchema>;
  const required = new Set((parameters.required ?? []) as string[]);
  let combos: Record<string, unknown>[] = [{}];
  for (const [name, property] of Object.entries(properties)) {
    const choices: unknown[] = [...valuesFor(property), ...(required.has(name) ? [] : [undefined])];
    combos = combos.flatMap((combo) => choices.map((value) => (value === undefined ? combo : { ...combo, [name]: value })));
  }
  return combos;
}

describe('the JSON Schema each tool offers the model', () => {
  it.each(ALL_SPECS.map((spec) => [spec.name, spec]))('%s: the hand-written schema, plus the parser’s length limits', (name, spec) => {
    expect(spec.parameters).toEqual(handWrittenWithLimits(name));
  });

  it('the workflow tools keep their names and descriptions', () => {
    expect(WORKFLOW_TOOL_SPECS.map((s) => [s.name, s.description])).toEqual([
      [
        'spawn_session',
        'Start a child session (a sub-agent) that works in the background on one task. Returns at once with ' +
          'status "queued"; you are resumed with its result when it finishes.',
      ],
      ['manage_children', 'Manage child sessions: list them, get one, send a message to one (queued if it is running), or cancel one.'],
      ['ask_user', 'Ask the user a question and wait for the answer (offered only when the tool policy allows it).'],
    ]);
  });

  it('carries no $schema marker', () => {
    for (const spec of ALL_SPECS) expect(spec.parameters).not.toHaveProperty('$schema');
  });
});

describe('a call the JSON Schema allows is one the tool parses', () => {
  it.each(ALL_SPECS.map((spec) => [spec.name, spec]))('%s', (name, spec) => {
    const jsonSchema = z.fromJSONSchema(spec.parameters as Parameters<typeof z.fromJSONSchema>[0]);
    const cases = samples(spec.parameters);
    expect(cases.length).toBeGreaterThan(0);
    for (const args of cases) {
      expect({ args, allowed: jsonSchema.safeParse(args).success }).toEqual({ args, allowed: true });
      const needs = name === MANAGE_TOOL ? MANAGE_NEEDS[args.action as string] : [];
      const missing = needs.filter((field) => !(field in args));
      const parsed = PARSERS[name].safeParse(args);
      expect({ args, parsed: parsed.success }).toEqual({ args, parsed: missing.length === 0 });
      if (!parsed.success) expect(parsed.error.issues.map((issue) => issue.path.join('.'))).toEqual(missing);
    }
  });

  it.each(ALL_SPECS.map((spec) => [spec.name, spec]))('%s: without a required field, neither takes it', (name, spec) => {
    const jsonSchema = z.fromJSONSchema(spec.parameters as Parameters<typeof z.fromJSONSchema>[0]);
    const [args] = samples(spec.parameters);
    for (const field of (spec.parameters.required ?? []) as string[]) {
      const without = { ...args };
      delete without[field];
      expect(jsonSchema.safeParse(without).success).toBe(false);
      expect(PARSERS[name].safeParse(without).success).toBe(false);
    }
  });

  it('manage_children offers exactly the actions its parser knows', () => {
    const offered = (WORKFLOW_TOOL_SPECS[1].parameters.properties as { action: { enum: string[] } }).action.enum;
    expect(offered).toEqual(Object.keys(MANAGE_NEEDS));
    expect(ManageArgsSchema.safeParse({ action: 'delete', child_session_id: 'c' }).success).toBe(false);
  });

  it('the parser still trims what the JSON Schema cannot say: a blank title is refused', () => {
    const blank = { title: '   ', responsibility: 'r', prompt: 'p', subagent_type: 'general' };
    expect(SpawnArgsSchema.safeParse(blank).success).toBe(false);
  });
});
