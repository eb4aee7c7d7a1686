/** A tool the agent loop can call: its spec for the model and how to run it. */
import type { ToolSpec } from '../providers/types';
import { MAX_TOOL_TIMEOUT_SECS } from '../../common';

export interface ToolContext {
  /** Aborted on cancellation, on the idle watchdog, and when the tool's time limit passes. */
  signal: AbortSignal;
  /** Report real progress: resets the idle watchdog and shows in heartbeat details. */
  progress(note: string): void;
  /** The model's id for this call (the same on a retry of it). */
  toolCallId?: string;
}

export interface ToolDefinition {
  spec: ToolSpec;
  /**
   * Whether running the tool twice does no more than running it once. A non-idempotent tool
   * whose worker died mid-call is not run again: the model is told the outcome is unknown.
   * An idempotent one is retried on another worker.
   */
  idempotent: boolean;
  /** The tool's time limit, at most (and by default) the reference's 120 s. */
  timeoutSecs?: number;
  /** Returns the text the model reads; throws to report a tool error to the model. */
  execute(args: Record<string, unknown>, context: ToolContext): Promise<string>;
  /** Why these arguments do not fit the tool's schema (undefined: they do), without running it: a cassette replay asks (worker/replay). */
  validate?(args: Record<string, unknown>): Promise<string | undefined>;
}

export type ToolRegistry = ReadonlyMap<string, ToolDefinition>;

export function createToolRegistry(tools: ToolDefinition[]): ToolRegistry {
  for (const tool of tools) {
    const { timeoutSecs } = tool;
    if (timeoutSecs !== undefined && !(timeoutSecs > 0 && timeoutSecs <= MAX_TOOL_TIMEOUT_SECS)) {
      throw new Error(`tool ${tool.spec.name}: timeoutSecs must be > 0 and at most ${MAX_TOOL_TIMEOUT_SECS}, got ${timeoutSecs}`);
    }
    if (typeof tool.idempotent !== 'boolean') throw new Error(`tool ${tool.spec.name}: idempotent must be true or false`);
  }
  return new Map(tools.map((t) => [t.spec.name, t]));
}

/** The time limit the tool activity enforces for `tool`. */
export function toolTimeoutSecs(tool: ToolDefinition): number {
  return Math.min(tool.timeoutSecs ?? MAX_TOOL_TIMEOUT_SECS, MAX_TOOL_TIMEOUT_SECS);
}
