import { ApplicationFailure } from '@temporalio/activity';
import type { z } from 'zod';
import { describeZodError, FailureTypes } from '../common';

/** Parse an activity input; bad input fails the activity once, non-retryably, naming the field. */
export function parseActivityInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw ApplicationFailure.create({
    message: `invalid ${what}: ${describeZodError(result.error)}`,
    type: FailureTypes.invalidInput,
    nonRetryable: true,
  });
}
