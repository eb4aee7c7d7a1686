/** `bamboo ls`: sessions from visibility, filtered by Bamboo's search attributes. */
import type { Client } from '@temporalio/client';
import { BambooParentSessionId, BambooRunStatus, BambooSessionKind, BambooTokens, RUN_STATUSES, sessionIdFromWorkflowId } from '../../common';
import { CliError, ExitCode } from '../context';
import { temporalStatusWord } from '../ui/reads';

export interface ListOptions {
  status?: string;
  parent?: string;
  kind?: string;
  limit: number;
}

export interface SessionRow {
  sessionId: string;
  kind: string;
  status: string;
  parentSessionId?: string;
  workflowStatus: string;
  startTime: string;
  /** Tokens the session and its subtree used (BambooTokens), once it has finished a turn. */
  tokens?: number;
}

export function listQuery(options: Omit<ListOptions, 'limit'>): string {
  const clauses = [`WorkflowType IN ("sessionWorkflow", "childSessionWorkflow")`];
  if (options.status) {
    if (!(RUN_STATUSES as readonly string[]).includes(options.status)) throw new CliError(`--status must be one of ${RUN_STATUSES.join(', ')}`, ExitCode.usage);
    clauses.push(`BambooRunStatus = ${quote(options.status)}`);
  }
  if (options.kind) {
    if (options.kind !== 'root' && options.kind !== 'child') throw new CliError('--kind must be root or child', ExitCode.usage);
    clauses.push(`BambooSessionKind = ${quote(options.kind)}`);
  }
  if (options.parent) clauses.push(`BambooParentSessionId = ${quote(options.parent)}`);
  return clauses.join(' AND ');
}

export async function listSessions(client: Client, options: ListOptions): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  for await (const run of client.workflow.list({ query: listQuery(options) })) {
    rows.push({
      sessionId: sessionIdFromWorkflowId(run.workflowId) ?? run.workflowId,
      kind: run.typedSearchAttributes.get(BambooSessionKind) ?? '?',
      // A session started with searchAttributes `at-start` publishes no status: Temporal's says whether it runs.
      status: run.typedSearchAttributes.get(BambooRunStatus) ?? temporalStatusWord(run.status.name),
      parentSessionId: run.typedSearchAttributes.get(BambooParentSessionId),
      workflowStatus: run.status.name,
      startTime: run.startTime.toISOString(),
      tokens: run.typedSearchAttributes.get(BambooTokens),
    });
    if (rows.length >= options.limit) break;
  }
  return rows;
}

function quote(value: string): string {
  if (/["'\\]/.test(value)) throw new CliError(`quotes and backslashes are not allowed in filter values: ${value}`, ExitCode.usage);
  return `"${value}"`;
}
