/**
 * `bamboo replay`: replays histories — downloaded by workflow id or visibility query, or
 * read from JSON files — against the current workflow code. Exits 1 on any nondeterminism,
 * so it can gate a deploy.
 */
import type { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { dataConverterFromEnv } from '../../worker/codec/aes-gcm';
import { WORKFLOW_INTERCEPTOR_MODULES, workerDataConverter } from '../../worker/codec/worker-data-converter';
import { errorMessage, sessionWorkflowId } from '../../common';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { CliError, ExitCode, print, withClient, type GlobalOptions } from '../context';

type History = temporal.api.history.v1.IHistory;

export interface ReplayOptions {
  workflowId?: string[];
  session?: string[];
  query?: string;
  limit: number;
}

export async function replayCommand(files: string[], opts: ReplayOptions, globals: GlobalOptions): Promise<void> {
  const histories: { workflowId: string; history: History }[] = files.map((file) => ({ workflowId: basename(file), history: readHistoryFile(file) }));
  const ids = [...(opts.workflowId ?? []), ...(opts.session ?? []).map(sessionWorkflowId)];
  if (ids.length > 0 || opts.query) {
    await withClient(globals, async (client) => histories.push(...(await download(client, ids, opts))));
  }
  if (histories.length === 0) throw new CliError('nothing to replay: give history files, --workflow-id, --session or --query', ExitCode.usage);
  const results: { workflowId: string; ok: boolean; error?: string }[] = [];
  for await (const result of Worker.runReplayHistories(
    {
      workflowsPath: WORKFLOWS_PATH,
      dataConverter: workerDataConverter(dataConverterFromEnv()),
      interceptors: { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] },
    },
    histories,
  )) {
    results.push({ workflowId: result.workflowId, ok: !result.error, error: result.error?.message });
  }
  const failed = results.filter((r) => !r.ok);
  print(globals, { replayed: results.length, failed: failed.length, results }, () =>
    [...results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'}  ${r.workflowId}${r.error ? `\n      ${r.error}` : ''}`), `${results.length} replayed, ${failed.length} failed`].join('\n'),
  );
  if (failed.length > 0) process.exitCode = ExitCode.failed;
}

function readHistoryFile(file: string): History {
  try {
    return historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new CliError(`cannot read history ${file}: ${errorMessage(error)}`, ExitCode.usage);
  }
}

async function download(client: Client, ids: string[], opts: ReplayOptions) {
  const out: { workflowId: string; history: History }[] = [];
  for (const workflowId of ids) out.push({ workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() });
  if (opts.query) {
    for await (const run of client.workflow.list({ query: opts.query })) {
      out.push({ workflowId: `${run.workflowId}/${run.runId}`, history: await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory() });
      if (out.length >= opts.limit) break;
    }
  }
  return out;
}
