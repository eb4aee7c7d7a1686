/**
 * The shapes that cross the workflow ↔ activity boundary for model turns and tool calls.
 * Kept small: no credentials, no provider objects — only names resolved inside activities.
 */
import { z } from 'zod';
import { MessageSchema, ModelRefSchema, SessionSchema, ToolCallSchema } from './session';
import { UsageSchema } from './run';

export const ModelTurnInputSchema = z.object({
  sessionId: z.string().min(1),
  turn: z.number().int().min(1),
  model: z.string(),
  modelRef: ModelRefSchema.optional(),
  providerName: z.string().optional(),
  messages: z.array(MessageSchema),
  disabledTools: z.array(z.string()).optional(),
  /** Tools the workflow itself handles (e.g. spawning), offered to the model beside the worker's tools. */
  workflowTools: z.array(z.object({ name: z.string(), description: z.string(), parameters: z.record(z.string(), z.unknown()) })).optional(),
  maxIdleSecs: z.number().int().positive(),
});
export type ModelTurnInput = z.infer<typeof ModelTurnInputSchema>;

export const ModelTurnResultSchema = z.object({
  content: z.string(),
  toolCalls: z.array(ToolCallSchema),
  usage: UsageSchema,
  /** The provider that answered (after routing and fallback). */
  provider: z.string(),
  warnings: z.array(z.string()),
});
export type ModelTurnResult = z.infer<typeof ModelTurnResultSchema>;

export const ToolCallInputSchema = z.object({
  sessionId: z.string().min(1),
  call: ToolCallSchema,
  disabledTools: z.array(z.string()).optional(),
  maxIdleSecs: z.number().int().positive(),
});
export type ToolCallInput = z.infer<typeof ToolCallInputSchema>;

export const ToolCallOutcomeSchema = z.object({
  ok: z.boolean(),
  /** What the model reads as the tool message (output, or the error text). */
  content: z.string(),
});
export type ToolCallOutcome = z.infer<typeof ToolCallOutcomeSchema>;

export const LoadSnapshotInputSchema = z.object({
  sessionId: z.string().min(1),
  /** The run asking: never its own (still running) execution. */
  currentRunId: z.string().min(1),
});
export type LoadSnapshotInput = z.infer<typeof LoadSnapshotInputSchema>;
export const LoadSnapshotResultSchema = SessionSchema.nullable();
