/**
 * The Update `steer`: a message queued into a running session with the injected ones, and a
 * receipt once it is merged at a turn boundary — or once the run ends with it unmerged
 * (`mergedAtTurn: null`; the message is then in the run's final session).
 *
 * A session merges all queued messages at once (agent-loop.ts), so every steer queued when a
 * merge happens is merged at that turn. The bookkeeping is plain state (steer-receipts.ts);
 * this adds what only a workflow has: the ticket's id and time, and the wait.
 */
import { condition, uuid4 } from '@temporalio/workflow';
import type { SteerReceipt } from '../common/requests';
import { SteerReceipts } from './steer-receipts';

export class Steering {
  private readonly receipts = new SteerReceipts();

  /** Takes a steer (its content goes into the session's injected queue) and waits for its receipt. */
  async accept(enqueue: () => void): Promise<SteerReceipt> {
    const ticket = { messageId: uuid4(), acceptedAt: new Date().toISOString() };
    this.receipts.accept(ticket);
    enqueue();
    await condition(() => this.receipts.has(ticket.messageId));
    return this.receipts.take(ticket.messageId)!;
  }

  /** The queued messages were merged at `turn`. @returns the ids merged. */
  merged(turn: number): string[] {
    return this.receipts.merged(turn);
  }

  /** The run ended with these messages unmerged (they are appended to its final session). */
  ended(): void {
    this.receipts.ended();
  }

  hasQueued(): boolean {
    return this.receipts.hasQueued();
  }
}
