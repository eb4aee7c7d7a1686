/**
 * The provider interface: a provider knows its wire format and nothing about Temporal.
 * The model activity turns its stream into heartbeats and its errors into retry decisions.
 */
import type { Message, ToolCall, ToolSpecInput, Usage } from '../../common';

/** A tool as offered to the model: name, description, JSON Schema of its arguments. */
export type ToolSpec = ToolSpecInput;

export interface ModelRequest {
  model: string;
  messages: readonly Message[];
  tools: readonly ToolSpec[];
  /** Aborted when the activity is cancelled or the idle watchdog fires. */
  signal: AbortSignal;
  /** 1 on the first try; providers may use it (the scripted `[[flaky:N]]` does). */
  attempt: number;
  /** The model's context window where the worker knows it (the scripted provider enforces it; real providers know their own). */
  contextWindowTokens?: number;
  /** `summary`: the call writes a summary of older turns (the scripted provider answers it with a short one). */
  purpose?: 'turn' | 'summary';
}

export type ModelStreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call'; call: ToolCall }
  /** Progress without visible text (e.g. tool-call argument deltas): resets the idle watchdog. */
  | { type: 'progress' }
  | { type: 'usage'; usage: Usage };

export interface ModelProvider {
  readonly name: string;
  /** Model names this provider serves; a session naming one is routed here. */
  readonly models?: readonly string[];
  stream(request: ModelRequest): AsyncIterable<ModelStreamPart>;
}

/** A provider failure that says whether trying again can help. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** `contextLength`: the provider refused the prompt as longer than the model's window (the window, where it said). */
    readonly options: { status?: number; retryAfterMs?: number; contextLength?: { windowTokens?: number } } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
