import { ApplicationFailure } from '@temporalio/activity';
import type { z } from 'zod';
import { describeZodError, FailureTypes } from '../../common';

/**
 * Parse an activity input; bad input fails the activity once, non-retryably, naming the field.
 * An activity declares its parameter with its real input type, so the workflow's proxy call is
 * type-checked; `value` must be of the schema's input type, so that declaration and the schema
 * cannot drift apart. It is parsed all the same: what arrives is whatever the payload decoded
 * to (a call from an older workflow version, another client), not what the type promised.
 */
export function parseActivityInput<S extends z.ZodType>(schema: S, value: z.input<S>, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw ApplicationFailure.create({
    message: `invalid ${what}: ${describeZodError(result.error)}`,
    type: FailureTypes.invalidInput,
    nonRetryable: true,
  });
}
