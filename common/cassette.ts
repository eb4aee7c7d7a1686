/**
 * A cassette: what a session tree asked of the world and what it got back, in order per session
 * and run — each model call (its request where the history holds it, its answer), each tool
 * call and outcome, each spawn — read from the tree's histories (`bamboo cassette export`).
 * Versioned and checked with zod on load; it holds what history holds, and history holds no
 * credential (they are resolved by name inside activities).
 */
import { z } from 'zod';
import { MessageSchema, ToolCallSchema } from './session';
import { UsageSchema } from './spend';

export const CASSETTE_FORMAT = 'bamboo-cassette';
export const CASSETTE_VERSION = 1;

const ModelStepSchema = z.object({
  kind: z.literal('model'),
  /** `turn`: the call's round in its turn, as the model activity got it (1 at a turn's first call); `call`: its place among the run's model calls (from 0). */
  turn: z.number().int().min(0),
  call: z.number().int().min(0),
  model: z.string(),
  /** The transcript sent, when the history holds it inline; else how many messages it had (read through a query). */
  messages: z.array(MessageSchema).optional(),
  messageCount: z.number().int().min(0),
  tools: z.array(z.string()),
  response: z.object({ content: z.string(), toolCalls: z.array(ToolCallSchema), usage: UsageSchema, provider: z.string() }).optional(),
  /** The call failed for good: its failure's message. */
  failure: z.string().optional(),
});

const ToolStepSchema = z.object({
  kind: z.literal('tool'),
  call: ToolCallSchema,
  outcome: z.object({ ok: z.boolean(), content: z.string() }).optional(),
  failure: z.string().optional(),
});

const SpawnStepSchema = z.object({
  kind: z.literal('spawn'),
  childSessionId: z.string(),
  title: z.string().optional(),
  model: z.string(),
});

export const CassetteStepSchema = z.discriminatedUnion('kind', [ModelStepSchema, ToolStepSchema, SpawnStepSchema]);
export type CassetteStep = z.infer<typeof CassetteStepSchema>;

export const CassetteSchema = z.object({
  format: z.literal(CASSETTE_FORMAT),
  version: z.literal(CASSETTE_VERSION),
  recordedAt: z.iso.datetime(),
  rootSessionId: z.string().min(1),
  sessions: z.array(
    z.object({
      sessionId: z.string().min(1),
      kind: z.enum(['root', 'child']),
      parentSessionId: z.string().optional(),
      /** Oldest first: follow-up runs and continue-as-new in the order they ran. */
      runs: z.array(z.object({ runId: z.string(), startTime: z.iso.datetime(), status: z.string(), steps: z.array(CassetteStepSchema) })),
    }),
  ),
});
export type Cassette = z.infer<typeof CassetteSchema>;
