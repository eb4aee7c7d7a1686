/**
 * 8 · Load: 1,000 concurrent child runs (scripted, each streaming for 2 s) on ONE worker process
 * and a dev server of their own (the Temporal CLI's, same binary and search attributes as the
 * embedded default, started directly so its log can be read). All must finish, each reporting
 * once to its parent; the time and the server's errors are reported.
 */
import type { Client } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildRun } from '../../../client/child-runs';
import { errorMessage, sessionIdFromWorkflowId, type ChildCompletion } from '../../../common';
import { receivedCompletionsQuery, stopRecordingSignal } from '../../workflows/recording-parent';
import { childSession, spawnJobFor } from '../../helpers/session-fixtures';
import { startRecordingParent, uniqueId } from '../../helpers/temporal';
import { clientFor, registerServer, useQueue } from '../support/context';
import { RELIABILITY_OUT } from '../support/paths';
import type { ManagedProcess } from '../../helpers/processes';
import { startWorkerProcess } from '../../helpers/worker-process';
import { startLoggedDevServer } from '../support/processes';
import { beginScenario, finishScenario } from '../support/summary';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { mapLimit, sleep } from '../support/util';
import { completionReportsReceived } from '../../helpers/tree-audit';

const RUNS = Number(process.env.REL_LOAD_RUNS ?? 1000);
const PARENTS = 10;
const SLEEP_SECS = 2;

async function withRetries<T>(what: () => Promise<T>, onError: (error: unknown) => void, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await what();
    } catch (error) {
      onError(error);
      if (attempt >= attempts) throw error;
      await sleep(500 * attempt);
    }
  }
}

