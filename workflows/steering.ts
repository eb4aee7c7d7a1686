/**
 * The Update `steer`: a message queued into a running session with the injected ones, and a
 * receipt once it is merged at a turn boundary — or once the run ends with it unmerged
 * (`mergedAtTurn: null`; the message is then in the run's final session).
 *
 * A session merges all queued messages at once (agent-loop.ts), so every steer queued when a
 * merge happens is merged at that turn.
 */
import { condition, uuid4 } from '@temporalio/workflow';
import type { SteerReceipt } from '../common';

export class Steering {
  private queued: Omit<SteerReceipt, 'mergedAtTurn'>[] = [];
  private readonly receipts = new Map<string, SteerReceipt>();

  /** Takes a steer (its content goes into the session's injected queue) and waits for its receipt. */
  async accept(enqueue: () => void): Promise<SteerReceipt> {
    const ticket = { messageId: uuid4(), acceptedAt: new Date().toISOString() };
    this.queued.push(ticket);
    enqueue();
    await condition(() => this.receipts.has(ticket.messageId));
    const receipt = this.receipts.get(ticket.messageId)!;
    this.receipts.delete(ticket.messageId);
    return receipt;
  }

  /** The queued messages were merged at `turn`. @returns the ids merged. */
  merged(turn: number): string[] {
    return this.settle(turn);
  }

  /** The run ended with these messages unmerged (they are appended to its final session). */
  ended(): void {
    this.settle(null);
  }

  hasQueued(): boolean {
    return this.queued.length > 0;
  }

  private settle(turn: number | null): string[] {
    const settled = this.queued.splice(0);
    for (const ticket of settled) this.receipts.set(ticket.messageId, { ...ticket, mergedAtTurn: turn });
    return settled.map((t) => t.messageId);
  }
}
