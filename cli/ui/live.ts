/**
 * Live fragments, shared: one poller per topic (a filter of the list, a tree, a session, the
 * inbox) however many pages show it, ticking while anyone listens and sending a fragment only
 * when it changed. Ten pages on one tree cost Temporal what one does.
 */
export type Send = (html: string) => Promise<void>;

/** A listener: a write in flight holds only the latest fragment behind it; one stuck longer than STALL_MS is dropped. */
interface Subscriber {
  send: Send;
  drop: () => void;
  writing?: number;
  next?: string;
}

const STALL_MS = 10_000;

interface Topic {
  render: () => Promise<string>;
  subscribers: Set<Subscriber>;
  last?: string;
  timer?: NodeJS.Timeout;
  busy: boolean;
}

export class LiveHub {
  private readonly topics = new Map<string, Topic>();
  /** Fragments rendered and sent, for /stats.json. */
  renders = 0;
  sends = 0;

  constructor(private readonly intervalMs = 1000) {}

  /**
   * Starts listening: the current fragment at once, then each change. `drop` ends the listener's
   * stream (it stopped reading). Returns the stop.
   */
  subscribe(key: string, render: () => Promise<string>, send: Send, drop: () => void = () => undefined): () => void {
    let topic = this.topics.get(key);
    const subscriber: Subscriber = { send, drop };
    if (!topic) {
      topic = { render, subscribers: new Set(), busy: false };
      this.topics.set(key, topic);
      const started = topic;
      started.timer = setInterval(() => void this.tick(started), this.intervalMs);
      started.timer.unref();
      void this.tick(started);
    } else if (topic.last !== undefined) {
      this.deliver(subscriber, topic.last);
    }
    topic.subscribers.add(subscriber);
    const subscribed = topic;
    return () => {
      subscribed.subscribers.delete(subscriber);
      if (subscribed.subscribers.size > 0) return;
      clearInterval(subscribed.timer);
      if (this.topics.get(key) === subscribed) this.topics.delete(key);
    };
  }

  /** Topics being polled and their listeners. */
  stats(): { topics: number; subscribers: number } {
    return { topics: this.topics.size, subscribers: [...this.topics.values()].reduce((n, t) => n + t.subscribers.size, 0) };
  }

  close(): void {
    for (const topic of this.topics.values()) clearInterval(topic.timer);
    this.topics.clear();
  }

  private async tick(topic: Topic): Promise<void> {
    if (topic.busy) return; // a slow server: skip a tick rather than pile up reads
    topic.busy = true;
    try {
      const html = await topic.render();
      this.renders += 1;
      this.publish(topic, html);
    } catch (error) {
      this.publish(topic, `<p class="refusal" role="alert">Could not read from Temporal: ${escapeText(String(error))}</p>`);
    } finally {
      topic.busy = false;
    }
  }

  /** A change goes to every listener without waiting for any: a slow reader never holds the others up. */
  private publish(topic: Topic, html: string): void {
    if (html === topic.last) return;
    topic.last = html;
    for (const subscriber of [...topic.subscribers]) {
      if (subscriber.writing !== undefined && Date.now() - subscriber.writing > STALL_MS) {
        topic.subscribers.delete(subscriber);
        subscriber.drop();
        continue;
      }
      this.deliver(subscriber, html);
    }
  }

  private deliver(subscriber: Subscriber, html: string): void {
    if (subscriber.writing !== undefined) {
      subscriber.next = html; // only the latest waits behind a write in flight
      return;
    }
    subscriber.writing = Date.now();
    this.sends += 1;
    void subscriber
      .send(html)
      .catch(() => undefined)
      .finally(() => {
        subscriber.writing = undefined;
        const next = subscriber.next;
        subscriber.next = undefined;
        if (next !== undefined) this.deliver(subscriber, next);
      });
  }
}

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
