/**
 * 9 · Approvals through faults: roots whose children (depth 1 and 2) call a side-effecting
 * tool under policy `ask` wait for a person. A third are approved before the faults; then the
 * worker is SIGKILLed, the SQLite dev server stopped and started again, and the roots
 * continue-as-new while they wait; then a third are approved and a third denied. Every
 * decision must be applied exactly once: an approved call writes its line once, a denied one
 * never, no request stays pending, and answering any of them again is rejected.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startSession } from '../../../client/root-sessions';
import { ALREADY_ANSWERED, sessionWorkflowId, type PendingRequest, respondUpdate, stateQuery } from '../../../common';
import { rootSession } from '../../helpers/session-fixtures';
import { eventually } from '../../helpers/eventually';
import { refusalOf } from '../../helpers/refusals';
import { uniqueId } from '../../helpers/temporal';
import { startWorkerProcess, TEST_TOOLS } from '../../helpers/worker-process';
import { clientFor, useQueue } from '../support/context';
import { startRestartableServer } from '../support/processes';
import { beginScenario } from '../support/summary';
import { runScenario } from '../support/scenario';
import { randomInt, sleep } from '../support/util';

const ROOTS = 9;
const POLICY = JSON.stringify({ tools: { append_line: 'ask' } });

type Plan = 'approve-before' | 'approve-after' | 'deny-after';
const planOf = (i: number): Plan => (['approve-before', 'approve-after', 'deny-after'] as const)[i % 3];

export function approvalsScenario(): void {
  test('9 · approvals through faults: worker SIGKILL, server restart and continue-as-new while requests wait; each decision applied once', async () => {
    const record = beginScenario('9-approvals', `approvals: ${ROOTS} trees wait for a person through a worker SIGKILL, a server restart and continue-as-new`);
    const server = await startRestartableServer('sqlite (approvals)', 'approvals.sqlite');
    const taskQueue = useQueue(server.known, uniqueId('rel-approvals'), record.id);
    const client = await clientFor(server.known.address, server.known.namespace);
    const dir = mkdtempSync(join(tmpdir(), 'bamboo-rel-approvals-'));
    const worker = (label: string) =>
      startWorkerProcess({ address: server.known.address, taskQueue, toolsModule: TEST_TOOLS, label, env: { BAMBOO_TEST_TOOL_POLICY: POLICY } });
    await runScenario(record, async ({ workers, terminateAtEnd }) => {
      workers.push(await worker('approvals-worker-1'));
      const roots: { id: string; file: string; plan: Plan }[] = [];
      for (let i = 0; i < ROOTS; i++) {
        const file = join(dir, `root-${i}.txt`);
        const call = `[[tool:append_line|${JSON.stringify({ file })}]] write it`;
        // Every other tree asks from depth 2; all continue-as-new while they wait (20 events).
        const prompt = i % 2 ? `[[spawn:Lead|[[spawn:Writer|${call}]] organise]] plan` : `[[spawn:Writer|${call}]] go`;
        const session = rootSession(prompt);
        await startSession(client, { session, options: { maxSpawnDepth: 2, historyEventBudget: 20 } }, { taskQueue });
        roots.push({ id: session.id, file, plan: planOf(i) });
      }
      terminateAtEnd(client, roots.map((r) => r.id));
      record.runs = roots.length * 2 + Math.floor(roots.length / 2);
      const requests = await Promise.all(roots.map((root) => pendingOf(client, root.id)));

      const answer = (i: number) =>
        client.workflow
          .getHandle(sessionWorkflowId(roots[i].id))
          .executeUpdate(respondUpdate, { args: [roots[i].plan === 'deny-after' ? { requestId: requests[i].requestId, decision: 'deny', reason: 'no' } : { requestId: requests[i].requestId, decision: 'approve' }] });
      await Promise.all(roots.map((root, i) => (root.plan === 'approve-before' ? answer(i) : undefined)));

      // Faults while the rest wait: the worker SIGKILLed, the server stopped and started again.
      await sleep(randomInt(500, 2000));
      await workers.at(-1)!.kill('SIGKILL');
      record.faults += 1;
      await server.stop();
      record.faults += 1;
      await sleep(randomInt(2000, 5000));
      await server.restart();
      workers.push(await worker('approvals-worker-2'));
      await Promise.all(roots.map((root, i) => (root.plan === 'approve-before' ? undefined : answer(i))));

      // Each decision applied once: approved calls wrote one line, denied ones none; nothing pending.
      const outcome = await eventually(
        async () => {
          const lines = roots.map((root) => (existsSync(root.file) ? readFileSync(root.file, 'utf8').split('\n').filter(Boolean).length : 0));
          const pending = await Promise.all(roots.map(async (root) => (await client.workflow.getHandle(sessionWorkflowId(root.id)).query(stateQuery)).pendingRequests?.length ?? 0));
          const done = roots.every((root, i) => lines[i] === (root.plan === 'deny-after' ? 0 : 1)) && pending.every((n) => n === 0);
          return done ? { lines, pending } : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 1000, what: 'every decision applied' },
      ).catch(() => undefined);
      const lines = roots.map((root) => (existsSync(root.file) ? readFileSync(root.file, 'utf8').split('\n').filter(Boolean).length : 0));
      record.lost = roots.filter((root, i) => root.plan !== 'deny-after' && lines[i] === 0).length;
      record.duplicated = lines.filter((n) => n > 1).length + roots.filter((root, i) => root.plan === 'deny-after' && lines[i] > 0).length;
      // A second decision on each is refused by the validator, saying the request was answered.
      const refusedAgain: string[] = [];
      for (const [i] of roots.entries()) refusedAgain.push(await refusalOf(answer(i)).catch((error: Error) => error.message));
      const rejectedAgain = refusedAgain.filter((text, i) => text === ALREADY_ANSWERED(requests[i].requestId)).length;
      record.details = { roots: ROOTS, approvedBefore: ROOTS / 3, approvedAfter: ROOTS / 3, deniedAfter: ROOTS / 3, lines, rejectedAgain };
      record.notes.push('lost = approved calls that never ran; duplicated = calls that ran twice, or ran though denied; every second tree asked from depth 2');
      rmSync(dir, { recursive: true, force: true });

      expect(outcome).toBeDefined();
      expect(record.lost).toBe(0);
      expect(record.duplicated).toBe(0);
      expect(refusedAgain).toEqual(requests.map((r) => ALREADY_ANSWERED(r.requestId)));
    });
  }, 600_000);
}

async function pendingOf(client: Client, rootId: string): Promise<PendingRequest> {
  return eventually(async () => (await client.workflow.getHandle(sessionWorkflowId(rootId)).query(stateQuery)).pendingRequests?.[0], {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `a pending request at ${rootId}`,
  });
}
