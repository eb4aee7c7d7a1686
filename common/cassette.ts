/**
 * A cassette: what a session tree asked of the world and what it got back, in order per session
 * and run — each model call (its request where the history holds it, its answer), each tool
 * call and outcome, each spawn — read from the tree's histories (`bamboo cassette export`).
 * Versioned and checked with zod on load; it holds what history holds, and history holds no
 * credential (they are resolved by name inside activities). Version 2 adds what a replay needs
 * (`bamboo replay-agent`, docs/replay.md): the root's start input, each run's final transcript,
 * the brief of each spawn, a person's decisions and the user's messages; version 3 adds summaries
 * of older turns and the model's window with each answer. Versions 1 and 2 still load.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { SessionWorkflowInputSchema } from './root-session';
import { MessageSchema, ToolCallSchema } from './session';
import { UsageSchema } from './spend';
import { ContextWindowSchema } from './context-window';

export const CASSETTE_FORMAT = 'bamboo-cassette';
export const CASSETTE_VERSION = 3;

const ModelStepSchema = sharedSchema('cassette.ModelStepSchema', () => z.object({
  kind: z.literal('model'),
  /** `turn`: the call's round in its turn, as the model activity got it (1 at a turn's first call); `call`: its place among the run's model calls (from 0). */
  turn: z.number().int().min(0),
  call: z.number().int().min(0),
  model: z.string(),
  /** The transcript sent, when the history holds it inline; else how many messages it had (read through a query). */
  messages: z.array(MessageSchema).optional(),
  messageCount: z.number().int().min(0),
  tools: z.array(z.string()),
  /** `context`: the model's window as the worker said it (version 3), so a replay summarises where the recording did. */
  response: z.object({ content: z.string(), toolCalls: z.array(ToolCallSchema), usage: UsageSchema, provider: z.string(), context: ContextWindowSchema.optional() }).optional(),
  /** The call failed for good: its failure's message, and its type (version 3: `BambooContextLength` replays as a refusal). */
  failure: z.string().optional(),
  failureType: z.string().optional(),
  /** A refusal for length: the window the provider named, which the session took as its own. */
  failureWindowTokens: z.number().int().positive().optional(),
}));

const ToolStepSchema = sharedSchema('cassette.ToolStepSchema', () => z.object({
  kind: z.literal('tool'),
  call: ToolCallSchema,
  outcome: z.object({ ok: z.boolean(), content: z.string() }).optional(),
  failure: z.string().optional(),
}));

const SpawnStepSchema = sharedSchema('cassette.SpawnStepSchema', () => z.object({
  kind: z.literal('spawn'),
  childSessionId: z.string(),
  title: z.string().optional(),
  model: z.string(),
  /** The child's task as its first run got it (its first user message): how a replay knows which recorded child a new one is. */
  brief: z.string().optional(),
}));

/** A person's (or the expiry's) decision on this session's request, as the session received it. */
const DecisionStepSchema = sharedSchema('cassette.DecisionStepSchema', () => z.object({
  kind: z.literal('decision'),
  /** What was asked (from the session's own request, when its history holds it): a replay applies the decision only to the same request. */
  tool: z.string().optional(),
  argumentsPreview: z.string().optional(),
  question: z.string().optional(),
  decision: z.enum(['approve', 'deny', 'answer']),
  reason: z.string().optional(),
  text: z.string().optional(),
  by: z.enum(['person', 'timeout']),
}));

/** A summary of older turns (version 3): the messages it replaced and what the model wrote. */
const SummaryStepSchema = sharedSchema('cassette.SummaryStepSchema', () => z.object({
  kind: z.literal('summary'),
  summaryId: z.string(),
  replaced: z.array(MessageSchema),
  response: z.object({ summary: z.string(), usage: UsageSchema, provider: z.string(), model: z.string() }).optional(),
  failure: z.string().optional(),
}));

/** A message the user sent the root (signal `userMessage`). */
const MessageStepSchema = sharedSchema('cassette.MessageStepSchema', () => z.object({
  kind: z.literal('message'),
  content: z.string(),
}));

export const CassetteStepSchema = sharedSchema('cassette.CassetteStepSchema', () =>
  z.discriminatedUnion('kind', [ModelStepSchema, ToolStepSchema, SpawnStepSchema, DecisionStepSchema, MessageStepSchema, SummaryStepSchema]),
);
export type CassetteStep = z.infer<typeof CassetteStepSchema>;

export const CassetteSchema = sharedSchema('cassette.CassetteSchema', () => z.object({
  format: z.literal(CASSETTE_FORMAT),
  version: z.union([z.literal(1), z.literal(2), z.literal(CASSETTE_VERSION)]),
  recordedAt: z.iso.datetime(),
  rootSessionId: z.string().min(1),
  /** The root's first run's input (session and options): where a replay starts. */
  start: SessionWorkflowInputSchema.optional(),
  sessions: z.array(
    z.object({
      sessionId: z.string().min(1),
      kind: z.enum(['root', 'child']),
      parentSessionId: z.string().optional(),
      /** Oldest first: follow-up runs and continue-as-new in the order they ran. */
      runs: z.array(
        z.object({
          runId: z.string(),
          startTime: z.iso.datetime(),
          status: z.string(),
          steps: z.array(CassetteStepSchema),
          /** The run's transcript when it closed (or now, if open): a model call's request is its first `messageCount` messages. */
          messages: z.array(MessageSchema).optional(),
        }),
      ),
    }),
  ),
}));
export type Cassette = z.infer<typeof CassetteSchema>;
