/**
 * 3 · Two workers, one killed: two worker processes on one task queue share the sessions; one
 * is SIGKILLed mid-run and never restarted. The other must finish everything.
 */
import type { Client } from '@temporalio/client';
import { uniqueId } from '../../helpers/temporal';
import { mainClient, mainServer, useQueue } from '../support/context';
import { startWorkerProcess } from '../../helpers/worker-process';
import { beginScenario } from '../support/summary';
import { runScenario } from '../support/scenario';
import { childrenInFlight, expectTreesKept, startTreesInFlight } from '../support/trees';
import { mapLimit, pick } from '../support/util';

const ROOTS = 3;
const CHILDREN_PER_ROOT = 10;

/** Which worker (by pid) started the activity attempts recorded after `afterMs`. */
async function activityIdentities(client: Client, workflowIds: string[], afterMs: number): Promise<Record<string, number>> {
  const identities: Record<string, number> = {};
  await mapLimit(workflowIds, 8, async (id) => {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const e of history.events ?? []) {
      const started = e.activityTaskStartedEventAttributes;
      const at = Number(e.eventTime?.seconds ?? 0) * 1000;
      if (started?.identity && at >= afterMs) identities[started.identity] = (identities[started.identity] ?? 0) + 1;
    }
  });
  return identities;
}

export function twoWorkersScenario(): void {
  test('3 · two workers on one queue, one SIGKILLed mid-run: the other finishes everything', async () => {
    const record = beginScenario('3-two-workers', `two workers, one SIGKILLed: ${ROOTS * CHILDREN_PER_ROOT} children`);
    const client = await mainClient();
    const server = mainServer();
    const taskQueue = useQueue(server, uniqueId('rel-two'), record.id);
    await runScenario(record, async ({ workers, terminateAtEnd }) => {
      workers.push(...(await Promise.all([1, 2].map((n) => startWorkerProcess({ address: server.address, taskQueue, label: `two-workers-${n}` })))));
      const tree = await startTreesInFlight(client, taskQueue, ROOTS, CHILDREN_PER_ROOT, 'two');
      const { rootIds } = tree;
      terminateAtEnd(client, rootIds);
      record.runs = ROOTS + ROOTS * CHILDREN_PER_ROOT;
      const victim = pick(workers);
      const survivor = workers.find((w) => w !== victim)!;
      const flight = await childrenInFlight(client, rootIds);
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      record.faults += 1;
      record.details.kill = { victim: victim.label, childrenInFlight: flight.running, childrenFinished: flight.terminal };
      expect(flight.running).toBeGreaterThan(0); // a kill that hits an idle tree proves nothing

      const { workflowIds } = await expectTreesKept(client, tree, record, ROOTS * CHILDREN_PER_ROOT, 'serverErrors = WorkflowTaskFailed events in the sessions\' histories');
      // Activity attempts started after the kill (with a second's slack): only the survivor's pid.
      const identities = await activityIdentities(client, workflowIds, killedAt + 1000);
      record.details.activityStartsAfterKill = identities;
      expect(survivor.alive()).toBe(true);
      // Non-empty first: `every` holds on an empty list, and the children in flight had attempts to retry.
      expect(Object.keys(identities).length).toBeGreaterThan(0);
      expect(Object.keys(identities).every((identity) => identity.startsWith(`${survivor.pid}@`))).toBe(true);
    });
  }, 600_000);
}
