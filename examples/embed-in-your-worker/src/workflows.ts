/**
 * The worker's workflows: yours, and Bamboo's re-exported, so that one bundle holds both.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from './activities';

export * from 'bamboo-engine/workflows';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export const ticketsQuery = defineQuery<number>('tickets');
export const addTicketSignal = defineSignal('addTicket');
export const closeSignal = defineSignal('close');

/** A workflow of your own: counts tickets until it is closed. */
export async function ticketCounter(owner: string): Promise<string> {
  let tickets = 0;
  let closed = false;
  setHandler(ticketsQuery, () => tickets);
  setHandler(addTicketSignal, () => void (tickets += 1));
  setHandler(closeSignal, () => void (closed = true));
  await condition(() => closed);
  return `${await greet(owner)}: ${tickets} tickets`;
}
