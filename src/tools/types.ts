/** A tool the agent loop can call: its spec for the model and how to run it. */
import type { ToolSpec } from '../providers/types';

export interface ToolContext {
  signal: AbortSignal;
  /** Report real progress: resets the idle watchdog and shows in heartbeat details. */
  progress(note: string): void;
}

export interface ToolDefinition {
  spec: ToolSpec;
  /** Returns the text the model reads; throws to report a tool error to the model. */
  execute(args: Record<string, unknown>, context: ToolContext): Promise<string>;
}

export type ToolRegistry = ReadonlyMap<string, ToolDefinition>;

export function createToolRegistry(tools: ToolDefinition[]): ToolRegistry {
  return new Map(tools.map((t) => [t.spec.name, t]));
}
