/**
 * 7 · Secrets (runs last): with a provider API key and an A2A bearer token set in every
 * worker's environment (and really sent: the provider-fault and A2A scenarios check the
 * Authorization headers), export every history of every server the suite used — all
 * workflows, all runs, payloads decoded — and confirm neither secret appears anywhere. The
 * output of every process the suite started is checked too. Also counts the failed workflow
 * tasks of all histories, per scenario.
 */
import type { Client } from '@temporalio/client';
import { historyText } from '../../helpers/history-text';
import { clientFor, servers } from '../support/context';
import { A2A_TOKEN_ENV, PROVIDER_KEY_ENV } from '../support/paths';
import { processOutputs } from '../support/processes';
import { beginScenario, finishScenario, scenarioRecord } from '../support/summary';
import { mapLimit } from '../support/util';
import { REFUSED_TASK_CAUSES, taskFailedCause } from '../support/trees';

interface Scan {
  histories: number;
  bytes: number;
  leaks: string[];
  taskFailuresByScenario: Record<string, number>;
  failedTaskSamples: string[];
  openWithFailingTask: string[];
  /** Failed workflow tasks of a cause that is an error (not expectedTaskFailure). */
  unexpectedTaskFailures: string[];
}

/** Failed workflow tasks that are not errors: those Temporal refuses on purpose (anywhere), and the fault matrix's resets. */
function expectedTaskFailure(cause: string, scenario: string): boolean {
  return REFUSED_TASK_CAUSES.has(cause) || (cause === 'RESET_WORKFLOW' && scenario === '0-fault-matrix');
}

async function scanServer(client: Client, label: string, taskQueues: Map<string, string>, secrets: string[], scan: Scan): Promise<void> {
  const executions: { workflowId: string; runId: string; taskQueue: string; status: string }[] = [];
  for await (const e of client.workflow.list()) executions.push({ workflowId: e.workflowId, runId: e.runId, taskQueue: e.taskQueue, status: e.status.name });
  await mapLimit(executions, 16, async (e) => {
    const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
    const text = historyText(history);
    scan.histories += 1;
    scan.bytes += text.length;
    for (const secret of secrets) if (text.includes(secret)) scan.leaks.push(`${label}: ${e.workflowId}/${e.runId}`);
    const events = history.events ?? [];
    const failed = events.filter((ev) => ev.workflowTaskFailedEventAttributes).length;
    if (failed > 0) {
      const scenario = taskQueues.get(e.taskQueue) ?? `other (${label})`;
      for (const ev of events) {
        const attributes = ev.workflowTaskFailedEventAttributes;
        if (!attributes) continue;
        const cause = taskFailedCause(attributes.cause);
        if (!expectedTaskFailure(cause, scenario)) scan.unexpectedTaskFailures.push(`${scenario}: ${e.workflowId.slice(0, 48)} event ${String(ev.eventId)}: ${cause}${attributes.failure?.message ? ` — ${attributes.failure.message.slice(0, 120)}` : ''}`);
      }
      scan.taskFailuresByScenario[scenario] = (scan.taskFailuresByScenario[scenario] ?? 0) + failed;
      const first = events.find((ev) => ev.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
      const cause = taskFailedCause(first?.cause);
      scan.failedTaskSamples.push(`${scenario}: ${e.workflowId.slice(0, 48)} (${e.status}): ${failed}× ${cause}${first?.failure?.message ? ` — ${first.failure.message.slice(0, 120)}` : ''}`);
      const last = events.at(-1);
      if (e.status === 'RUNNING' && (last?.workflowTaskFailedEventAttributes || events.at(-2)?.workflowTaskFailedEventAttributes)) {
        scan.openWithFailingTask.push(`${label}: ${e.workflowId}`);
      }
    }
  });
}

export function secretsScenario(): void {
  test('7 · secrets: no provider key or bearer token in any history of the suite (payloads decoded) or any process output', async () => {
    const record = beginScenario('7-secrets', 'secrets: every history of every server, payloads decoded');
    let passed = false;
    try {
      const secrets = [process.env[PROVIDER_KEY_ENV], process.env[A2A_TOKEN_ENV]].filter((s): s is string => Boolean(s));
      expect(secrets).toHaveLength(2);
      const scan: Scan = { histories: 0, bytes: 0, leaks: [], taskFailuresByScenario: {}, failedTaskSamples: [], openWithFailingTask: [], unexpectedTaskFailures: [] };
      const perServer: Record<string, number> = {};
      for (const server of servers) {
        const before = scan.histories;
        const client = await clientFor(server.address, server.namespace);
        await scanServer(client, server.label, server.taskQueues, secrets, scan);
        perServer[server.label] = scan.histories - before;
      }
      const outputs = processOutputs();
      const outputLeaks = outputs.filter((o) => secrets.some((s) => o.output.includes(s))).map((o) => o.label);
      record.inputs = 0;
      record.runs = 0;
      record.details = {
        historiesScanned: scan.histories,
        perServer,
        decodedMB: Math.round((scan.bytes / 1024 / 1024) * 10) / 10,
        processOutputsScanned: outputs.length,
        leaks: [...scan.leaks, ...outputLeaks].slice(0, 10),
        workflowTaskFailuresByScenario: scan.taskFailuresByScenario,
        workflowTaskFailureSamples: scan.failedTaskSamples.slice(0, 12),
        openWorkflowsWithAFailingTask: scan.openWithFailingTask.slice(0, 10),
        unexpectedTaskFailures: scan.unexpectedTaskFailures.slice(0, 10),
      };
      record.notes.push(
        'serverErrors = workflows still open with a failing workflow task, on any server, at the end of the suite, + failed workflow tasks of any cause but FORCE_CLOSE_COMMAND (a task in flight when a test terminated its workflow), UNHANDLED_COMMAND (a signal that arrived as the workflow closed: refused by Temporal, handled first) and RESET_WORKFLOW (the fault matrix\'s resets)',
      );
      record.serverErrors = scan.openWithFailingTask.length + scan.unexpectedTaskFailures.length;
      // Let each scenario's line show its failed workflow tasks as seen in the full export.
      for (const [scenario, n] of Object.entries(scan.taskFailuresByScenario)) {
        const r = scenarioRecord(scenario);
        if (r) r.details.workflowTaskFailuresInExport = n;
      }
      expect(scan.histories).toBeGreaterThan(0);
      expect(scan.leaks).toEqual([]);
      expect(outputLeaks).toEqual([]);
      expect(scan.openWithFailingTask).toEqual([]);
      expect(scan.unexpectedTaskFailures).toEqual([]);
      expect(record.serverErrors).toBe(0);
      passed = true;
    } finally {
      finishScenario(record, passed);
    }
  }, 600_000);
}
