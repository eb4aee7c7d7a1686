import { defaultPayloadConverter } from '@temporalio/common';

/** All of a history as searchable text: its JSON plus every payload decoded from base64. */
export function historyText(history: unknown): string {
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'data' && typeof inner === 'string') decoded.push(Buffer.from(inner, 'base64').toString('utf8'));
        else if (key === 'data' && inner instanceof Uint8Array) decoded.push(Buffer.from(inner).toString('utf8'));
        else walk(inner);
      }
    }
  };
  walk(history);
  return `${JSON.stringify(history)}\n${decoded.join('\n')}`;
}

/** The bits of an exported workflow history that `activityResults` reads. */
interface HistoryLike {
  events?: {
    eventId?: unknown;
    activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
    activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; result?: { payloads?: unknown[] | null } | null } | null;
  }[] | null;
}

/**
 * The results of a workflow's completed activities of one type (`callModel`,
 * `runExternalChild`), in order, decoded from its history (`handle.fetchHistory()`).
 */
export function activityResults<T>(history: HistoryLike, activityType: string): T[] {
  const events = history.events ?? [];
  const scheduled = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((e) => String(e.eventId)),
  );
  return events.flatMap((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    const payload = done?.result?.payloads?.[0];
    if (!done || !scheduled.has(String(done.scheduledEventId)) || !payload) return [];
    return [defaultPayloadConverter.fromPayload<T>(payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0])];
  });
}

/**
 * The attempt that started each activity of one type, in order (an attempt above 1: the
 * activity was retried — its worker died, or it failed retryably).
 */
export function activityTaskAttempts(history: unknown, activityType: string): number[] {
  const events = (history as { events?: Record<string, unknown>[] | null }).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => (e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined)?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events.flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes as { scheduledEventId?: unknown; attempt?: number } | undefined;
    return started && scheduled.has(String(started.scheduledEventId)) ? [started.attempt ?? 1] : [];
  });
}
