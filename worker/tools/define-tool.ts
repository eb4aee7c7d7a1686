/**
 * Tools written in code: `defineTool` with a zod schema, or an AI SDK `tool()` as it is. Either
 * way the model is shown the JSON Schema derived from the schema that checks the arguments, and
 * a bad argument comes back to the model as a tool error naming the field; `execute` never sees it
 * (for an AI SDK tool, when its schema validates: zod and standard schemas do; `jsonSchema()` only
 * with its `validate` option).
 */
import { asSchema, type Tool as AiSdkTool } from 'ai';
import { z } from 'zod';
import { ASK_USER_TOOL, describeZodError, MANAGE_TOOL, SPAWN_TOOL } from '../../common';
import type { ToolContext, ToolDefinition } from './types';

/** What providers accept as a function name. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface DefineToolOptions<Input extends z.ZodObject> {
  /** The name the model calls it by: letters, digits, `_` and `-`, at most 64. */
  name: string;
  description: string;
  /** The arguments: parsed before `execute` runs; its JSON Schema is what the model is shown. */
  input: Input;
  /**
   * Whether running it twice does no more than once. A non-idempotent tool whose worker died
   * mid-call is not run again (the model is told the outcome is unknown); an idempotent one is retried.
   */
  idempotent: boolean;
  /** Its time limit, at most (and by default) 120 s. */
  timeoutSecs?: number;
  /** The text the model reads (anything else is sent as JSON); throw to report an error to the model. */
  execute(args: z.infer<Input>, context: ToolContext): Promise<unknown> | unknown;
}

/** A tool for `bambooPlugin({ tools })`. */
export function defineTool<Input extends z.ZodObject>(options: DefineToolOptions<Input>): ToolDefinition {
  checkName(options.name);
  const { input } = options;
  return {
    spec: { name: options.name, description: options.description, parameters: inputJsonSchema(options.name, input) },
    idempotent: options.idempotent,
    ...(options.timeoutSecs !== undefined ? { timeoutSecs: options.timeoutSecs } : {}),
    async validate(args) {
      const parsed = await input.safeParseAsync(args);
      return parsed.success ? undefined : describeZodError(parsed.error);
    },
    async execute(args, context) {
      // Async: a schema may refine asynchronously.
      const parsed = await input.safeParseAsync(args);
      if (!parsed.success) throw new Error(`invalid arguments: ${describeZodError(parsed.error)}`);
      return resultText(await options.execute(parsed.data, context));
    },
  };
}

export interface AiSdkToolOptions {
  /** Default false: the AI SDK's tool says nothing of it, and a tool not known to be safe to repeat is not repeated. */
  idempotent?: boolean;
  timeoutSecs?: number;
}

/**
 * An AI SDK `tool({ description, inputSchema, execute })` as a Bamboo tool named `name`. Its
 * schema may be zod (3 or 4), `jsonSchema()` or any standard schema; its `execute` gets the
 * arguments, and the run's abort signal as `abortSignal`.
 */
