/**
 * The transcripts this worker's model calls read, kept so the next call of the same run needs
 * no `transcript` query (each query is a billable action on Temporal Cloud): the workflow sends
 * the messages added since its previous call and the digest of the whole; a cached copy of the
 * previous transcript plus those messages is used only when its digest matches. Anything else
 * (another worker ran the previous call, the session was compacted between calls, the cache
 * evicted the run) reads through the query, as before. Bounded by entries and by bytes of JSON
 * (the objects take a few times that in the heap).
 */
import { transcriptDigest, type Message, type TranscriptRef } from '../../common';

interface Entry {
  count: number;
  digest: string;
  bytes: number;
  messages: Message[];
}

export interface TranscriptCacheStats {
  hits: number;
  misses: number;
}

export class TranscriptCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  readonly stats: TranscriptCacheStats = { hits: 0, misses: 0 };

  constructor(private readonly limits: { maxEntries: number; maxBytes: number } = { maxEntries: 512, maxBytes: 64 * 1024 * 1024 }) {}

  /** The transcript `ref` names: assembled from the cache when it can be, else read with `query`. */
  async read(ref: TranscriptRef, query: () => Promise<Message[]>): Promise<Message[]> {
    const key = `${ref.workflowId}/${ref.runId}`;
    const cached = ref.digest ? this.assemble(key, ref) : undefined;
    if (cached) {
      this.stats.hits += 1;
      return cached;
    }
    this.stats.misses += 1;
    const messages = await query();
    this.keep(key, messages, ref.digest);
    return messages;
  }

  /** A transcript a call received inline: the next call of its run may build on it. */
  keepInline(workflowId: string, runId: string, messages: Message[]): void {
    this.keep(`${workflowId}/${runId}`, messages);
  }

  private assemble(key: string, ref: TranscriptRef): Message[] | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // A retried attempt asks again for what the first attempt read (checked again: a provider
    // may have changed what it was handed).
    if (entry.count === ref.messageCount && entry.digest === ref.digest) {
      return transcriptDigest(entry.messages) === ref.digest ? structuredClone(this.touch(key, entry).messages) : undefined;
    }
    if (ref.since === undefined || !ref.tail || entry.count !== ref.since || ref.since + ref.tail.length !== ref.messageCount) return undefined;
    const messages = [...entry.messages, ...structuredClone(ref.tail)];
    if (transcriptDigest(messages) !== ref.digest) return undefined;
    this.store(key, { count: messages.length, digest: ref.digest!, bytes: entry.bytes + JSON.stringify(ref.tail).length, messages });
    return structuredClone(messages);
  }

  private keep(key: string, messages: Message[], expected?: string): void {
    const digest = transcriptDigest(messages);
    if (expected && digest !== expected) return this.drop(key); // not what the workflow meant: keep nothing
    // Its own copy: a provider may change what it is handed, and the next call must not see that.
    this.store(key, { count: messages.length, digest, bytes: JSON.stringify(messages).length, messages: structuredClone(messages) });
  }

  private store(key: string, entry: Entry): void {
    this.drop(key);
    if (entry.bytes > this.limits.maxBytes) return;
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.bytes;
    }
  }

  private touch(key: string, entry: Entry): Entry {
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
