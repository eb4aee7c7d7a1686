/**
 * The tools a parent session's workflow handles itself: `spawn_session` and `manage_children`.
 * Their arguments are written once, as the zod schemas the workflow parses a call with; the
 * JSON Schema the model activity offers the model is derived from them. Argument names and
 * descriptions follow the reference. Plain data, shared by the workflow (which runs the tools)
 * and the model activity (which offers them), so only the tools' names travel through history.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import type { ToolSpecInput } from './model-turn';
import { toolSpec } from './tool-spec';

export const SPAWN_TOOL = 'spawn_session';
export const MANAGE_TOOL = 'manage_children';

export const SpawnArgsSchema = sharedSchema('workflow-tool-specs.SpawnArgsSchema', () => z.object({
  title: z.string().trim().min(1).describe('Short title of the child session'),
  responsibility: z.string().trim().min(1).describe('What the child is responsible for'),
  prompt: z.string().trim().min(1).describe('The task brief'),
  subagent_type: z.string().trim().min(1).describe('Kind of sub-agent, e.g. general, researcher, coder'),
  model: z.string().trim().min(1).max(200).describe('Model override (default: the parent model)').optional(),
  reasoning_effort: z.enum(['low', 'medium', 'high']).optional(),
}));
export type SpawnArgs = z.infer<typeof SpawnArgsSchema>;

const childSessionId = sharedSchema('workflow-tool-specs.childSessionId', () => z.string().min(1));

/** One object per action, so a parsed request has exactly the fields its action needs. */
export const ManageArgsSchema = sharedSchema('workflow-tool-specs.ManageArgsSchema', () => z.discriminatedUnion('action', [
  z.object({ action: z.literal('list') }),
  z.object({ action: z.literal('get'), child_session_id: childSessionId }),
  z.object({ action: z.literal('send_message'), child_session_id: childSessionId, message: z.string().trim().min(1) }),
  z.object({ action: z.literal('cancel'), child_session_id: childSessionId }),
]));
export type ManageArgs = z.infer<typeof ManageArgsSchema>;

/** A model asks the user (the person behind the root) a question and waits for the answer. */
export const ASK_USER_TOOL = 'ask_user';
export const AskUserArgsSchema = sharedSchema('workflow-tool-specs.AskUserArgsSchema', () => z.object({
  question: z.string().trim().min(1).max(10_000).describe('The question, as the person should read it'),
}));

export const WORKFLOW_TOOL_SPECS: readonly ToolSpecInput[] = sharedSchema('workflow-tool-specs.WORKFLOW_TOOL_SPECS', () => [
  toolSpec({
    name: SPAWN_TOOL,
    description:
      'Start a child session (a sub-agent) that works in the background on one task. Returns at once with ' +
      'status "queued"; you are resumed with its result when it finishes.',
    args: SpawnArgsSchema,
  }),
  toolSpec({
    name: MANAGE_TOOL,
    description: 'Manage child sessions: list them, get one, send a message to one (queued if it is running), or cancel one.',
    args: asOneObject(ManageArgsSchema),
  }),
  toolSpec({
    name: ASK_USER_TOOL,
    description: 'Ask the user a question and wait for the answer (offered only when the tool policy allows it).',
    args: AskUserArgsSchema,
  }),
]);

/**
 * A discriminated union as the model is shown it: one object (providers want `type: object`
 * at the top of a tool's schema) whose discriminator is an enum of the options' values; a
 * field every option has stays required, any other is optional (the first option naming a
 * field gives its schema). Which fields an action needs is then the parser's to say, with a
 * message naming the missing one.
 */
function asOneObject(union: z.ZodDiscriminatedUnion<z.ZodObject[]>): z.ZodObject {
  const key = union.def.discriminator;
  const options = union.options;
  const values = options.flatMap((option) => [...(option.shape[key] as z.ZodLiteral<string>).values]);
  const shape: Record<string, z.ZodType> = { [key]: z.enum(values as [string, ...string[]]) };
  for (const option of options) {
    for (const [field, schema] of Object.entries(option.shape)) {
      if (field in shape) continue;
      shape[field] = options.every((o) => field in o.shape) ? (schema as z.ZodType) : (schema as z.ZodType).optional();
    }
  }
  return z.object(shape);
}
