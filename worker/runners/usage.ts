/**
 * Usage as an external agent reports it (a subprocess `usage` line, A2A `metadata.usage`):
 * `inputTokens`, `outputTokens` and optional `cachedInputTokens`, or the same in snake_case
 * (`input_tokens`, `output_tokens`, `cached_input_tokens`). Counts are whole numbers ≥ 0;
 * cached input tokens are part of the input tokens, so they may not exceed them.
 */
import { describeZodError, type Usage } from '../../common';
import { z } from 'zod';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const ReportedUsageSchema = z
  .object({
    inputTokens: count.optional(),
    outputTokens: count.optional(),
    cachedInputTokens: count.optional(),
    input_tokens: count.optional(),
    output_tokens: count.optional(),
    cached_input_tokens: count.optional(),
  })
  .transform((u, ctx) => {
    const usage: Usage = { inputTokens: u.inputTokens ?? u.input_tokens ?? -1, outputTokens: u.outputTokens ?? u.output_tokens ?? -1 };
    const cached = u.cachedInputTokens ?? u.cached_input_tokens;
    if (cached !== undefined) usage.cachedInputTokens = cached;
    if (usage.inputTokens < 0) ctx.addIssue({ code: 'custom', path: ['inputTokens'], message: 'is required' });
    if (usage.outputTokens < 0) ctx.addIssue({ code: 'custom', path: ['outputTokens'], message: 'is required' });
    if (cached !== undefined && cached > usage.inputTokens) {
      ctx.addIssue({ code: 'custom', path: ['cachedInputTokens'], message: 'must not exceed inputTokens (cached tokens are part of them)' });
    }
    return usage;
  });

/** The usage in `value`, or why it is not one. */
export function parseReportedUsage(value: unknown): { usage: Usage } | { problem: string } {
  const parsed = ReportedUsageSchema.safeParse(value);
  return parsed.success ? { usage: parsed.data } : { problem: describeZodError(parsed.error) };
}

/** `a − b` field by field, never below 0 (a running total minus what an earlier run counted). */
export function usageSince(total: Usage, before: Usage): Usage {
  const usage: Usage = {
    inputTokens: Math.max(0, total.inputTokens - before.inputTokens),
    outputTokens: Math.max(0, total.outputTokens - before.outputTokens),
  };
  if (total.cachedInputTokens !== undefined) {
    usage.cachedInputTokens = Math.min(usage.inputTokens, Math.max(0, total.cachedInputTokens - (before.cachedInputTokens ?? 0)));
  }
  return usage;
}
