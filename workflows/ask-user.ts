/**
 * `ask_user`: a model asks the person behind the root a question and waits for the answer —
 * a request of kind `question` (person-requests.ts). The worker offers it only where the
 * tool policy allows it (worker/tools/policy.ts: denied unless the configuration names it).
 */
import type { ToolCallOutcome } from '../common/model-turn';
import type { ToolCall } from '../common/session';
import { ASK_USER_TOOL, AskUserArgsSchema } from '../common/workflow-tool-specs';
import type { WorkflowToolset } from './agent-loop';
import type { RunBudget } from './deadline';
import type { PersonRequests } from './person-requests';
import { parseToolArgs } from './spawn-tools';

/** The session's workflow tools with `ask_user` beside them. */
export function withAskUser(tools: WorkflowToolset | undefined, requests: PersonRequests | undefined, budget: RunBudget): WorkflowToolset | undefined {
  if (!requests) return tools;
  return {
    names: [...(tools?.names ?? []), ASK_USER_TOOL],
    handles: (name) => name === ASK_USER_TOOL || (tools?.handles(name) ?? false),
    run: (call, round) => (call.name === ASK_USER_TOOL ? askUser(call, requests, budget) : tools!.run(call, round)),
  };
}

async function askUser(call: ToolCall, requests: PersonRequests, budget: RunBudget): Promise<ToolCallOutcome> {
  const args = parseToolArgs(AskUserArgsSchema, call.arguments, ASK_USER_TOOL);
  if (!args.ok) return { ok: false, content: `Error: ${args.error}` };
  budget.pause(); // a person's time does not count against the run's total budget
  try {
    const decision = await requests.ask({ kind: 'question', question: args.value.question });
    if (decision.decision === 'answer' && decision.text) return { ok: true, content: decision.text };
    return { ok: true, content: `Error: the user did not answer${decision.reason ? `: ${decision.reason}` : ''}` };
  } finally {
    budget.resume();
  }
}
