/** A bounded, sequenced log of a run's events, served by the `events` query. */
import type { AgentEvent, SequencedEvent } from '../common/events';

type EventBody = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'at'> : never) : never;

export class EventLog {
  private readonly items: SequencedEvent[] = [];
  private lastSeq: number;

  /** @param startSeq the last sequence number of a previous run (continue-as-new keeps numbering). */
  constructor(startSeq = 0, private readonly capacity = 500) {
    this.lastSeq = startSeq;
  }

  get lastSequence(): number {
    return this.lastSeq;
  }

  add(event: EventBody): void {
    this.lastSeq += 1;
    this.items.push({ ...event, at: new Date().toISOString(), seq: this.lastSeq } as SequencedEvent);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  after(afterSeq: number): SequencedEvent[] {
    return this.items.filter((e) => e.seq > afterSeq);
  }
}
