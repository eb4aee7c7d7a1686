/** Turning zod failures into one readable line that names the bad field. */
import type { z } from 'zod';
import { isUndecodablePayload } from './undecodable';

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(input)'}: ${issue.message}`)
    .join('; ');
}

/** Why `value` was rejected: its undecodable payload if that is what it is, else the zod issues. */
export function describeRejected(value: unknown, error: z.ZodError): string {
  return isUndecodablePayload(value) ? `payload could not be decoded (${value.bambooUndecodablePayload})` : describeZodError(error);
}

/** Parse or throw an Error whose message starts with `what` and names each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new Error(`invalid ${what}: ${describeZodError(result.error)}`);
  return result.data;
}
