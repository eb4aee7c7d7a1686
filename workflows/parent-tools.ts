/** The parent's workflow-handled tools, bound to its session and children. */
import type { ToolCallOutcome } from '../common/model-turn';
import type { SessionOptions } from '../common/options';
import type { Session, ToolCall } from '../common/session';
import type { WorkflowToolset } from './agent-loop';
import type { Children } from './children';
import {
  buildChildJob,
  ManageArgsSchema,
  MANAGE_TOOL,
  parseToolArgs,
  SpawnArgsSchema,
  SPAWN_TOOL,
} from './spawn-tools';

export function parentToolset(session: Session, children: Children, options: SessionOptions): WorkflowToolset | undefined {
  if (session.spawnDepth >= options.maxSpawnDepth) return undefined; // depth limit: no spawn tools at all
  return {
    names: [SPAWN_TOOL, MANAGE_TOOL],
    handles: (name) => name === SPAWN_TOOL || name === MANAGE_TOOL,
    run: (call, round) => (call.name === SPAWN_TOOL ? Promise.resolve(spawn(session, children, call, round)) : manage(children, call)),
  };
}

function spawn(session: Session, children: Children, call: ToolCall, round: readonly ToolCall[]): ToolCallOutcome {
  const args = parseToolArgs(SpawnArgsSchema, call.arguments, SPAWN_TOOL);
  if (!args.ok) return { ok: false, content: `Error: ${args.error}` };
  // The round's spawns share what is left evenly with the parent (common/budget.ts).
  const spawns = round.filter((c) => c.name === SPAWN_TOOL);
  const share = children.reserve(Math.max(1, spawns.length - spawns.indexOf(call)));
  // A refusal, not a tool failure: the model reads it and decides; it does not count toward the failure limit.
  if (!share.ok) return { ok: true, content: `Error: ${share.message}` };
  const job = buildChildJob(session, args.value, children.optionsFor(share.childBudget));
  children.enqueue(job, args.value.title, share.reservation);
  return {
    ok: true,
    content: JSON.stringify({
      child_session_id: job.childSessionId,
      parent_session_id: session.id,
      title: args.value.title,
      model: job.model,
      status: 'queued',
    }),
  };
}

async function manage(children: Children, call: ToolCall): Promise<ToolCallOutcome> {
  const args = parseToolArgs(ManageArgsSchema, call.arguments, MANAGE_TOOL);
  if (!args.ok) return { ok: false, content: `Error: ${args.error}` };
  const request = args.value;
  switch (request.action) {
    case 'list':
      return { ok: true, content: JSON.stringify(children.summary()) };
    case 'get':
      return children.describeChild(request.child_session_id);
    case 'send_message':
      return children.sendMessage(request.child_session_id, request.message);
    case 'cancel':
      return children.cancelOne(request.child_session_id);
  }
}
