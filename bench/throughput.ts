/**
 * Child-run throughput and latency, Bamboo against the bare baseline, from server-side
 * history timestamps: parents × children each; runs/s from the first parent start to the
 * last completion delivered; spawn → first activity started; completion sent → delivered
 * to the parent; last completion → parent resumed.
 */
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { sessionWorkflowId } from '../common';
import { eventMs, mapLimit, percentiles, startBenchRoots, untilAllClosed, type HistoryEvent } from './harness';
import type { CpuPerRun, CpuProbe } from './cpu';

export interface ThroughputResult {
  label: string;
  runs: number;
  seconds: number;
  runsPerSec: number;
  eventsPerChild: number;
  spawnToFirstActivityMs: ReturnType<typeof percentiles>;
  completionToParentMs: ReturnType<typeof percentiles>;
  lastCompletionToResumeMs: ReturnType<typeof percentiles>;
  /** From the first start until every child has reported (when a probe was given). */
  cpu?: CpuPerRun;
}

export async function baselineThroughput(client: Client, taskQueue: string, parents: number, children: number, probe?: CpuProbe): Promise<ThroughputResult> {
  const ids = Array.from({ length: parents }, () => `baseline-${randomUUID().slice(0, 8)}`);
  const cpuFrom = probe?.start();
  const handles = await Promise.all(ids.map((workflowId) => client.workflow.start('baselineParentWorkflow', { taskQueue, workflowId, args: [children] })));
  await Promise.all(handles.map((h) => h.result()));
  const cpu = cpuFrom && probe?.perRun(cpuFrom, parents * children);
  const result = await measure(client, 'baseline', ids, (e) => e.workflowExecutionCompletedEventAttributes !== undefined && e.workflowExecutionCompletedEventAttributes !== null);
  return { ...result, cpu };
}

export async function bambooThroughput(client: Client, taskQueue: string, parents: number, children: number, probe?: CpuProbe): Promise<ThroughputResult> {
  const prompt = Array.from({ length: children }, (_, i) => `[[spawn:C${i + 1}|part ${i + 1}]]`).join(' ');
  const ids = Array.from({ length: parents }, () => `bench-${randomUUID().slice(0, 8)}`);
  const cpuFrom = probe?.start();
  await startBenchRoots(client, taskQueue, ids, prompt, Math.max(32, children));
  // Waits on the server's view (visibility and histories), not on queries: a query is a
  // workflow task in Bamboo's worker that the baseline's does not have to answer.
  await untilAllClosed(client, `BambooParentSessionId IN (${ids.map((id) => `'${id}'`).join(', ')})`, parents * children);
  const cpu = cpuFrom && probe?.perRun(cpuFrom, parents * children);
  for (const id of ids) {
    // Resumed: the parent's model call after its children's reports has completed.
    for (;;) {
      const events = (await client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory()).events ?? [];
      if (events.filter((e) => e.activityTaskCompletedEventAttributes).length >= 2) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const result = await measure(client, 'bamboo', ids.map(sessionWorkflowId), (e) => !!e.activityTaskScheduledEventAttributes);
  await Promise.all(ids.map((id) => client.workflow.getHandle(sessionWorkflowId(id)).terminate('bench done')));
  return { ...result, cpu };
}

/**
 * @param isResume the parent's event that marks it resumed after its last child reported
 *   (baseline: it completes; Bamboo: it schedules its next model call).
 */
async function measure(client: Client, label: string, parentIds: string[], isResume: (e: HistoryEvent) => boolean): Promise<ThroughputResult> {
  const spawnToActivity: number[] = [];
  const completionToParent: number[] = [];
  const lastToResume: number[] = [];
  let first = Infinity;
  let last = 0;
  let runs = 0;
  let childEvents = 0;
  for (const parentId of parentIds) {
    const parentEvents = (await client.workflow.getHandle(parentId).fetchHistory()).events ?? [];
    first = Math.min(first, eventMs(parentEvents[0]));
    const spawnedAt = new Map<string, number>();
    for (const e of parentEvents) {
      const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (id) spawnedAt.set(id, eventMs(e));
    }
    const signals = parentEvents.filter((e) => e.workflowExecutionSignaledEventAttributes);
    const deliveredAt = new Map<string, number>();
    for (const e of signals) {
      const payload = e.workflowExecutionSignaledEventAttributes!.input?.payloads?.[0];
      const value = payload?.data ? (JSON.parse(Buffer.from(payload.data).toString()) as string | { childSessionId: string }) : undefined;
      const childWorkflowId = typeof value === 'string' ? value : value ? sessionWorkflowId(value.childSessionId) : undefined;
      if (childWorkflowId) deliveredAt.set(childWorkflowId, eventMs(e));
    }
    const lastSignal = signals.at(-1);
    if (lastSignal) {
      last = Math.max(last, eventMs(lastSignal));
      const resume = parentEvents.find((e) => Number(e.eventId) > Number(lastSignal.eventId) && isResume(e));
      if (resume) lastToResume.push(eventMs(resume) - eventMs(lastSignal));
    }
    await mapLimit([...spawnedAt.keys()], 16, async (childId) => {
      const events = (await client.workflow.getHandle(childId).fetchHistory()).events ?? [];
      childEvents += events.length;
      runs += 1;
      const started = events.find((e) => e.activityTaskStartedEventAttributes);
      if (started) spawnToActivity.push(eventMs(started) - spawnedAt.get(childId)!);
      const sent = events.find((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes);
      const delivered = deliveredAt.get(childId);
      if (sent && delivered !== undefined) completionToParent.push(delivered - eventMs(sent));
    });
  }
  const seconds = (last - first) / 1000;
  return {
    label,
    runs,
    seconds,
    runsPerSec: runs / seconds,
    eventsPerChild: childEvents / runs,
    spawnToFirstActivityMs: percentiles(spawnToActivity),
    completionToParentMs: percentiles(completionToParent),
    lastCompletionToResumeMs: percentiles(lastToResume),
  };
}
