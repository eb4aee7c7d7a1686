/**
 * How a session runs its children: wait policy and lease, the running cap, spawn depth,
 * idle time-to-live, history and transcript budgets. A parent passes them on to the children
 * it spawns. Every number has a maximum that keeps timers and dates valid: a value above it is
 * rejected when the session starts (`invalid session input: options.<field>: must be at most …`).
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { BudgetSchema } from './budget';
import { SNAPSHOT_BUDGET_BYTES } from './compaction';

/** The longest duration option: one year (timers and dates stay far inside their ranges). */
export const MAX_OPTION_SECS = 365 * 24 * 60 * 60;
/** Temporal ends a workflow at 51,200 history events; continuing-as-new must come before. */
export const MAX_HISTORY_EVENT_BUDGET = 50_000;

const seconds = () => z.number().int().positive().max(MAX_OPTION_SECS, `must be at most ${MAX_OPTION_SECS} (1 year)`);

export const WaitPolicySchema = sharedSchema('options.WaitPolicySchema', () => z.enum(['all', 'any', 'first_error']));
export type WaitPolicy = z.infer<typeof WaitPolicySchema>;

/**
 * What a run tells visibility as it goes. `upserted` (the default): its status, tokens and cost
 * are upserted as they change (a child once at its end, a root at each turn's start and end).
 * `at-start`: a run keeps the search attributes it started with (kind, parent, root, model) and
 * upserts no status, tokens or cost, which saves Temporal Cloud one billable action per child
 * run and two per root turn (a root still publishes `BambooPendingRequests` when a request waits,
 * and a follow-up run started without its snapshot its root id); readers then take the status
 * from Temporal's execution status and a child's outcome from its parent
 * (docs/architecture.md#history-shape). A parent passes it to its children.
 */
export const SearchAttributesModeSchema = sharedSchema('options.SearchAttributesModeSchema', () => z.enum(['upserted', 'at-start']));
export type SearchAttributesMode = z.infer<typeof SearchAttributesModeSchema>;

export const SessionOptionsSchema = sharedSchema('options.SessionOptionsSchema', () => z.object({
  /** When the parent resumes after spawning: all children done, any, or the first failure. */
  waitPolicy: WaitPolicySchema.default('all'),
  /** The wait's lease: on expiry the parent resumes; the children keep running. */
  waitLeaseSecs: seconds().default(6 * 60 * 60),
  /** Children running at once; further spawns queue in the parent. */
  maxRunningChildren: z.number().int().positive().max(1000, 'must be at most 1000').default(32),
  /** Deepest spawn depth allowed (root = 0). 1: children cannot spawn, as in the reference. */
  maxSpawnDepth: z.number().int().min(0).max(8, 'must be at most 8').default(1),
  /** An idle session (no turn, no children, no wait) ends after this long. */
  idleTtlSecs: seconds().default(24 * 60 * 60),
  /** Continue-as-new once history has this many events (or when the server suggests it). */
  historyEventBudget: z
    .number()
    .int()
    .min(20)
    .max(MAX_HISTORY_EVENT_BUDGET, `must be at most ${MAX_HISTORY_EVENT_BUDGET} (Temporal ends a workflow at 51,200 history events)`)
    .default(10_000),
  /** Upper bound on how long cancelling the root waits for its children to stop. */
  // Above the 24 s a cancel may take to reach a streaming call (heartbeats at the SDK's pace).
  cancelGraceSecs: seconds().default(30),
  /**
   * A hard cap on each child run's age, enforced by the server (the run's workflow execution
   * timeout) even when no worker is alive; the parent learns the run ended `timeout`. Unset:
   * only the child's own watchdog bounds it.
   */
  childRunTimeoutSecs: seconds().optional(),
  /**
   * A session's JSON is compacted to this many bytes (see compaction.ts): it leaves the
   * workflow as one payload, and Temporal rejects payloads over 2 MB.
   */
  /** A request for a person (an `ask` tool call, an agent's question) unanswered this long is denied. */
  requestTimeoutSecs: seconds().default(24 * 60 * 60),
  /**
   * Limits for the whole tree under this session: tokens, dollars, child runs. A parent
   * passes each child its share (common/budget.ts); unset: no limits.
   */
  budget: BudgetSchema.optional(),
  /** Unset: `upserted`. No default, so the options a parent passes on stay as they were recorded. */
  searchAttributes: SearchAttributesModeSchema.optional(),
  transcriptBudgetBytes: z.number().int().min(16 * 1024).max(1536 * 1024, `must be at most ${1536 * 1024} (1.5 MiB)`).default(SNAPSHOT_BUDGET_BYTES),
}));
export type SessionOptions = z.infer<typeof SessionOptionsSchema>;
export type SessionOptionsInput = z.input<typeof SessionOptionsSchema>;

