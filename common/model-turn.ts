/**
 * The shapes that cross the workflow ↔ activity boundary for model turns and tool calls.
 * Kept small: no credentials, no provider objects — only names resolved inside activities.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { MessageSchema, ModelRefSchema, SessionSchema, ToolCallSchema } from './session';
import { UsageSchema } from './spend';
import { ContextWindowSchema } from './context-window';

const ToolPolicyScopesSchema = sharedSchema('model-turn.ToolPolicyScopesSchema', () => z.array(z.string().min(1)).max(65));

/** A tool as offered to the model: name, description, JSON Schema of its arguments. */
export interface ToolSpecInput {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export const TranscriptRefSchema = sharedSchema('model-turn.TranscriptRefSchema', () => z.object({
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  messageCount: z.number().int().min(0),
  /** transcriptDigest of the transcript: a worker's cached copy must match it. */
  digest: z.string().min(1).max(64).optional(),
  /** The messages after the first `since`, which the previous call of this loop read: a worker that cached those needs no query. */
  since: z.number().int().min(0).optional(),
  tail: z.array(MessageSchema).max(1000).optional(),
}));
export type TranscriptRef = z.infer<typeof TranscriptRefSchema>;

export const ModelTurnInputSchema = sharedSchema('model-turn.ModelTurnInputSchema', () => z.object({
  sessionId: z.string().min(1),
  turn: z.number().int().min(1),
  model: z.string(),
  modelRef: ModelRefSchema.optional(),
  providerName: z.string().optional(),
  /** A spawned child's subagent_type when its model was not chosen explicitly (subagent routing). */
  subagentType: z.string().optional(),
  /** The transcript inline (small sessions, older histories)… */
  messages: z.array(MessageSchema).optional(),
  /**
   * …or a reference to it: the activity reads the first `messageCount` messages through the
   * workflow's `transcript` query, so history does not store the whole transcript on every
   * turn (which would grow quadratically).
   */
  transcript: TranscriptRefSchema.optional(),
  disabledTools: z.array(z.string()).optional(),
  /** Names of tools the workflow itself handles (WORKFLOW_TOOL_SPECS), offered beside the worker's tools. */
  workflowTools: z.array(z.string()).optional(),
  /** Histories from before `toolPolicyScopes`: the session's own subagent_type. */
  toolPolicyScope: z.string().optional(),
  /**
   * The session's ancestors' subagent_types, root first, then its own (common/tool-policy-scopes.ts):
   * the tool policy takes the strictest of the base rules and each one's entry. Absent: none.
   */
  toolPolicyScopes: ToolPolicyScopesSchema.optional(),
  maxIdleSecs: z.number().int().positive(),
  /** When the run's total-time budget runs out: the attempt stops its call there itself (worker/activities/progress.ts). */
  runDeadline: z.iso.datetime().optional(),
}).refine((input) => (input.messages === undefined) !== (input.transcript === undefined), {
  message: 'exactly one of messages or transcript must be given',
  path: ['messages'],
}));
export type ModelTurnInput = z.infer<typeof ModelTurnInputSchema>;

export const ModelTurnResultSchema = sharedSchema('model-turn.ModelTurnResultSchema', () => z.object({
  content: z.string(),
  toolCalls: z.array(ToolCallSchema),
  usage: UsageSchema,
  /** The call's cost in micro-dollars from the worker's configured prices; absent: no price for the model. */
  costMicroUsd: z.number().int().min(0).optional(),
  /** The provider that answered (after routing and fallback). */
  provider: z.string(),
  warnings: z.array(z.string()),
  /**
   * The worker's tool policy for the tools this reply calls, where it is not `allow`: an `ask`
   * call waits for a person's approval, a `deny` call is an error result (worker/tools/policy.ts).
   */
  toolPolicy: z.record(z.string(), z.enum(['ask', 'deny'])).optional(),
  /** The routed model's context window (worker configuration or known defaults); absent: unknown. */
  context: ContextWindowSchema.optional(),
}));
export type ModelTurnResult = z.infer<typeof ModelTurnResultSchema>;

/** A summary call: the messages it replaces travel inline, so history keeps them (`bamboo transcript --full`). */
export const SummaryInputSchema = sharedSchema('model-turn.SummaryInputSchema', () => z.object({
  sessionId: z.string().min(1),
  /** The summary message's `summary_of` metadata: where `--full` puts these messages back. */
  summaryId: z.string().min(1),
  model: z.string(),
  modelRef: ModelRefSchema.optional(),
  providerName: z.string().optional(),
  subagentType: z.string().optional(),
  messages: z.array(MessageSchema).min(1),
  /** The session's model's window as the session knows it (a provider may have named it): bounds the summary call's parts where the worker knows none. */
  contextWindowTokens: z.number().int().positive().optional(),
  maxIdleSecs: z.number().int().positive(),
  runDeadline: z.iso.datetime().optional(),
}));
export type SummaryInput = z.infer<typeof SummaryInputSchema>;

export const SummaryResultSchema = sharedSchema('model-turn.SummaryResultSchema', () => z.object({
  summary: z.string(),
  usage: UsageSchema,
  costMicroUsd: z.number().int().min(0).optional(),
  provider: z.string(),
  /** The model that wrote it (the configured summary model, else the session's). */
  model: z.string(),
}));
export type SummaryResult = z.infer<typeof SummaryResultSchema>;

export const ToolCallInputSchema = sharedSchema('model-turn.ToolCallInputSchema', () => z.object({
  sessionId: z.string().min(1),
  call: ToolCallSchema,
  disabledTools: z.array(z.string()).optional(),
  /** As in ModelTurnInput: the older single scope, and the chain of scopes. */
  toolPolicyScope: z.string().optional(),
  toolPolicyScopes: ToolPolicyScopesSchema.optional(),
  /** Set when a person approved this call (policy `ask`): the worker runs it. */
  approved: z.boolean().optional(),
  maxIdleSecs: z.number().int().positive(),
  /** When the run's total-time budget runs out (as in ModelTurnInput). */
  runDeadline: z.iso.datetime().optional(),
}));
export type ToolCallInput = z.infer<typeof ToolCallInputSchema>;

export const ToolCallOutcomeSchema = sharedSchema('model-turn.ToolCallOutcomeSchema', () => z.object({
  ok: z.boolean(),
  /** What the model reads as the tool message (output, or the error text). */
  content: z.string(),
}));
export type ToolCallOutcome = z.infer<typeof ToolCallOutcomeSchema>;

export const LoadSnapshotInputSchema = sharedSchema('model-turn.LoadSnapshotInputSchema', () => z.object({
  sessionId: z.string().min(1),
  /** The run asking: never its own (still running) execution. */
  currentRunId: z.string().min(1),
  /** Load this run's result (following continue-as-new); falls back to earlier runs without one. */
  snapshotRunId: z.string().min(1).optional(),
}));
export type LoadSnapshotInput = z.infer<typeof LoadSnapshotInputSchema>;
export const LoadSnapshotResultSchema = sharedSchema('model-turn.LoadSnapshotResultSchema', () => SessionSchema.nullable());

/** A session's run, identified by the first run id of its continue-as-new chain. */
export const SessionRunRefSchema = sharedSchema('model-turn.SessionRunRefSchema', () => z.object({
  sessionId: z.string().min(1),
  /** Absent: the session's current (or latest) run. */
  runId: z.string().min(1).optional(),
}));
export type SessionRunRef = z.infer<typeof SessionRunRefSchema>;
