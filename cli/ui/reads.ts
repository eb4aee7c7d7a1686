/**
 * Every read the tree page makes of Temporal, counted by kind, so that what the page costs the
 * server is measured rather than guessed (`/stats.json`, bench/ui.ts). Visibility lists the
 * tree; queries and describes are made only for what a page shows.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import {
  BambooCostUsd,
  BambooModel,
  BambooParentSessionId,
  BambooPendingRequests,
  BambooRootSessionId,
  treeRunsQuery,
  BambooRunStatus,
  BambooSessionKind,
  BambooTokens,
  eventsQuery,
  readTranscriptPages,
  sessionIdFromWorkflowId,
  sessionWorkflowId,
  stateQuery,
  transcriptQuery,
  usageQuery,
  type Message,
  type SequencedEvent,
  type SessionRunState,
  type SessionUsage,
} from '../../common';

/** One run of a session, as visibility lists it. */
export interface RunRow {
  sessionId: string;
  workflowId: string;
  runId: string;
  kind: 'root' | 'child';
  parentSessionId?: string;
  rootSessionId?: string;
  /**
   * Bamboo's own status (BambooRunStatus); Temporal's execution status when the run closed
   * without saying (terminated, timed out) or never publishes one (searchAttributes `at-start`).
   */
  status: string;
  /** False when the run carries no BambooRunStatus (searchAttributes `at-start`): `status` is Temporal's. */
  statusPublished: boolean;
  executionStatus: string;
  model?: string;
  /** Tokens and cost of the run's subtree, as it last published them (at most once a turn). */
  tokens: number;
  costUsd: number;
  pendingRequests: number;
  startTime: number;
  closeTime?: number;
}

export type ReadKind = 'list' | 'count' | 'query' | 'describe';

/** A read that takes longer gives up: a query waits for a worker, and a session whose worker is gone must not hold the page. */
export const READ_TIMEOUT_MS = 3000;

export class TemporalReads {
  private readonly counted = new Map<ReadKind, number>();

  constructor(
    readonly client: Client,
    readonly namespace: string,
    private readonly timeoutMs = READ_TIMEOUT_MS,
  ) {}

  private bounded<T>(read: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + this.timeoutMs, read);
  }

  /** RPCs made so far, by kind. */
  counts(): Record<ReadKind, number> {
    return { list: this.counted.get('list') ?? 0, count: this.counted.get('count') ?? 0, query: this.counted.get('query') ?? 0, describe: this.counted.get('describe') ?? 0 };
  }

  total(): number {
    return [...this.counted.values()].reduce((a, b) => a + b, 0);
  }

  private count(kind: ReadKind): void {
    this.counted.set(kind, (this.counted.get(kind) ?? 0) + 1);
  }

  /** One page of a visibility query, newest first. */
  async listPage(query: string, pageSize: number, pageToken?: string): Promise<{ runs: RunRow[]; nextPageToken?: string }> {
    this.count('list');
    const response = await this.bounded(() => this.client.workflowService.listWorkflowExecutions({
      namespace: this.namespace,
      query,
      pageSize,
      ...(pageToken ? { nextPageToken: Buffer.from(pageToken, 'base64url') } : {}),
    }));
    const runs = await Promise.all((response.executions ?? []).map(async (raw) => runRow(await executionInfoFromRaw(raw, this.client.options.loadedDataConverter, raw, this.namespace))));
    const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
    return { runs, ...(token ? { nextPageToken: token } : {}) };
  }

  /** Every run of every session of a root's tree (children carry BambooRootSessionId), the root's own too. */
  async treeRuns(rootSessionId: string): Promise<RunRow[]> {
    const query = treeRunsQuery(rootSessionId);
    const runs: RunRow[] = [];
    let token: string | undefined;
    do {
      const page = await this.listPage(query, 1000, token);
      runs.push(...page.runs);
      token = page.nextPageToken;
    } while (token);
    return runs;
  }

  /** The runs of one session (follow-ups and continue-as-new), newest first. */
  async sessionRuns(sessionId: string): Promise<RunRow[]> {
    return (await this.listPage(`WorkflowId = ${quote(sessionWorkflowId(sessionId))}`, 100)).runs;
  }

  async state(sessionId: string): Promise<SessionRunState | undefined> {
    this.count('query');
    return this.bounded(() => this.client.workflow.getHandle(sessionWorkflowId(sessionId)).query(stateQuery)).catch(() => undefined);
  }

  async usage(sessionId: string): Promise<SessionUsage | undefined> {
    this.count('query');
    return this.bounded(() => this.client.workflow.getHandle(sessionWorkflowId(sessionId)).query(usageQuery)).catch(() => undefined);
  }

  async events(sessionId: string, afterSeq: number): Promise<SequencedEvent[]> {
    this.count('query');
    return this.bounded(() => this.client.workflow.getHandle(sessionWorkflowId(sessionId)).query(eventsQuery, { afterSeq })).catch(() => []);
  }

  /** The transcript, read in pages (one query each). */
  async transcript(sessionId: string, messageCount: number): Promise<Message[]> {
    const handle = this.client.workflow.getHandle(sessionWorkflowId(sessionId));
    return readTranscriptPages(messageCount, (page) => {
      this.count('query');
      return this.bounded(() => handle.query(transcriptQuery, page));
    });
  }

  /** A run's description: its summary (a child's title) and its running activities' heartbeat details. */
  async describe(workflowId: string, runId?: string) {
    this.count('describe');
    return this.bounded(() => this.client.workflow.getHandle(workflowId, runId).describe());
  }
}

/** Temporal's execution status in Bamboo's words (`TIMED_OUT` → `timeout`, `CANCELED` → `cancelled`). */
export function temporalStatusWord(executionStatus: string): string {
  return executionStatus.toLowerCase().replace('timed_out', 'timeout').replace(/^canceled$/, 'cancelled');
}

export function quote(value: string): string {
  return JSON.stringify(value);
}

function runRow(info: WorkflowExecutionInfo): RunRow {
  const sa = info.typedSearchAttributes;
  const kind = sa.get(BambooSessionKind) === 'root' || info.type === 'sessionWorkflow' ? 'root' : 'child';
  const bambooStatus = sa.get(BambooRunStatus);
  const executionStatus = info.status.name;
  // A run that closed without saying how (terminated, timed out) still says `running` in its attribute.
  const closedSilently = executionStatus !== 'RUNNING' && executionStatus !== 'COMPLETED' && (bambooStatus === 'running' || bambooStatus === 'pending' || !bambooStatus);
  return {
    sessionId: sessionIdFromWorkflowId(info.workflowId) ?? info.workflowId,
    workflowId: info.workflowId,
    runId: info.runId,
    kind,
    ...(sa.get(BambooParentSessionId) ? { parentSessionId: sa.get(BambooParentSessionId) } : {}),
    ...(sa.get(BambooRootSessionId) ? { rootSessionId: sa.get(BambooRootSessionId) } : {}),
    status: closedSilently || bambooStatus === undefined ? temporalStatusWord(executionStatus) : bambooStatus,
    statusPublished: bambooStatus !== undefined,
    executionStatus,
    ...(sa.get(BambooModel) ? { model: sa.get(BambooModel) } : {}),
    tokens: sa.get(BambooTokens) ?? 0,
    costUsd: sa.get(BambooCostUsd) ?? 0,
    pendingRequests: sa.get(BambooPendingRequests) ?? 0,
    startTime: info.startTime.getTime(),
    ...(info.closeTime ? { closeTime: info.closeTime.getTime() } : {}),
  };
}
