/**
 * AgentEvent: what a session emits while it runs. `type` is the snake_case wire name
 * (reference event names). Durable events carry a sequence number (`seq`).
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';
import { TerminalRunStatusSchema } from './run-status';
import { UsageSchema } from './spend';

const base = sharedSchema('events.base', () => ({ at: z.string() }));

export const AgentEventSchema = sharedSchema('events.AgentEventSchema', () => z.discriminatedUnion('type', [
  z.object({ type: z.literal('token'), content: z.string(), ...base }),
  z.object({ type: z.literal('execution_started'), sessionId: z.string(), runId: z.string(), ...base }),
  z.object({ type: z.literal('tool_start'), toolCallId: z.string(), toolName: z.string(), ...base }),
  z.object({ type: z.literal('tool_complete'), toolCallId: z.string(), toolName: z.string(), ...base }),
  z.object({ type: z.literal('tool_error'), toolCallId: z.string(), toolName: z.string(), error: z.string(), ...base }),
  z.object({ type: z.literal('runner_progress'), message: z.string(), ...base }),
  z.object({ type: z.literal('message_merged'), count: z.number().int(), ...base }),
  z.object({
    type: z.literal('transcript_compacted'),
    messagesCut: z.number().int(),
    messagesDropped: z.number().int(),
    bytesBefore: z.number().int(),
    bytesAfter: z.number().int(),
    ...base,
  }),
  z.object({
    type: z.literal('transcript_summarised'),
    summaryId: z.string(),
    messagesReplaced: z.number().int(),
    /** Estimated tokens of the transcript before and after. */
    tokensBefore: z.number().int(),
    tokensAfter: z.number().int(),
    /** `threshold`: the estimate passed it; `context_length`: the provider refused the call. */
    reason: z.enum(['threshold', 'context_length']),
    ...base,
  }),
  z.object({ type: z.literal('sub_session_started'), childSessionId: z.string(), title: z.string().optional(), ...base }),
  z.object({
    type: z.literal('sub_session_completed'),
    childSessionId: z.string(),
    status: TerminalRunStatusSchema,
    error: z.string().optional(),
    ...base,
  }),
  z.object({ type: z.literal('need_clarification'), question: z.string(), ...base }),
  /** A request for a person raised by this session (docs/architecture.md#approvals-questions-and-steering). */
  z.object({ type: z.literal('request_raised'), requestId: z.string(), kind: z.enum(['tool', 'question']), tool: z.string().optional(), ...base }),
  z.object({ type: z.literal('request_decided'), requestId: z.string(), decision: z.enum(['approve', 'deny', 'answer']), by: z.enum(['person', 'timeout']), ...base }),
  /** A steered message merged at this turn. */
  z.object({ type: z.literal('message_steered'), messageId: z.string(), ...base }),
  z.object({ type: z.literal('complete'), usage: UsageSchema.optional(), ...base }),
  z.object({ type: z.literal('cancelled'), reason: z.string(), ...base }),
  z.object({ type: z.literal('error'), message: z.string(), ...base }),
]));
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentEventType = AgentEvent['type'];

export type SequencedEvent = AgentEvent & { seq: number };

export const EventsQueryInputSchema = sharedSchema('events.EventsQueryInputSchema', () => z.object({ afterSeq: z.number().int().min(0).default(0) }));
export type EventsQueryInput = z.input<typeof EventsQueryInputSchema>;
