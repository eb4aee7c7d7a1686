/**
 * The tool activity: runs one tool call from the worker's registry. A tool's own failure
 * is an answer the model reads (ok: false), not an activity failure: the workflow counts
 * consecutive failures per tool, as the reference does.
 */
import { ToolCallInputSchema, type ToolCallOutcome } from '../src/domain';
import type { ToolRegistry } from '../src/tools/types';
import { parseActivityInput } from './input';
import { withProgressWatchdog } from './progress';

/** Reference limits for tool output kept in the transcript. */
const MAX_TOOL_OUTPUT = 256 * 1024;
const KEEP_HEAD = 160 * 1024;
const KEEP_TAIL = 64 * 1024;

export function createToolActivities({ tools }: { tools: ToolRegistry }) {
  return {
    async runTool(rawInput: unknown): Promise<ToolCallOutcome> {
      const input = parseActivityInput(ToolCallInputSchema, rawInput, 'tool call input');
      const { call } = input;
      const tool = tools.get(call.name);
      if (!tool || input.disabledTools?.includes(call.name)) {
        return { ok: false, content: `Error: unknown tool ${JSON.stringify(call.name)}` };
      }
      return withProgressWatchdog({ phase: `tool ${call.name}`, maxIdleSecs: input.maxIdleSecs }, async (progress) => {
        try {
          const output = await tool.execute(call.arguments, {
            signal: progress.signal,
            progress: (note) => progress.record({ note }),
          });
          return { ok: true, content: truncateToolOutput(output) };
        } catch (error) {
          if (progress.signal.aborted) throw error;
          return { ok: false, content: `Error: ${error instanceof Error ? error.message : String(error)}` };
        }
      });
    },
  };
}

export function truncateToolOutput(text: string): string {
  if (text.length <= MAX_TOOL_OUTPUT) return text;
  const cut = text.length - KEEP_HEAD - KEEP_TAIL;
  return `${text.slice(0, KEEP_HEAD)}\n…[${cut} characters truncated]…\n${text.slice(-KEEP_TAIL)}`;
}
