/**
 * A tool's spec for the model, derived from the zod schema that parses its arguments, so what
 * the model is shown and what the tool accepts cannot drift apart.
 */
import { z } from 'zod';
import type { ToolSpecInput } from './model-turn';

/**
 * The JSON Schema providers send for `args`: zod's output shape (a `z.object` says
 * `additionalProperties: false`; `.describe()` texts become descriptions), as draft-07, the
 * dialect every provider reads, without the `$schema` marker, which none of them wants.
 */
export function argumentsJsonSchema(args: z.ZodObject): Record<string, unknown> {
  const schema: Record<string, unknown> = { ...z.toJSONSchema(args, { target: 'draft-7', unrepresentable: 'throw' }) };
  delete schema.$schema;
  return schema;
}

export function toolSpec(spec: { name: string; description: string; args: z.ZodObject }): ToolSpecInput {
  return { name: spec.name, description: spec.description, parameters: argumentsJsonSchema(spec.args) };
}
