/**
 * An Update the workflow must refuse: its validator's message is what a person reads, so tests
 * check it exactly. A refused Update fails with `WorkflowUpdateFailedError`, whose `cause`
 * carries the validator's message.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';

/**
 * Awaits `update` and returns the message its validator refused it with. Throws when the Update
 * was accepted, or failed some other way (a closed workflow, a broken connection): a refusal
 * check must not pass on those.
 */
export async function refusalOf(update: Promise<unknown>): Promise<string> {
  let error: unknown;
  try {
    await update;
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error('the Update was accepted; expected its validator to refuse it');
  if (!(error instanceof WorkflowUpdateFailedError)) throw new Error(`the Update failed, but was not refused by its validator: ${String(error)}`, { cause: error });
  return error.cause?.message ?? '';
}
