/**
 * Root sessions and their children: sessionWorkflow's input, options and wait policy.
 */
import { z } from 'zod';
import { SessionSchema } from './session';
import { RunStatusSchema, SpawnJobSchema } from './run';

export const WaitPolicySchema = z.enum(['all', 'any', 'first_error']);
export type WaitPolicy = z.infer<typeof WaitPolicySchema>;

export const SessionOptionsSchema = z.object({
  /** When the parent resumes after spawning: all children done, any, or the first failure. */
  waitPolicy: WaitPolicySchema.default('all'),
  /** The wait's lease: on expiry the parent resumes; the children keep running. */
  waitLeaseSecs: z.number().int().positive().default(6 * 60 * 60),
  /** Children running at once; further spawns queue in the parent. */
  maxRunningChildren: z.number().int().positive().max(1000).default(32),
  /** Deepest spawn depth allowed (root = 0). 1: children cannot spawn, as in the reference. */
  maxSpawnDepth: z.number().int().min(0).max(8).default(1),
  /** An idle session (no turn, no children, no wait) ends after this long. */
  idleTtlSecs: z.number().int().positive().default(24 * 60 * 60),
  /** Continue-as-new once history has this many events (or when the server suggests it). */
  historyEventBudget: z.number().int().min(20).default(10_000),
  /** Upper bound on how long cancelling the root waits for its children to stop. */
  cancelGraceSecs: z.number().int().positive().default(10),
});
export type SessionOptions = z.infer<typeof SessionOptionsSchema>;
export type SessionOptionsInput = z.input<typeof SessionOptionsSchema>;

export const TrackedChildSchema = z.object({
  childSessionId: z.string(),
  title: z.string(),
  model: z.string().optional(),
  status: RunStatusSchema,
  /** Run id of the latest run the parent started or heard from. */
  runId: z.string().optional(),
  error: z.string().optional(),
  finalResponse: z.string().optional(),
  /** Finished, and its result is already in a resume message. */
  reported: z.boolean(),
  /** Part of the current wait set. */
  awaited: z.boolean(),
});
export type TrackedChild = z.infer<typeof TrackedChildSchema>;

/** State carried across continue-as-new; internal, not a public contract. */
export const CarriedStateSchema = z.object({
  children: z.array(TrackedChildSchema),
  queued: z.array(SpawnJobSchema),
  seenCompletions: z.array(z.string()),
  pendingUserMessages: z.array(z.string()),
  waiting: z.object({ policy: WaitPolicySchema, leaseExpiresAt: z.string() }).nullable(),
  lastEventSeq: z.number().int().min(0),
  lastRunStatus: RunStatusSchema.optional(),
  lastRunError: z.string().optional(),
});
export type CarriedState = z.infer<typeof CarriedStateSchema>;

export const SessionWorkflowInputSchema = z.object({
  session: SessionSchema.refine((s) => s.kind === 'root', { message: 'must be kind=root', path: ['kind'] }),
  options: SessionOptionsSchema.optional(),
  carried: CarriedStateSchema.optional(),
});
export type SessionWorkflowInput = z.input<typeof SessionWorkflowInputSchema>;

export const SessionWorkflowResultSchema = z.object({
  status: z.enum(['idle_expired', 'cancelled']),
  session: SessionSchema,
  children: z.array(z.object({ childSessionId: z.string(), status: RunStatusSchema })),
});
export type SessionWorkflowResult = z.infer<typeof SessionWorkflowResultSchema>;

export const UserMessageSchema = z.object({ content: z.string().trim().min(1, 'must be a non-empty string') });
export type UserMessage = z.infer<typeof UserMessageSchema>;
