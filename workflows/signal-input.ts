/**
 * A signal cannot answer its sender, so a payload that fails its schema is logged (naming the
 * bad field) and dropped; the session goes on. One place for that rule.
 */
import { log } from '@temporalio/workflow';
import type { z } from 'zod';
import { describeRejected } from '../common/validation';

export function parseSignal<S extends z.ZodType>(schema: S, payload: unknown, signal: string): z.infer<S> | undefined {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  log.warn(`ignored an invalid ${signal} signal`, { error: describeRejected(payload, parsed.error) });
  return undefined;
}