export function loadScenario(): void {
  test(`8 · load: ${RUNS} concurrent child runs on one worker and a dev server`, async () => {
    const record = beginScenario('8-load', `load: ${RUNS} concurrent child runs, one worker, one dev server`, RUNS < 1000 ? `${RUNS} runs (REL_LOAD_RUNS)` : undefined);
    let passed = false;
    const server = await startLoggedDevServer();
    const known = registerServer({ label: 'load dev server', address: server.address, namespace: server.namespace, taskQueues: new Map(), stop: () => server.stop() });
    const taskQueue = useQueue(known, uniqueId('rel-load'), record.id);
    const client: Client = await clientFor(server.address, server.namespace);
    let worker: ManagedProcess | undefined;
    const clientErrors: string[] = [];
    const onError = (error: unknown) => void clientErrors.push(errorMessage(error, { causes: 3 }).slice(0, 200));
    try {
      worker = await startWorkerProcess({ address: server.address, taskQueue, label: 'load-worker' });
      const parents = await Promise.all(Array.from({ length: PARENTS }, () => startRecordingParent(client, taskQueue)));
      const parentIds = parents.map((p) => sessionIdFromWorkflowId(p.workflowId)!);
      const jobs = Array.from({ length: RUNS }, (_, i) => spawnJobFor(childSession(`[[sleep:${SLEEP_SECS}]] load ${i}`, { parentSessionId: parentIds[i % PARENTS], id: `load-${i}-${uniqueId('c')}` })));
      const t0 = Date.now();
      const runIds = await mapLimit(jobs, 50, async (job) => (await withRetries(() => startChildRun(client, job, { taskQueue }), onError)).firstExecutionRunId);
      const startedSecs = (Date.now() - t0) / 1000;
      record.runs = RUNS;

      // Every run reports to its parent: wait until all completions are in.
      let all: ChildCompletion[] = [];
      const done = await eventuallyOrUndefined(async () => {
        const lists = await Promise.all(parents.map((p) => withRetries(() => p.query(receivedCompletionsQuery), onError)));
        all = lists.flat();
        return all.length >= RUNS;
      }, { timeoutMs: 480_000, intervalMs: 1000 });
      const totalSecs = (Date.now() - t0) / 1000;
      await sleep(2000);
      all = (await Promise.all(parents.map((p) => p.query(receivedCompletionsQuery)))).flat();

      const expected = new Map(jobs.map((job, i) => [`${job.childSessionId}/${runIds[i]}`, job.parentSessionId]));
      const seen = new Map<string, number>();
      const statuses: Record<string, number> = {};
      let wrongParent = 0;
      for (const c of all) {
        const key = `${c.childSessionId}/${c.runId}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        statuses[c.status] = (statuses[c.status] ?? 0) + 1;
        if (expected.get(key) !== c.parentSessionId) wrongParent += 1;
      }
      record.lost = [...expected.keys()].filter((key) => !seen.has(key)).length;
      record.duplicated = [...seen.values()].reduce((n, v) => n + Math.max(0, v - 1), 0);
      // Visibility agrees: every child run's workflow closed Completed.
      const completedRuns = await eventuallyOrUndefined(async () => {
        const n = (await client.workflow.count(`WorkflowType = "childSessionWorkflow" AND ExecutionStatus = "Completed" AND TaskQueue = "${taskQueue}"`)).count;
        return n >= RUNS ? n : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000 });
      // The audit, from Temporal's records: one run per child workflow id, and in every run of
      // each parent's history exactly one completion signal per (child, run).
      const childRuns = (await client.workflow.count(`WorkflowType = "childSessionWorkflow" AND TaskQueue = "${taskQueue}"`)).count;
      const signalled = (await mapLimit(parents, 5, (p) => completionReportsReceived(client, p.workflowId))).flat();
      const signalCounts = new Map<string, number>();
      for (const s of signalled) signalCounts.set(`${s.childSessionId}/${s.runId}`, (signalCounts.get(`${s.childSessionId}/${s.runId}`) ?? 0) + 1);
      const audit = {
        childRuns,
        signalsReceived: signalled.length,
        lost: [...expected.keys()].filter((key) => !signalCounts.has(key)).length,
        duplicated: [...signalCounts.values()].reduce((n, v) => n + Math.max(0, v - 1), 0) + [...signalCounts.keys()].filter((key) => !expected.has(key)).length,
      };
      const serverErrorLines = server.errorLines();
      writeFileSync(join(RELIABILITY_OUT, 'load-dev-server.log'), server.process.output());
      const serverErrorKinds: Record<string, number> = {};
      for (const line of serverErrorLines) {
        let kind = line.slice(0, 120);
        try {
          const entry = JSON.parse(line) as { msg?: string; error?: string };
          kind = `${entry.msg ?? '?'}${entry.error ? `: ${entry.error.slice(0, 140)}` : ''}`;
        } catch {
          // not JSON: keep the raw head
        }
        serverErrorKinds[kind] = (serverErrorKinds[kind] ?? 0) + 1;
      }
      const workerErrors = (worker.output().match(/\bERROR\b|Error while completing workflow activation|Failing workflow task/g) ?? []).length;
      record.serverErrors = serverErrorLines.length + clientErrors.length;
      record.details = {
        runs: RUNS,
        parents: PARENTS,
        eachRun: `[[sleep:${SLEEP_SECS}]] (one token a second), default worker options`,
        startAllSecs: Math.round(startedSecs * 10) / 10,
        allReportedSecs: Math.round(totalSecs * 10) / 10,
        runsPerSec: Math.round((RUNS / totalSecs) * 10) / 10,
        statuses,
        completedInVisibility: completedRuns ?? 'not all',
        serverErrorLines: serverErrorLines.length,
        serverWarnLines: server.warnLines().length,
        clientErrors: clientErrors.length,
        workerErrorLines: workerErrors,
        serverErrorKinds,
        serverLog: 'test-output/reliability/load-dev-server.log',
        firstClientErrors: clientErrors.slice(0, 3),
        crossCheck: { engine: { completions: all.length, lost: record.lost, duplicated: record.duplicated }, audit },
      };
      record.notes.push('serverErrors = ERROR lines in the dev server log + client RPC errors (retried) while starting and polling');
      await Promise.all(parents.map((p) => p.signal(stopRecordingSignal).catch(() => undefined)));

      expect(done).toBe(true);
      expect(record.lost).toBe(0);
      expect(record.duplicated).toBe(0);
      expect(wrongParent).toBe(0);
      expect(statuses).toEqual({ completed: RUNS });
      expect(completedRuns).toBe(RUNS); // exactly: a run started twice is not a success
      expect(audit).toEqual({ childRuns: RUNS, signalsReceived: RUNS, lost: 0, duplicated: 0 });
      // The claim "0 server errors": no ERROR line in the server's log, no RPC the client had to retry.
      expect({ serverErrorKinds, clientErrors }).toEqual({ serverErrorKinds: {}, clientErrors: [] });
      passed = true;
    } finally {
      finishScenario(record, passed);
      await worker?.kill('SIGTERM');
      // The server stays up for the secrets scenario; the suite stops it.
    }
  }, 720_000);
}
