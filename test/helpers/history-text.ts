import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

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

/** How one activity of a history closed: what a person reads in the Web UI's event list. */
export interface ActivityOutcome {
  outcome: 'completed' | 'failed' | 'timed out' | 'cancelled' | 'open';
  /** The ApplicationFailure type of a failed activity (e.g. `BambooIdleTimeout`). */
  failureType?: string;
  /** The timeout of a timed-out activity (`TIMEOUT_TYPE_HEARTBEAT`, …). */
  timeoutType?: string;
  /** The attempt that closed it (the last one started). */
  attempt: number;
}

/**
 * How each activity of one type closed, in the order scheduled: its outcome, the failure's
 * type or the timeout's kind, and its last attempt. A cause read from history, not from a clock.
 */
export function activityOutcomes(history: unknown, activityType: string): ActivityOutcome[] {
  const events = ((history as { events?: unknown[] | null }).events ?? []) as Record<string, Record<string, unknown> | undefined>[];
  const outcomes = new Map<string, ActivityOutcome>();
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
    if (scheduled?.activityType?.name === activityType) outcomes.set(String(e.eventId), { outcome: 'open', attempt: 0 });
    const started = e.activityTaskStartedEventAttributes;
    if (started && outcomes.has(String(started.scheduledEventId))) outcomes.get(String(started.scheduledEventId))!.attempt = Number(started.attempt ?? 1);
    const closed: [ActivityOutcome['outcome'], Record<string, unknown> | undefined][] = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timed out', e.activityTaskTimedOutEventAttributes],
      ['cancelled', e.activityTaskCanceledEventAttributes],
    ];
    for (const [outcome, attributes] of closed) {
      const entry = attributes && outcomes.get(String(attributes.scheduledEventId));
      if (!entry) continue;
      entry.outcome = outcome;
      const failure = attributes.failure as { applicationFailureInfo?: { type?: string }; timeoutFailureInfo?: { timeoutType?: unknown }; cause?: { timeoutFailureInfo?: { timeoutType?: unknown } } } | undefined;
      if (failure?.applicationFailureInfo?.type) entry.failureType = failure.applicationFailureInfo.type;
      const timeout = failure?.timeoutFailureInfo?.timeoutType ?? failure?.cause?.timeoutFailureInfo?.timeoutType;
      if (timeout !== undefined) entry.timeoutType = typeof timeout === 'number' ? temporal.api.enums.v1.TimeoutType[timeout] : String(timeout);
    }
  }
  return [...outcomes.values()];
}
