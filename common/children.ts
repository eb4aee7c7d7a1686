/**
 * A parent's view of one child session — any session that spawns, root or child: what it
 * started, what it heard back, and whether the result is already in its transcript.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { RunStatusSchema } from './run-status';
import { SpendSchema } from './spend';
import { WaitPolicySchema } from './options';

/** A share of the parent's budget held for a child run until it reports (common/budget.ts). */
export const ReservationSchema = sharedSchema('children.ReservationSchema', () => z.object({ tokens: z.number().int().min(0), costMicroUsd: z.number().int().min(0), sessions: z.number().int().min(0) }));

export const TrackedChildSchema = sharedSchema('children.TrackedChildSchema', () => z.object({
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
  /** What the child's runs reported spending, with their descendants (every fresh completion adds). */
  spend: SpendSchema.optional(),
  /** The share of the parent's budget held for its current run (released when it reports). */
  reservation: ReservationSchema.optional(),
  /** Part of the current wait set. */
  awaited: z.boolean(),
  /** Follow-ups for a run that closed before they reached it: they start its next run. */
  pendingMessages: z.array(z.string()).optional(),
}));
export type TrackedChild = z.infer<typeof TrackedChildSchema>;

/**
 * What a child run that continues-as-new carries of its own children (internal): a root's
 * CarriedState without the spawn queue, bounded the same way. A child chooses to continue only
 * with none of its children open or queued (workflows/child-session.ts); a next run a late
 * report queued while it waited to continue goes in ChildContinuation.queued.
 */
export const CarriedChildrenSchema = sharedSchema('children.CarriedChildrenSchema', () => z.object({
  children: z.array(TrackedChildSchema),
  seenCompletions: z.array(z.string()),
  waiting: z.object({ policy: WaitPolicySchema, leaseExpiresAt: z.string() }).nullable(),
  /** Everything its children reported spending, and the budget charged for runs that could not say. */
  childrenSpend: SpendSchema.optional(),
  budgetCharged: ReservationSchema.optional(),
}));
