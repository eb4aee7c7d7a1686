/**
 * Sessions and messages: the conversation state a run reads and returns.
 * Field names are part of the public contract (docs/architecture.md#domain-model).
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { ancestorSubagentTypesProblem, ANCESTOR_SUBAGENT_TYPES_KEY } from './tool-policy-scopes';
import { watchdogMetadataProblems } from './watchdog';

const nonEmpty = sharedSchema('session.nonEmpty', () => z.string().trim().min(1, 'must be a non-empty string'));

/**
 * Session ids become workflow ids (`bamboo-session-<id>`, at most 1,000 characters, child ids
 * add a suffix) and visibility-query literals (no quotes, backslashes or control characters).
 */
function isQuerySafe(id: string): boolean {
  return ![...id].some((c) => c === '"' || c === '\\' || c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);
}

export const SessionIdSchema = sharedSchema('session.SessionIdSchema', () =>
  nonEmpty.max(200, 'must be at most 200 characters').refine(isQuerySafe, 'must not contain quotes, backslashes or control characters'),
);

export const RoleSchema = sharedSchema('session.RoleSchema', () => z.enum(['system', 'user', 'assistant', 'tool']));
export type Role = z.infer<typeof RoleSchema>;

export const ToolCallSchema = sharedSchema('session.ToolCallSchema', () => z.object({
  id: nonEmpty,
  name: nonEmpty,
  /** Parsed JSON arguments, as the model produced them. */
  arguments: z.record(z.string(), z.unknown()),
}));
export type ToolCall = z.infer<typeof ToolCallSchema>;

export const MessageSchema = sharedSchema('session.MessageSchema', () => z.object({
  id: nonEmpty,
  role: RoleSchema,
  content: z.string(),
  toolCalls: z.array(ToolCallSchema).optional(),
  toolCallId: z.string().optional(),
  createdAt: z.string(),
  metadata: z.record(z.string(), z.string()).optional(),
}));
export type Message = z.infer<typeof MessageSchema>;

export const ModelRefSchema = sharedSchema('session.ModelRefSchema', () => z.object({ provider: z.string(), model: z.string() }));
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const SessionKindSchema = sharedSchema('session.SessionKindSchema', () => z.enum(['root', 'child']));
export type SessionKind = z.infer<typeof SessionKindSchema>;

export const SessionSchema = sharedSchema('session.SessionSchema', () => z.object({
  id: SessionIdSchema,
  kind: SessionKindSchema,
  parentSessionId: SessionIdSchema.optional(),
  rootSessionId: SessionIdSchema,
  spawnDepth: z.number().int().min(0),
  title: z.string().optional(),
  model: z.string().max(200, 'must be at most 200 characters'),
  modelRef: ModelRefSchema.optional(),
  messages: z.array(MessageSchema),
  /**
   * `child_watchdog.*` values that count (integers > 0) must be within their maximum
   * (watchdog.ts); `ancestor_subagent_types` must be a usable chain (tool-policy-scopes.ts).
   */
  metadata: z.record(z.string(), z.string()).superRefine((metadata, ctx) => {
    for (const { key, message } of watchdogMetadataProblems(metadata)) ctx.addIssue({ code: 'custom', path: [key], message });
    const ancestors = metadata[ANCESTOR_SUBAGENT_TYPES_KEY];
    const problem = ancestors === undefined ? undefined : ancestorSubagentTypesProblem(ancestors);
    if (problem) ctx.addIssue({ code: 'custom', path: [ANCESTOR_SUBAGENT_TYPES_KEY], message: problem });
  }),
}));
export type Session = z.infer<typeof SessionSchema>;

/** The last message is a user message: the session has a pending turn to run. */
export function hasPendingUserMessage(session: Session): boolean {
  return session.messages.at(-1)?.role === 'user';
}

/** The most recent user message's text, or '' when there is none. */
export function lastUserText(messages: readonly Message[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return messages[i].content;
  }
  return '';
}

/** The most recent assistant text (the child's "final answer"), or undefined. */
export function lastAssistantText(messages: readonly Message[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === 'assistant' && m.content.trim() !== '') return m.content;
  }
  return undefined;
}
