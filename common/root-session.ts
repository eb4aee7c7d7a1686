/**
 * A root session (workflow type `sessionWorkflow`): its input, its result, the user messages
 * it takes, and the state it carries across continue-as-new.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { SessionSchema } from './session';
import { SpawnJobSchema } from './run';
import { RunStatusSchema } from './run-status';
import { SpendSchema } from './spend';
import { SessionOptionsSchema, WaitPolicySchema } from './options';
import { ReservationSchema, TrackedChildSchema } from './children';
import { PendingRequestSchema, RequestClosedSchema } from './requests';

/** State carried across continue-as-new; internal, not a public contract. */
export const CarriedStateSchema = sharedSchema('root-session.CarriedStateSchema', () => z.object({
  children: z.array(TrackedChildSchema),
  queued: z.array(SpawnJobSchema),
  seenCompletions: z.array(z.string()),
  pendingUserMessages: z.array(z.string()),
  waiting: z.object({ policy: WaitPolicySchema, leaseExpiresAt: z.string() }).nullable(),
  lastEventSeq: z.number().int().min(0),
  lastRunStatus: RunStatusSchema.optional(),
  lastRunError: z.string().optional(),
  /** The root's own spend (its turns' model calls), and all its children's reported spend. */
  selfSpend: SpendSchema.optional(),
  childrenSpend: SpendSchema.optional(),
  /** Requests from the tree waiting for a person, and ids already answered or closed (common/requests.ts). */
  pendingRequests: z.array(PendingRequestSchema).optional(),
  closedRequests: z.array(z.string()).optional(),
  /** Of those, the ones that closed unanswered, with why (a later `respond` is refused with it). */
  closedReasons: z.array(RequestClosedSchema).optional(),
  /** Budget charged for child runs that closed without saying what they spent (their whole share). */
  budgetCharged: ReservationSchema.optional(),
}));
export type CarriedState = z.infer<typeof CarriedStateSchema>;

export const SessionWorkflowInputSchema = sharedSchema('root-session.SessionWorkflowInputSchema', () => z.object({
  session: SessionSchema.refine((s) => s.kind === 'root', { message: 'must be kind=root', path: ['kind'] }),
  options: SessionOptionsSchema.optional(),
  carried: CarriedStateSchema.optional(),
}));
export type SessionWorkflowInput = z.input<typeof SessionWorkflowInputSchema>;

export const SessionWorkflowResultSchema = sharedSchema('root-session.SessionWorkflowResultSchema', () => z.object({
  status: z.enum(['idle_expired', 'cancelled']),
  session: SessionSchema,
  children: z.array(z.object({ childSessionId: z.string(), status: RunStatusSchema })),
}));
export type SessionWorkflowResult = z.infer<typeof SessionWorkflowResultSchema>;

export const UserMessageSchema = sharedSchema('root-session.UserMessageSchema', () => z.object({ content: z.string().trim().min(1, 'must be a non-empty string') }));
export type UserMessage = z.infer<typeof UserMessageSchema>;

/**
 * The most characters a message a client sends may have (a user message, an injected one; a
 * steer has the same bound): a run carries the messages queued for it across continue-as-new,
 * in one payload with the rest of its state.
 */
export const MESSAGE_MAX_CHARS = 1_000_000;

/**
 * A message as a client sends it (`send`, `bamboo send`), checked before the signal. The
 * workflows take any message the server delivered — one already in a history must replay as
 * it did — and fold what is queued into the session when they continue-as-new.
 */
export const SentMessageSchema = sharedSchema('root-session.SentMessageSchema', () =>
  z.object({ content: z.string().trim().min(1, 'must be a non-empty string').max(MESSAGE_MAX_CHARS, `must be at most ${MESSAGE_MAX_CHARS} characters`) }),
);