export function fromAiSdkTool(name: string, tool: AiSdkTool, options: AiSdkToolOptions = {}): ToolDefinition {
  checkName(name);
  const execute = tool.execute;
  if (!execute) throw new Error(`tool ${name}: an AI SDK tool without execute cannot run on a worker`);
  // A person's approval is the tool policy's to ask for, durably: a tool that wants it must not run without it.
  if (tool.needsApproval) throw new Error(`tool ${name}: needsApproval is not taken on a worker; ask a person with toolPolicy: { tools: { ${JSON.stringify(name)}: 'ask' } }`);
  let schema: ReturnType<typeof asSchema>;
  let parameters: unknown;
  try {
    schema = asSchema(tool.inputSchema);
    parameters = schema.jsonSchema;
  } catch (error) {
    throw new Error(`tool ${name}: its input schema has no JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (isPromiseLike(parameters)) throw new Error(`tool ${name}: its input schema's JSON Schema is asynchronous; give it as a zod schema or jsonSchema({...})`);
  const spec = withoutDialect(parameters as Record<string, unknown>);
  if (spec.type !== 'object') throw new Error(`tool ${name}: its input schema must describe an object (providers take only object arguments), not ${JSON.stringify(spec.type ?? 'anything')}`);
  const toModelOutput = tool.toModelOutput as ((options: { toolCallId: string; input: unknown; output: unknown }) => unknown) | undefined;
  return {
    spec: { name, description: tool.description ?? '', parameters: spec },
    idempotent: options.idempotent ?? false,
    ...(options.timeoutSecs !== undefined ? { timeoutSecs: options.timeoutSecs } : {}),
    async validate(args) {
      const checked = schema.validate ? await schema.validate(args) : { success: true as const, value: args };
      return checked.success ? undefined : validationText(checked.error);
    },
    async execute(args, context) {
      const checked = schema.validate ? await schema.validate(args) : { success: true as const, value: args };
      if (!checked.success) throw new Error(`invalid arguments: ${validationText(checked.error)}`);
      const toolCallId = context.toolCallId ?? `${name}-call`;
      const raw: unknown = await execute(checked.value, { toolCallId, messages: [], abortSignal: context.signal });
      const output = isAsyncIterable(raw) ? await lastOf(raw) : raw;
      return toModelOutput ? modelOutputText(await toModelOutput({ toolCallId, input: checked.value, output })) : resultText(output);
    },
  };
}

/** What `toModelOutput` gives the model, as the text Bamboo's transcript holds. */
function modelOutputText(part: unknown): string {
  const { type, value } = (part ?? {}) as { type?: string; value?: unknown };
  if ((type === 'text' || type === 'error-text') && typeof value === 'string') return value;
  return resultText(type === 'json' || type === 'error-json' ? value : part);
}

/** The JSON Schema of what the model must send (input mode: a field with a default is optional), named in errors. */
function inputJsonSchema(name: string, input: z.ZodObject): Record<string, unknown> {
  try {
    const schema = withoutDialect(z.toJSONSchema(input, { target: 'draft-7', io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>);
    // Keys the schema does not name are dropped before execute: the model is told not to send any.
    return { ...schema, additionalProperties: schema.additionalProperties ?? false };
  } catch (error) {
    throw new Error(`tool ${name}: its input schema has no JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Tools given to the plugin: Bamboo tools in a list, or a record of name → AI SDK tool or Bamboo tool (the AI SDK's `ToolSet` shape). */
export type ToolsInput = readonly ToolDefinition[] | Readonly<Record<string, ToolDefinition | AiSdkTool>>;

export function toolDefinitions(tools: ToolsInput | undefined): ToolDefinition[] {
  if (!tools) return [];
  if (Array.isArray(tools)) return [...(tools as readonly ToolDefinition[])];
  return Object.entries(tools).map(([name, tool]) => {
    if (!isToolDefinition(tool)) return fromAiSdkTool(name, tool);
    if (tool.spec.name !== name) throw new Error(`tool ${JSON.stringify(tool.spec.name)} is given under the name ${JSON.stringify(name)}: use one name`);
    return tool;
  });
}

/** Names the workflows handle themselves: a worker tool may not take them. */
export const WORKFLOW_TOOL_NAMES: readonly string[] = [SPAWN_TOOL, MANAGE_TOOL, ASK_USER_TOOL];

/**
 * Every tool name once, and none a workflow-handled one: an error at start names both owners.
 * `sources` names where each list came from (built-in, yours, MCP server …).
 */
export function checkToolNames(sources: readonly { source: string; tools: readonly ToolDefinition[] }[]): void {
  const owner = new Map<string, string>(WORKFLOW_TOOL_NAMES.map((name) => [name, 'the workflows (a tool they handle themselves)']));
  for (const { source, tools } of sources) {
    for (const tool of tools) {
      const name = tool.spec.name;
      const first = owner.get(name);
      if (first) throw new Error(`tool name clash: ${JSON.stringify(name)} is defined by ${source} and by ${first}`);
      owner.set(name, source);
    }
  }
}

function checkName(name: string): void {
  if (!TOOL_NAME.test(name)) throw new Error(`tool name ${JSON.stringify(name)}: use 1 to 64 letters, digits, "_" or "-"`);
}

function isToolDefinition(tool: ToolDefinition | AiSdkTool): tool is ToolDefinition {
  return typeof (tool as ToolDefinition).spec === 'object' && typeof (tool as ToolDefinition).execute === 'function' && 'idempotent' in tool;
}

function resultText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output === undefined) return '';
  return JSON.stringify(output) ?? String(output);
}

/** A zod failure (of any zod copy: the AI SDK's is not ours) as `field: message`; else its message. */
function validationText(error: unknown): string {
  for (const candidate of [error, (error as { cause?: unknown } | undefined)?.cause]) {
    const issues = (candidate as { issues?: unknown } | undefined)?.issues;
    if (Array.isArray(issues)) return describeZodError({ issues } as z.ZodError);
  }
  return error instanceof Error ? error.message : String(error);
}

function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...schema };
  delete rest.$schema;
  return rest;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

async function lastOf(items: AsyncIterable<unknown>): Promise<unknown> {
  let last: unknown;
  for await (const item of items) last = item;
  return last;
}
