/**
 * The tools a parent's model uses to run sub-agents, handled in workflow code:
 * `spawn_session` (create and start a child; returns at once with status "queued") and
 * `manage_children` (list | get | send_message | cancel). Argument names follow the reference (docs/architecture.md#spawning-a-child).
 */
import { uuid4 } from '@temporalio/workflow';
import { z } from 'zod';
import type { SessionOptions } from '../common/options';
import type { SpawnJob } from '../common/run';
import type { Session } from '../common/session';
import { childToolPolicyMetadata } from '../common/tool-policy-scopes';
import { describeZodError } from '../common/validation';
import { WATCHDOG_METADATA_KEYS } from '../common/watchdog';
import type { SpawnArgs } from '../common/workflow-tool-specs';
import { newMessage } from './messages';

// The tools' names and argument schemas are part of the contract the model sees: common/workflow-tool-specs.ts.
export { MANAGE_TOOL, ManageArgsSchema, SPAWN_TOOL, SpawnArgsSchema, type ManageArgs, type SpawnArgs } from '../common/workflow-tool-specs';

export function parseToolArgs<S extends z.ZodType>(schema: S, args: unknown, tool: string): { ok: true; value: z.infer<S> } | { ok: false; error: string } {
  const parsed = schema.safeParse(args);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: `invalid ${tool} arguments: ${describeZodError(parsed.error)}` };
}

const CHILD_SYSTEM_PROMPT =
  'You are a child session (a sub-agent) working on one task for a parent session. ' +
  'Do the task in the brief and answer with the result.';
const NO_RECURSIVE_SPAWN = ' Do not spawn further sub-sessions.';

/** The reference's child snapshot: child system prompt, the brief as one user message, metadata. */
export function buildChildJob(parent: Session, args: SpawnArgs, options: SessionOptions): SpawnJob {
  // Parent id + suffix stays within SessionIdSchema's 200 characters.
  const childSessionId = `${parent.id.slice(0, 191)}-${uuid4().slice(0, 8)}`;
  const model = args.model ?? parent.model;
  const brief =
    `Sub-session title: ${args.title}\nResponsibility: ${args.responsibility}\nSubagent type: ${args.subagent_type}\n\n` +
    `Task brief:\n${args.prompt}`;
  const inherited = Object.fromEntries(
    Object.entries(parent.metadata).filter(([key]) => key === 'provider_name' || Object.values(WATCHDOG_METADATA_KEYS).includes(key as never)),
  );
  const session: Session = {
    id: childSessionId,
    kind: 'child',
    parentSessionId: parent.id,
    rootSessionId: parent.rootSessionId,
    spawnDepth: parent.spawnDepth + 1,
    title: args.title,
    model,
    modelRef: args.model ? undefined : parent.modelRef,
    messages: [newMessage('system', CHILD_SYSTEM_PROMPT + (parent.spawnDepth + 1 >= options.maxSpawnDepth ? NO_RECURSIVE_SPAWN : '')), newMessage('user', brief)],
    metadata: {
      ...inherited,
      spawned_by: parent.id,
      subagent_type: args.subagent_type,
      responsibility: args.responsibility,
      assignment_prompt: args.prompt,
      last_run_status: 'pending',
      ...(args.reasoning_effort ? { reasoning_effort: args.reasoning_effort } : {}),
      ...(args.model ? { model_override: 'true' } : {}),
      // The scopes that bound the child's tools besides its own subagent_type: never the model's to choose.
      ...childToolPolicyMetadata(parent),
    },
  };
  return { parentSessionId: parent.id, childSessionId, model, session, spawnOptions: options };
}
