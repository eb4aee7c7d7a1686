/**
 * A session's whole conversation across summaries, runs and continue-as-new
 * (`bamboo transcript <id> --full`). A summary replaced older messages in the session, but
 * the summary call's input holds them: every run of the session is found (visibility, and
 * each run's continue-as-new link back, in case visibility lags), its history read and decoded
 * through the client's data converter, and each summary opened up where it stands
 * (common/context-window.ts `expandTranscript`).
 */
import type { Client } from '@temporalio/client';
import { expandTranscript, sessionWorkflowId, SUMMARY_METADATA_KEY, type FullTranscriptEntry, type Message, type SummaryInput } from '../common';
import { decoderFor, finalMessages, type Decode, type HistoryEvent } from './cassette';
import { sessionTranscript } from './root-sessions';

export async function fullTranscript(client: Client, sessionId: string): Promise<FullTranscriptEntry[]> {
  const workflowId = sessionWorkflowId(sessionId);
  const latest = await client.workflow.getHandle(workflowId).describe();
  const decode = decoderFor(client);
  const read = async () => {
    const toRead = [latest.runId];
    for await (const run of client.workflow.list({ query: `WorkflowId = ${JSON.stringify(workflowId)}` })) toRead.push(run.runId);
    const seen = new Set<string>();
    const replacedBy = new Map<string, Message[]>();
    let latestEvents: HistoryEvent[] = [];
    const others: HistoryEvent[][] = [];
    while (toRead.length > 0) {
      const runId = toRead.pop()!;
      if (seen.has(runId)) continue;
      seen.add(runId);
      const events = ((await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? []) as HistoryEvent[];
      if (runId === latest.runId) latestEvents = events;
      else others.push(events);
      const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (previous) toRead.push(previous);
      for (const [summaryId, messages] of await summariesIn(events, decode)) replacedBy.set(summaryId, messages);
    }
    return { replacedBy, latestEvents, others };
  };
  const first = await read();
  let { replacedBy } = first;
  const { latestEvents, others } = first;
  const current =
    latest.status.name === 'RUNNING'
      ? await sessionTranscript(client, sessionId)
      : ((await finalMessages(latestEvents, decode)) ?? (await startMessages(latestEvents, decode)) ?? (await newestFinalMessages(others, decode)) ?? []);
  // A summary written between reading the histories and the transcript: read them once more.
  if (current.some((m) => m.metadata?.[SUMMARY_METADATA_KEY] !== undefined && !replacedBy.has(m.metadata[SUMMARY_METADATA_KEY]))) ({ replacedBy } = await read());
  return expandTranscript(current, replacedBy);
}

/** The newest earlier run's final transcript (a follow-up run that was terminated started from it). */
async function newestFinalMessages(runs: HistoryEvent[][], decode: Decode): Promise<Message[] | undefined> {
  const startedAt = (events: HistoryEvent[]) => {
    const seconds = (events[0] as { eventTime?: { seconds?: unknown } } | undefined)?.eventTime?.seconds;
    // Protobuf seconds come as a Long.
    return typeof seconds === 'object' && seconds !== null && 'toNumber' in seconds ? (seconds as { toNumber(): number }).toNumber() : Number(seconds ?? 0);
  };
  for (const events of [...runs].sort((a, b) => startedAt(b) - startedAt(a))) {
    const messages = await finalMessages(events, decode);
    if (messages) return messages;
  }
  return undefined;
}

/** A run that closed without a result (terminated, timed out): the session it started with. */
async function startMessages(events: readonly HistoryEvent[], decode: Decode): Promise<Message[] | undefined> {
  const input = await decode<{ session?: { messages?: Message[] } }>(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads).catch(() => undefined);
  return input?.session?.messages;
}

/** The messages each completed summary call of one run replaced, by summary id. */
async function summariesIn(events: readonly HistoryEvent[], decode: Decode): Promise<Map<string, Message[]>> {
  const scheduled = new Map<string, SummaryInput>();
  const found = new Map<string, Message[]>();
  for (const event of events) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes?.activityType?.name === 'summarizeTranscript') {
      const input = await decode<SummaryInput>(attributes.input?.payloads);
      if (input) scheduled.set(String(event.eventId), input);
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const input = completed && scheduled.get(String(completed.scheduledEventId));
    if (input) found.set(input.summaryId, input.messages);
  }
  return found;
}
