/**
 * Live fragments, shared: one poller per topic (a filter of the list, a tree, a session, the
 * inbox) however many pages show it, ticking while anyone listens and sending a fragment only
 * when it changed. Ten pages on one tree cost Temporal what one does.
 */
export type Send = (html: string) => Promise<void>;

interface Topic {
  render: () => Promise<string>;
  subscribers: Set<Send>;
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

  /** Starts listening: the current fragment at once, then each change. Returns the stop. */
  subscribe(key: string, render: () => Promise<string>, send: Send): () => void {
    let topic = this.topics.get(key);
    if (!topic) {
      topic = { render, subscribers: new Set(), busy: false };
      this.topics.set(key, topic);
      const started = topic;
      started.timer = setInterval(() => void this.tick(started), this.intervalMs);
      started.timer.unref();
      void this.tick(started);
    } else if (topic.last !== undefined) {
      void send(topic.last).catch(() => undefined);
    }
    topic.subscribers.add(send);
    const subscribed = topic;
    return () => {
      subscribed.subscribers.delete(send);
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
      if (html === topic.last) return;
      topic.last = html;
      await Promise.all(
        [...topic.subscribers].map((send) => {
          this.sends += 1;
          return send(html).catch(() => undefined);
        }),
      );
    } catch (error) {
      const html = `<p class="refusal" role="alert">Could not read from Temporal: ${escapeText(String(error))}</p>`;
      if (html !== topic.last) {
        topic.last = html;
        await Promise.all([...topic.subscribers].map((send) => send(html).catch(() => undefined)));
      }
    } finally {
      topic.busy = false;
    }
  }
}

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
