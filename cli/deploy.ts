/**
 * Deploying under running sessions (docs/operations.md#deploying-under-running-sessions): the
 * replay gate over the open runs a new build would take, and thin wrappers over Temporal's
 * worker deployment API (which version is current, which ramps, what runs on each).
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { WORKFLOW_INTERCEPTOR_MODULES, workerDataConverter } from '../worker/codec/worker-data-converter';

type History = temporal.api.history.v1.IHistory;

export const SESSION_WORKFLOW_TYPES = ['sessionWorkflow', 'childSessionWorkflow'] as const;

/** The open runs of Bamboo's workflow types, optionally narrowed by more visibility (e.g. a deployment version). */
export function openRunsQuery(extra?: string): string {
  const types = SESSION_WORKFLOW_TYPES.map((t) => `WorkflowType = '${t}'`).join(' OR ');
  return `ExecutionStatus = 'Running' AND (${types})${extra ? ` AND (${extra})` : ''}`;
}

export interface DeployCheckOptions {
  /** The new build's workflows: a prebuilt bundle (`npm run bundle-workflows`) or a workflows module. */
  bundlePath?: string;
  workflowsPath?: string;
  dataConverter?: DataConverter;
  /** More visibility to narrow the runs checked. */
  query?: string;
  /** Histories downloaded at once. */
  concurrency?: number;
  /** Stop after this many runs. */
  limit?: number;
}

export interface DeployCheckFailure {
  sessionWorkflowId: string;
  runId: string;
  workflowType: string;
  /** The SDK's words: the first event the new code does not match. */
  error: string;
}

export interface DeployCheckReport {
  checked: number;
  failures: DeployCheckFailure[];
  /** Listing, downloading and replaying, in milliseconds. */
  ms: number;
}

/** Replays every open session run's history (paged through visibility) against the new build's workflows. */
export async function checkOpenRuns(client: Client, options: DeployCheckOptions): Promise<DeployCheckReport> {
  const started = Date.now();
  const concurrency = options.concurrency ?? 8;
  const runs = new Map<string, { workflowId: string; runId: string; type: string }>();
  let checked = 0;
  async function* histories(): AsyncGenerator<{ workflowId: string; history: History }> {
    let batch: { workflowId: string; runId: string; type: string }[] = [];
    const flush = async function* () {
      const fetched = await Promise.all(batch.map(async (run) => ({ run, history: await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory() })));
      batch = [];
      for (const { run, history } of fetched) {
        // The replay names a history by its id: one per run.
        const key = `${run.workflowId}#${run.runId}`;
        runs.set(key, run);
        checked += 1;
        yield { workflowId: key, history };
      }
    };
    for await (const info of client.workflow.list({ query: openRunsQuery(options.query) })) {
      if (options.limit !== undefined && checked + batch.length >= options.limit) break;
      batch.push({ workflowId: info.workflowId, runId: info.runId, type: info.type });
      if (batch.length >= concurrency) yield* flush();
    }
    yield* flush();
  }
  const failures: DeployCheckFailure[] = [];
  const code = options.bundlePath ? { workflowBundle: { codePath: options.bundlePath } } : { workflowsPath: options.workflowsPath, interceptors: { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] } };
  for await (const result of Worker.runReplayHistories({ ...code, dataConverter: workerDataConverter(options.dataConverter) }, histories())) {
    if (!result.error) continue;
    const run = runs.get(result.workflowId)!;
    failures.push({ sessionWorkflowId: run.workflowId, runId: run.runId, workflowType: run.type, error: result.error.message });
  }
  return { checked, failures, ms: Date.now() - started };
}

export interface DeploymentStatus {
  deploymentName: string;
  current?: string;
  ramping?: { buildId: string; percentage: number };
  versions: { buildId: string; status: string; createdAt?: string; openRuns: Record<(typeof SESSION_WORKFLOW_TYPES)[number], number> }[];
}

/** The deployment's versions, which is current and which ramps, and each version's open runs by workflow type. */
export async function deploymentStatus(client: Client, deploymentName: string): Promise<DeploymentStatus> {
  const { workerDeploymentInfo: info } = await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName });
  const routing = info?.routingConfig;
  const versions = await Promise.all(
    (info?.versionSummaries ?? []).map(async (v) => {
      const buildId = v.deploymentVersion?.buildId ?? v.version ?? '';
      const counts = await Promise.all(
        SESSION_WORKFLOW_TYPES.map(async (type) => {
          const version = `${deploymentName}:${buildId}`.replaceAll("'", "\\'");
          const query = `ExecutionStatus = 'Running' AND WorkflowType = '${type}' AND TemporalWorkerDeploymentVersion = '${version}'`;
          return [type, (await client.workflow.count(query)).count] as const;
        }),
      );
      return {
        buildId,
        status: versionStatus(v.status),
        ...(v.createTime?.seconds ? { createdAt: new Date(Number(v.createTime.seconds) * 1000).toISOString() } : {}),
        openRuns: Object.fromEntries(counts) as Record<(typeof SESSION_WORKFLOW_TYPES)[number], number>,
      };
    }),
  );
  const current = routing?.currentDeploymentVersion?.buildId ?? undefined;
  const ramping = routing?.rampingDeploymentVersion?.buildId;
  return { deploymentName, ...(current ? { current } : {}), ...(ramping ? { ramping: { buildId: ramping, percentage: routing?.rampingVersionPercentage ?? 0 } } : {}), versions };
}

const VERSION_STATUS = ['unspecified', 'inactive', 'current', 'ramping', 'draining', 'drained'];

function versionStatus(status: number | null | undefined): string {
  return VERSION_STATUS[status ?? 0] ?? String(status);
}

/** New runs (and roots at their next turn) go to this version. */
export async function promote(client: Client, deploymentName: string, buildId: string): Promise<void> {
  await client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: client.options.namespace, deploymentName, buildId, identity: 'bamboo deploy' });
}

/** This share of new runs goes to this version (0 stops the ramp). */
export async function ramp(client: Client, deploymentName: string, buildId: string, percentage: number): Promise<void> {
  await client.workflowService.setWorkerDeploymentRampingVersion({ namespace: client.options.namespace, deploymentName, buildId, percentage, identity: 'bamboo deploy' });
}

/** New work goes back to this version, and any ramp stops. */
export async function rollback(client: Client, deploymentName: string, buildId: string): Promise<void> {
  const { workerDeploymentInfo: info } = await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName });
  if (info?.routingConfig?.rampingDeploymentVersion) {
    await client.workflowService.setWorkerDeploymentRampingVersion({ namespace: client.options.namespace, deploymentName, buildId: '', percentage: 0, identity: 'bamboo deploy' });
  }
  await promote(client, deploymentName, buildId);
}
