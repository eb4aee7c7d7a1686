/**
 * One child run: its input (SpawnJob), its outcome (ChildRunResult) and the
 * notification the parent receives (ChildCompletion). Contract names (docs/architecture.md#domain-model).
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { SessionOptionsSchema } from './options';
import { SessionIdSchema, SessionSchema } from './session';
import { TerminalRunStatusSchema } from './run-status';
import { SpendSchema, UsageSchema } from './spend';
import { CarriedChildrenSchema } from './children';

const nonEmpty = sharedSchema('run.nonEmpty', () => z.string().trim().min(1, 'must be a non-empty string'));

/** The history shape every starter asks for now (SpawnJob.historyShape). */
export const CURRENT_HISTORY_SHAPE = 2 as const;

const spawnJobFields = () => ({
  parentSessionId: SessionIdSchema,
  childSessionId: SessionIdSchema,
  model: nonEmpty.max(200, 'must be at most 200 characters'),
  disabledTools: z.array(z.string()).optional(),
  /** The child snapshot; absent → the run loads the session's previous run result. */
  session: SessionSchema.optional(),
  /**
   * With no `session`: the run whose result holds the snapshot to continue from (the run that
   * last reported to the parent), instead of the newest closed run in visibility.
   */
  snapshotRunId: nonEmpty.max(200, "must be at most 200 characters").optional(),
  /** User messages appended to the snapshot before the run (a follow-up to a finished child). */
  appendMessages: z.array(nonEmpty).optional(),
  /** The spawning session's options; with maxSpawnDepth > the child's depth, the child may spawn too. */
  spawnOptions: SessionOptionsSchema.partial().optional(),
  /**
   * The history the run writes, set by the starter (workflows/child-session.ts, `announce`). 2: the start
   * request carries the search attributes (status `running`), the run upserts once at its end
   * and starts its total-time timer only while it waits for children. Absent: the first shape,
   * kept for the histories recorded with it.
   */
  historyShape: z.literal(CURRENT_HISTORY_SHAPE).optional(),
});

/** A spawn job waiting in a queue: any job but a continuation (a child run carries its queue across continue-as-new). */
export const QueuedSpawnJobSchema = sharedSchema('run.QueuedSpawnJobSchema', () => z.object(spawnJobFields()));

/**
 * Where a child run that continued-as-new mid-loop goes on (internal, set by the run
 * itself): the next round, the loop's counters, and the chain's start — the total-time
 * budget spans every run of the chain.
 */
export const ChildContinuationSchema = sharedSchema('run.ChildContinuationSchema', () => z.object({
  round: z.number().int().min(2).max(10_000),
  toolFailures: z.record(z.string(), z.number().int().min(0)),
  startedAt: z.iso.datetime(),
  usage: UsageSchema,
  /** The chain's own spend so far (model calls), so the run's ledger spans the chain. */
  spend: SpendSchema.optional(),
  lastEventSeq: z.number().int().min(0),
  injected: z.array(nonEmpty),
  /** The run's own children, once it has spawned any: their state, completions seen and spend go on. */
  children: CarriedChildrenSchema.optional(),
  /** Spawns its children queued while it waited to continue (a late report asked for a child's next run). */
  queued: z.array(QueuedSpawnJobSchema).optional(),
}));
export type ChildContinuation = z.infer<typeof ChildContinuationSchema>;

export const SpawnJobSchema = sharedSchema('run.SpawnJobSchema', () => z.object({
  ...spawnJobFields(),
  /** Set only by a run continuing-as-new: the loop goes on from there with `session`. */
  continuation: ChildContinuationSchema.optional(),
}));
export type SpawnJob = z.infer<typeof SpawnJobSchema>;


export const ChildCompletionSchema = sharedSchema('run.ChildCompletionSchema', () => z.object({
  parentSessionId: nonEmpty,
  childSessionId: nonEmpty,
  /** Temporal run id of the child run: with childSessionId, the idempotency key. */
  runId: nonEmpty,
  status: TerminalRunStatusSchema,
  error: z.string().optional(),
  completedAt: z.string(),
  finalResponse: z.string().optional(),
  /** The run's own usage (its model calls). */
  usage: UsageSchema.optional(),
  /** The run's usage with its descendants' (children it spawned, and theirs). */
  subtreeUsage: UsageSchema.optional(),
  /** The run's own spend, and with its descendants': usage, micro-dollar cost, unpriced calls. */
  spend: SpendSchema.optional(),
  subtreeSpend: SpendSchema.optional(),
  /**
   * Messages injected after the run's last turn: appended to its final session unanswered.
   * A parent that sent them starts the child's next run so they get an answer.
   */
  unansweredMessages: z.number().int().min(0).optional(),
}));
export type ChildCompletion = z.infer<typeof ChildCompletionSchema>;

export const ChildRunResultSchema = sharedSchema('run.ChildRunResultSchema', () => z.object({
  parentSessionId: z.string(),
  childSessionId: z.string(),
  status: TerminalRunStatusSchema,
  error: z.string().optional(),
  /** Final snapshot, the next run's input. null only when the session was not found. */
  session: SessionSchema.nullable(),
  /** As in ChildCompletion: a parent that reads the result instead of the report counts them too. */
  spend: SpendSchema.optional(),
  subtreeSpend: SpendSchema.optional(),
}));
export type ChildRunResult = z.infer<typeof ChildRunResultSchema>;

export const InjectMessageSchema = sharedSchema('run.InjectMessageSchema', () => z.object({ content: nonEmpty }));
export type InjectMessage = z.infer<typeof InjectMessageSchema>;
