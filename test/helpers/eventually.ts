/**
 * Waiting in a test for something that happens eventually (a query's answer, a line of
 * output, a process gone): the one polling loop of every suite.
 */
import { errorMessage } from '../../common';
import { sleep } from '../../worker/sleep';

export interface EventuallyOptions {
  /** How long to keep checking (default 30 s). */
  timeoutMs?: number;
  /** The pause between two checks (default 200 ms). */
  intervalMs?: number;
  /** What is awaited, for the message of a timeout. */
  what?: string;
}

/**
 * A check answers with its value once ready; `undefined` or `false` means not yet, and so does
 * a throw (the server or a worker may be restarting): its error is named if time runs out.
 */
export type Check<T> = () => Promise<T | undefined | false>;

/**
 * Checks until `check` answers with a value and returns it. The first check runs at once, the
 * last one at the deadline. Throws, naming `what` and the last check's error, if no value came
 * within `timeoutMs`.
 */
export async function eventually<T>(check: Check<T>, options: EventuallyOptions = {}): Promise<T> {
  const outcome = await poll(check, options);
  if ('value' in outcome) return outcome.value;
  const { timeoutMs = DEFAULT_TIMEOUT_MS, what = 'condition' } = options;
  const cause = outcome.lastError === undefined ? '' : `: ${errorMessage(outcome.lastError, { causes: 3 })}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

/**
 * The same loop for a test that reports instead of failing (the reliability suite counts what
 * never came): the value, or `undefined` once `timeoutMs` has passed. Never throws.
 */
export async function eventuallyOrUndefined<T>(check: Check<T>, options: EventuallyOptions = {}): Promise<T | undefined> {
  const outcome = await poll(check, options);
  return 'value' in outcome ? outcome.value : undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_INTERVAL_MS = 200;

async function poll<T>(check: Check<T>, options: EventuallyOptions): Promise<{ value: T } | { lastError: unknown }> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = DEFAULT_INTERVAL_MS } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError: unknown;
    try {
      const value = await check();
      if (value !== undefined && value !== false) return { value };
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) return { lastError };
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
