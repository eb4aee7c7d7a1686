/**
 * The tool activity: runs one tool call from the worker's registry. Every way a call can end
 * short of an answer is still an answer the model reads (ok: false), not an activity failure:
 * the workflow counts consecutive failures per tool, as the reference does.
 *
 * - A tool's own error → `Error: <message>`.
 * - Past its time limit (120 s, or the tool's shorter `timeoutSecs`) the tool's signal is
 *   aborted and the call answers `Error: tool X timed out after N seconds` at once; the
 *   activity's server-side start-to-close timeout is only a backstop (workflows/activity-options.ts).
 * - A retried attempt means the previous one was cut short (its worker died or stopped
 *   responding) after it may have run the tool: a non-idempotent tool is not run again and
 *   answers "outcome unknown"; an idempotent one runs again.
 * - The worker's tool policy (worker/tools/policy.ts), for the session's scopes: a denied
 *   tool is never run (`Error: tool X is denied by policy`); an `ask` tool runs only with
 *   `approved: true`, which the workflow sends once a person approved the call.
 * Cancellation and the idle watchdog still end the attempt with a failure: they end the run.
 */
import { Context } from '@temporalio/activity';
import { errorMessage, ToolCallInputSchema, type ToolCallInput, type ToolCallOutcome, toolOutcomeUnknownMessage, toolTimedOutMessage } from '../../common';
import { policyFor, scopesOf, toolDeniedMessage, toolNeedsApprovalMessage, type ToolPolicy } from '../tools/policy';
import { toolTimeoutSecs, type ToolContext, type ToolDefinition, type ToolRegistry } from '../tools/types';
import { parseActivityInput } from './input';
import { withProgressWatchdog } from './progress';

/** Reference limits for tool output kept in the transcript. */
const MAX_TOOL_OUTPUT = 256 * 1024;
const KEEP_HEAD = 160 * 1024;
const KEEP_TAIL = 64 * 1024;

export interface ToolActivityDeps {
  tools: ToolRegistry;
  /** Absent: every tool allowed (but `ask_user`). */
  toolPolicy?: ToolPolicy;
}

export function createToolActivities({ tools, toolPolicy }: ToolActivityDeps) {
  return {
    async runTool(request: ToolCallInput): Promise<ToolCallOutcome> {
      const input = parseActivityInput(ToolCallInputSchema, request, 'tool call input');
      const { call } = input;
      const tool = tools.get(call.name);
      if (!tool || input.disabledTools?.includes(call.name)) {
        return { ok: false, content: `Error: unknown tool ${JSON.stringify(call.name)}` };
      }
      const permission = policyFor(toolPolicy, call.name, scopesOf(input));
      if (permission === 'deny') return { ok: false, content: toolDeniedMessage(call.name) };
      if (permission === 'ask' && input.approved !== true) return { ok: false, content: toolNeedsApprovalMessage(call.name) };
      if (Context.current().info.attempt > 1 && !tool.idempotent) {
        return { ok: false, content: toolOutcomeUnknownMessage(call.name) };
      }
      const limitSecs = toolTimeoutSecs(tool);
      const timedOut: ToolCallOutcome = { ok: false, content: toolTimedOutMessage(call.name, limitSecs) };
      return withProgressWatchdog({ phase: `tool ${call.name}`, maxIdleSecs: input.maxIdleSecs, runDeadline: input.runDeadline }, async (progress) => {
        const limit = new AbortController();
        let answered = false;
        const limitReached = new Promise<ToolCallOutcome>((resolve) => limit.signal.addEventListener('abort', () => resolve(timedOut), { once: true }));
        const timer = setTimeout(() => limit.abort(new Error(timedOut.content)), limitSecs * 1000);
        const execution = runOnce(tool, call.arguments, {
          toolCallId: call.id,
          signal: AbortSignal.any([progress.signal, limit.signal]),
          // A tool still running after the call answered (it ignored its signal) reports nothing more.
          progress: (note) => {
            if (!answered) progress.record({ note });
          },
        });
        try {
          const outcome = await Promise.race([execution, limitReached]);
          if (progress.signal.aborted) throw progress.signal.reason; // cancelled or idle: that ends the run
          return !outcome.ok && limit.signal.aborted ? timedOut : outcome;
        } finally {
          answered = true;
          clearTimeout(timer);
        }
      });
    },
  };
}

async function runOnce(tool: ToolDefinition, args: Record<string, unknown>, context: ToolContext): Promise<ToolCallOutcome> {
  try {
    return { ok: true, content: truncateToolOutput(await tool.execute(args, context)) };
  } catch (error) {
    return { ok: false, content: `Error: ${errorMessage(error)}` };
  }
}

export function truncateToolOutput(text: string): string {
  if (text.length <= MAX_TOOL_OUTPUT) return text;
  const cut = text.length - KEEP_HEAD - KEEP_TAIL;
  return `${text.slice(0, KEEP_HEAD)}\n…[${cut} characters truncated]…\n${text.slice(-KEEP_TAIL)}`;
}
