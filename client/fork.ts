/**
 * Forking a session (docs/replay.md#fork): a new root — new ids, a tree of its own — whose
 * transcript is the session's up to the end of turn N, then the next user message (the
 * session's own, or another), answered live: by the session's model or another.
 *
 * A turn is a message the user sent (the first prompt, a `userMessage`) and all that followed
 * until the next one; messages the runtime added (children's reports, injected messages,
 * answers to questions) belong to the turn they came in.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { ANCESTOR_SUBAGENT_TYPES_KEY, BambooModel, toolPolicyScopes, type Message, type Session, type SessionOptionsInput, sessionWorkflowId } from '../common';
import { sessionTranscript, startSession, type SessionHandle } from './root-sessions';

export interface ForkOptions {
  sessionId: string;
  /** Turns kept whole, from 1. */
  atTurn: number;
  /** Another model for the new root (default: the session's). */
  model?: string;
  /** The next user message (default: the session's own next one). */
  prompt?: string;
  taskQueue: string;
}

export interface Fork {
  rootSessionId: string;
  handle: SessionHandle;
  /** Messages copied from the session (the kept turns). */
  copied: number;
  /** The user message the new root answers live. */
  prompt: string;
}

/** Whether a message is one the user sent: the runtime marks every message it adds. */
export function isUserTurn(message: Message): boolean {
  return message.role === 'user' && Object.keys(message.metadata ?? {}).length === 0;
}

/** The messages of turns 1..n, and the message that starts turn n + 1 (if the session has one). */
export function turnsUpTo(messages: readonly Message[], n: number): { kept: Message[]; next?: Message; turns: number } {
  const starts = messages.flatMap((m, i) => (isUserTurn(m) ? [i] : []));
  const end = starts[n] ?? messages.length;
  return { kept: messages.slice(0, end), ...(starts[n] !== undefined ? { next: messages[starts[n]] } : {}), turns: starts.length };
}

export async function forkSession(client: Client, options: ForkOptions): Promise<Fork> {
  if (!Number.isInteger(options.atTurn) || options.atTurn < 1) throw new Error(`--at-turn must be a whole number from 1, got ${options.atTurn}`);
  const messages = await sessionTranscript(client, options.sessionId);
  const { kept, next, turns } = turnsUpTo(messages, options.atTurn);
  if (options.atTurn > turns) throw new Error(`session ${options.sessionId} has ${turns} turns: cannot fork at turn ${options.atTurn}`);
  const prompt = options.prompt ?? next?.content;
  if (prompt === undefined) throw new Error(`session ${options.sessionId} has no turn after turn ${options.atTurn}: give the next message (--prompt-file)`);
  const source = await sourceSession(client, options.sessionId);
  const rootSessionId = `${options.sessionId.slice(0, 160)}-fork-${randomBytes(4).toString('hex')}`;
  const session: Session = {
    id: rootSessionId,
    kind: 'root',
    rootSessionId,
    spawnDepth: 0,
    title: `${source.title ?? options.sessionId} (fork at turn ${options.atTurn})`,
    model: options.model ?? source.model,
    ...(options.model || !source.modelRef ? {} : { modelRef: source.modelRef }),
    // What says how to call the model carries over (not with another model), and the scopes that
    // bound a child's tools bind the fork too (scopes only narrow the policy); the rest of a
    // child's place in its tree does not.
    metadata: {
      ...Object.fromEntries(Object.entries(source.metadata ?? {}).filter(([key]) => (key === 'provider_name' && !options.model) || key === 'reasoning_effort')),
      ...(source.metadata ? forkScopes(source.metadata) : {}),
    },
    messages: [...kept, { id: `fork-${randomBytes(8).toString('hex')}`, role: 'user', content: prompt, createdAt: new Date().toISOString() }],
  };
  const handle = await startSession(client, { session, ...(source.options ? { options: source.options } : {}) }, { taskQueue: options.taskQueue });
  return { rootSessionId, handle, copied: kept.length, prompt };
}

/** The session as its run was started (model, model ref, metadata, a root's options). */
async function sourceSession(client: Client, sessionId: string): Promise<Partial<Session> & { model: string; options?: SessionOptionsInput }> {
  const handle = client.workflow.getHandle(sessionWorkflowId(sessionId));
  const { events } = await handle.fetchHistory();
  const payloads = (events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? undefined) as Payload[] | undefined;
  const input = payloads?.length ? await decodeFromPayloadsAtIndex<{ session?: Session; model?: string; options?: SessionOptionsInput }>(client.options.loadedDataConverter, 0, payloads) : undefined;
  if (input?.session) return { ...input.session, ...(input.options ? { options: input.options } : {}) };
  // A child's follow-up run starts from its last snapshot: its model is on the run.
  const model = input?.model ?? (await handle.describe()).typedSearchAttributes.get(BambooModel);
  if (!model) throw new Error(`cannot read the model of session ${sessionId}: give --model`);
  return { model };
}

/** A fork is a root: its own subagent_type and its ancestors' become its ancestors' scopes. */
function forkScopes(metadata: Record<string, string>): Record<string, string> {
  const scopes = toolPolicyScopes({ metadata });
  return scopes.length > 0 ? { [ANCESTOR_SUBAGENT_TYPES_KEY]: JSON.stringify(scopes) } : {};
}
