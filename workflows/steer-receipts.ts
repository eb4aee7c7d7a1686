/**
 * The receipts of the Update `steer`, as plain state: each accepted steer is queued until the
 * session merges its queued messages at a turn boundary (`merged(turn)`: every steer queued
 * then is merged at that turn), or until the run ends with it unmerged (`ended()`: the receipt
 * says `mergedAtTurn: null`; the message is in the run's final session). A receipt is made
 * once per steer and taken once.
 *
 * No Temporal here: `Steering` (steering.ts) makes the ticket (its id from the workflow's
 * `uuid4`) and waits for the receipt.
 */
import type { SteerReceipt } from '../common/requests';

export type SteerTicket = Omit<SteerReceipt, 'mergedAtTurn'>;

export class SteerReceipts {
  private queued: SteerTicket[] = [];
  private readonly receipts = new Map<string, SteerReceipt>();

  /** A steer accepted: its message joins the session's queue now, and it waits for a receipt. */
  accept(ticket: SteerTicket): void {
    this.queued.push(ticket);
  }

  /** The queued messages were merged at `turn`. @returns the ids merged. */
  merged(turn: number): string[] {
    return this.settle(turn);
  }

  /** The run ended with these messages unmerged (they are appended to its final session). */
  ended(): void {
    this.settle(null);
  }

  /** True while an accepted steer has no receipt yet. */
  hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** Whether the steer's receipt is ready. */
  has(messageId: string): boolean {
    return this.receipts.has(messageId);
  }

  /** Hands the steer's receipt over, once. */
  take(messageId: string): SteerReceipt | undefined {
    const receipt = this.receipts.get(messageId);
    this.receipts.delete(messageId);
    return receipt;
  }

  private settle(turn: number | null): string[] {
    const settled = this.queued.splice(0);
    for (const ticket of settled) this.receipts.set(ticket.messageId, { ...ticket, mergedAtTurn: turn });
    return settled.map((t) => t.messageId);
  }
}
