/**
 * Temporal Cloud's billable actions, counted on any server (docs/benchmarks.md#billable-actions-per-child-run):
 * from the server's `action` metric (start the dev server with `metricsPort`), and from
 * histories by the billing rules. A test can hold an agent to its cost in actions.
 */
import type { temporal as proto } from '@temporalio/proto';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

/** Actions by type. */
export type ActionCounts = Record<string, number>;

type HistoryEvent = proto.api.history.v1.IHistoryEvent;

/**
 * The server's `action` counters for a namespace, by action type (`grpc_QueryWorkflow`,
 * `command_ScheduleActivityTask`, `grpc_RecordActivityTaskHeartbeat`, …). The server reports
 * them on an interval: read twice, some seconds apart, and take the difference (`actionsBetween`).
 */
export async function scrapeActions(metricsUrl: string, namespace = 'default'): Promise<ActionCounts> {
  const text = await (await fetch(metricsUrl)).text();
  const counts: ActionCounts = {};
  for (const line of text.split('\n')) {
    const match = /^action\{(.*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.namespace !== namespace) continue;
    counts[labels.action_type] = (counts[labels.action_type] ?? 0) + Number(match[2]);
  }
  return counts;
}

/** What was counted between two scrapes, by type (types that did not move are left out). */
export function actionsBetween(before: ActionCounts, after: ActionCounts): ActionCounts {
  const out: ActionCounts = {};
  for (const [type, n] of Object.entries(after)) if (n - (before[type] ?? 0) > 0) out[type] = n - (before[type] ?? 0);
  return out;
}

export function totalActions(counts: ActionCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * The billable actions one history holds, by Temporal Cloud's rules (docs/benchmarks.md): a run
 * started by a client or by continue-as-new (a child's start is its parent's: 2 actions, the
 * intent and the start), an activity scheduled and each retry of it, a timer, a signal (from a
 * client, or sent by a workflow: counted where it was sent), a search-attribute upsert, an
 * update accepted, and every workflow task that records markers (once, however many). Queries
 * and heartbeats are not in history: the server's metric counts them.
 */
export function historyActions(events: readonly HistoryEvent[]): ActionCounts {
  const counts: ActionCounts = {};
  const add = (type: string, n = 1) => (counts[type] = (counts[type] ?? 0) + n);
  let markersThisTask = false;
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        if (!e.workflowExecutionStartedEventAttributes?.parentWorkflowExecution) add('workflow started');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        add('continued as new');
        break;
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        add('child workflow started', 2);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        add('activity');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) add('activity retry', (e.activityTaskStartedEventAttributes!.attempt ?? 1) - 1);
        break;
      case EventType.EVENT_TYPE_TIMER_STARTED:
        add('timer');
        break;
      case EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        add('signal');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        if (!e.workflowExecutionSignaledEventAttributes?.externalWorkflowExecution) add('signal');
        break;
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        // The SDK's TemporalChangeVersion upsert beside a patch marker is not billed.
        const fields = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (fields.some((f) => f !== 'TemporalChangeVersion')) add('search attributes upserted');
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        add('update');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        markersThisTask = false;
        break;
      case EventType.EVENT_TYPE_MARKER_RECORDED:
        if (!markersThisTask) add('markers');
        markersThisTask = true;
        break;
      default:
    }
  }
  return counts;
}

