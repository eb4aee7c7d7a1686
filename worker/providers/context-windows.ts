/**
 * Models' context windows and how sessions are summarised to stay within them
 * (common/context-window.ts; docs/configuration.md#context-windows-and-summaries).
 *
 * A window is looked up like a price: `<provider>/<model>`, then `<model>`, then the defaults
 * below for models we know (by name prefix). A model with none has no proactive summaries; a
 * provider's context-length refusal still triggers one.
 */
import { z } from 'zod';
import type { ContextWindow, ModelRef } from '../../common';

export const ModelSettingsSchema = z.record(
  z.string().min(1),
  z.strictObject({
    contextWindowTokens: z.number().int().min(256),
    /** Summarise before a call estimated past this share of the window. */
    compactAtPercent: z.number().int().min(10).max(95).optional(),
  }),
);
export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

export const DEFAULT_SUMMARY_PROMPT = [
  'You are compacting a conversation between a user and an AI agent that is nearing the model\'s context window.',
  'Write a summary that lets the agent continue without the original messages: the task and every requirement as stated,',
  'decisions made and why, facts learned from tools (names, paths, values, errors), what was done, and what remains to do.',
  'Be specific and brief; keep identifiers exactly as written. Write only the summary.',
].join(' ');

export const CompactionSettingsSchema = z.strictObject({
  /** `<provider>/<model>` that writes summaries; default: the session's own model. */
  model: z.string().regex(/^[^/]+\/.+$/, 'must be <provider>/<model>').optional(),
  /** The summary call's instructions (its system message). */
  prompt: z.string().min(1).default(DEFAULT_SUMMARY_PROMPT),
  /** Default threshold for models that set none. */
  compactAtPercent: z.number().int().min(10).max(95).default(80),
  /** How much of the window the most recent turns may keep whole. */
  keepRecentPercent: z.number().int().min(5).max(60).default(25),
});
export type CompactionSettings = z.infer<typeof CompactionSettingsSchema>;

/** Windows of models we know, by name prefix (longest prefix wins). A configured entry overrides. */
const KNOWN_WINDOWS: [prefix: string, tokens: number][] = [
  ['gpt-4.1', 1_047_576],
  ['gpt-4o', 128_000],
  ['gpt-4-turbo', 128_000],
  ['gpt-4.5', 128_000],
  ['gpt-4-32k', 32_768],
  ['gpt-4', 8_192],
  ['gpt-3.5-turbo', 16_385],
  ['gpt-5', 400_000],
  ['o1', 200_000],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['claude-', 200_000],
  ['gemini-1.5', 1_048_576],
  ['gemini-2', 1_048_576],
  ['llama3.1', 128_000],
  ['llama3.2', 128_000],
  ['llama3.3', 128_000],
  ['llama3', 8_192],
  ['mistral-large', 128_000],
  ['qwen2.5', 32_768],
];

function knownWindow(model: string): number | undefined {
  let best: [string, number] | undefined;
  for (const entry of KNOWN_WINDOWS) if (model.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  return best?.[1];
}

export interface ContextWindows {
  /** The routed model's window and thresholds; undefined: unknown. */
  of(model: string, provider?: string): ContextWindow | undefined;
  /** Who writes summaries, and how. */
  readonly summary: { modelRef?: ModelRef; prompt: string };
}

export function createContextWindows(models: ModelSettings = {}, compaction: Partial<CompactionSettings> = {}): ContextWindows {
  const settings = CompactionSettingsSchema.parse(compaction);
  const own = (key: string) => (Object.hasOwn(models, key) ? models[key] : undefined);
  const [provider, ...rest] = settings.model?.split('/') ?? [];
  return {
    of(model, routedProvider) {
      const entry = (routedProvider !== undefined ? own(`${routedProvider}/${model}`) : undefined) ?? own(model);
      const windowTokens = entry?.contextWindowTokens ?? knownWindow(model);
      if (!windowTokens) return undefined;
      const percent = entry?.compactAtPercent ?? settings.compactAtPercent;
      return {
        windowTokens,
        compactAtTokens: Math.max(1, Math.floor((windowTokens * percent) / 100)),
        keepTokens: Math.max(1, Math.floor((windowTokens * settings.keepRecentPercent) / 100)),
      };
    },
    summary: { ...(settings.model ? { modelRef: { provider, model: rest.join('/') } } : {}), prompt: settings.prompt },
  };
}
