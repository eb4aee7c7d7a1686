/**
 * Requests for a person, and steering (docs/architecture.md#approvals-questions-and-steering).
 *
 * A session at any depth that needs a person — a tool call whose policy is `ask`, a question
 * from an agent — raises a request to the root of its tree and waits. The root lists what is
 * pending (`state.pendingRequests`, search attribute `BambooPendingRequests`); a person
 * answers with the Update `respond` on the root, which records the decision once and routes
 * it to the session that waits. `steer` queues a message into a running session and returns
 * a receipt once it is merged at a turn boundary.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { SessionIdSchema } from './session';

const nonEmpty = sharedSchema('requests.nonEmpty', () => z.string().trim().min(1, 'must be a non-empty string'));
const requestId = sharedSchema('requests.requestId', () => z.string().trim().min(1, 'must be a non-empty string').max(200, 'must be at most 200 characters'));

/** A request waiting for a person, as the root lists it. */
export const PendingRequestSchema = sharedSchema('requests.PendingRequestSchema', () => z.object({
  requestId,
  /** The session that waits for the answer (any depth). */
  sessionId: SessionIdSchema,
  /** Its run (the chain's first run id): a run that ends closes its own requests, not a later run's. */
  runId: z.string().max(200).optional(),
  kind: z.enum(['tool', 'question']),
  /** kind `tool`: the tool and its arguments (JSON, cut to ARGUMENTS_PREVIEW_CHARS). */
  tool: z.string().optional(),
  argumentsPreview: z.string().optional(),
  /** kind `question`: what the agent asks. */
  question: z.string().optional(),
  requestedAt: z.iso.datetime(),
  /** Unanswered by then, the request is denied (`requestTimeoutSecs`). */
  expiresAt: z.iso.datetime(),
}));
export type PendingRequest = z.infer<typeof PendingRequestSchema>;

export const ARGUMENTS_PREVIEW_CHARS = 500;

/** The Update `respond`'s argument: approve or deny a tool call, or answer a question. */
export const RespondInputSchema = sharedSchema('requests.RespondInputSchema', () => z.discriminatedUnion('decision', [
  z.object({ requestId, decision: z.literal('approve'), reason: z.string().max(2000).optional() }),
  z.object({ requestId, decision: z.literal('deny'), reason: z.string().max(2000).optional() }),
  z.object({ requestId, decision: z.literal('answer'), text: nonEmpty.max(100_000, 'must be at most 100000 characters') }),
]));
export type RespondInput = z.infer<typeof RespondInputSchema>;

/** What the root sends the waiting session (signal `requestDecided`), and what it records. */
export const RequestDecisionSchema = sharedSchema('requests.RequestDecisionSchema', () => z.object({
  requestId,
  decision: z.enum(['approve', 'deny', 'answer']),
  reason: z.string().optional(),
  text: z.string().optional(),
  decidedAt: z.iso.datetime(),
  /** `person`: through `respond`; `timeout`: nobody answered within `requestTimeoutSecs`. */
  by: z.enum(['person', 'timeout']),
}));
export type RequestDecision = z.infer<typeof RequestDecisionSchema>;

/** The Update `respond`'s result: the decision is recorded (once), and whether it reached the session. */
export interface RespondReceipt {
  requestId: string;
  decision: RequestDecision['decision'];
  recordedAt: string;
  /**
   * True: the session that asked received the decision while it still waited for it, and
   * applies it. False when the waiting session's run had already closed (its request ended
   * with it). A request whose time is up is expired by the root, not by the session, so an
   * answer the root accepts is never overtaken by the expiry (workflows/person-requests.ts).
   */
  delivered: boolean;
}

/** A session tells its root that a request no longer waits (expired, or its run ended). */
export const RequestClosedSchema = sharedSchema('requests.RequestClosedSchema', () => z.object({ requestId, reason: z.string() }));
export type RequestClosed = z.infer<typeof RequestClosedSchema>;

/**
 * A parent tells its root that a child run of its closed without reporting (terminated, timed
 * out): every request that run raised no longer waits. A root learns this of its own children itself.
 */
export const SessionRequestsClosedSchema = sharedSchema('requests.SessionRequestsClosedSchema', () =>
  z.object({ sessionId: SessionIdSchema, runId: z.string().max(200).optional(), reason: z.string() }),
);
export type SessionRequestsClosed = z.infer<typeof SessionRequestsClosedSchema>;

export const SteerInputSchema = sharedSchema('requests.SteerInputSchema', () => z.object({ content: nonEmpty.max(1_000_000, 'must be at most 1000000 characters') }));
export type SteerInput = z.infer<typeof SteerInputSchema>;

/** The Update `steer`'s result, once the message is merged (or the run ended first: `mergedAtTurn: null`). */
export interface SteerReceipt {
  messageId: string;
  acceptedAt: string;
  mergedAtTurn: number | null;
}

/** The texts a model reads for a call a person did not approve. */
export function deniedToolMessage(tool: string, decision: Pick<RequestDecision, 'reason' | 'by'>): string {
  return `Error: the call to ${tool} was denied${decision.reason ? `: ${decision.reason}` : ''}`;
}

/** The reason a session gives its root when its request's time is up (signal `requestClosed`). */
export const REQUEST_EXPIRED = 'expired';

export function requestExpiredReason(timeoutSecs: number): string {
  return `no answer within ${timeoutSecs} seconds (requestTimeoutSecs)`;
}

export const UNKNOWN_REQUEST = (id: string) => `unknown request ${JSON.stringify(id)}`;
export const ALREADY_ANSWERED = (id: string) => `request ${JSON.stringify(id)} was already answered`;
/** A `respond` for a request that closed unanswered (`expired`, or its session stopped waiting). */
export const NO_LONGER_WAITS = (id: string, reason: string) => `request ${JSON.stringify(id)} no longer waits: ${reason}`;
