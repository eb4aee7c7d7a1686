/**
 * 1 · Worker crashes: 100 children in flight across five root sessions on a worker process
 * that is SIGKILLed three times at random moments and restarted each time. Every child must
 * reach a terminal status, send exactly one completion, and be reported exactly once in its
 * parent's transcript; every parent must resume.
 */
import { uniqueId } from '../../helpers/temporal';
import { startWorkerProcess } from '../../helpers/worker-process';
import { beginScenario } from '../support/summary';
import { runScenario } from '../support/scenario';
import { mainClient, mainServer, useQueue } from '../support/context';
import { childrenInFlight, expectTreesKept, startTrees } from '../support/trees';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { randomInt, sleep } from '../support/util';

const ROOTS = 5;
const CHILDREN_PER_ROOT = 20;
const KILLS = 3;

export function workerCrashScenario(): void {
  test('1 · worker crashes: 100 children in flight, the worker SIGKILLed 3 times at random moments', async () => {
    const record = beginScenario('1-worker-crashes', `worker crashes: ${ROOTS * CHILDREN_PER_ROOT} children, worker SIGKILLed ×${KILLS}`);
    const client = await mainClient();
    const server = mainServer();
    const taskQueue = useQueue(server, uniqueId('rel-crash'), record.id);
    await runScenario(record, async ({ workers, terminateAtEnd }) => {
      workers.push(await startWorkerProcess({ address: server.address, taskQueue, label: 'crash-worker-1' }));
      const t0 = Date.now();
      // max_idle 10 s: the liveness (heartbeat) timeout is min(max_idle, 30 s), so an attempt on a
      // killed worker is retried after ~10 s instead of 30 s. The children stream a token a second.
      const tree = await startTrees(client, taskQueue, {
        roots: ROOTS,
        childrenPerRoot: CHILDREN_PER_ROOT,
        sleepSecs: [3, 10],
        metadata: { 'child_watchdog.max_idle_secs': '10' },
        // A budget that admits exactly the tree's children: reservations held and released across kills.
        options: { maxRunningChildren: 50, budget: { maxSessions: CHILDREN_PER_ROOT, maxTokens: 10_000_000 } },
      }, 'crash');
      const { rootIds } = tree;
      terminateAtEnd(client, rootIds);
      record.runs = ROOTS + ROOTS * CHILDREN_PER_ROOT;

      // The first kill comes once at least half the children have been started, the others at
      // random moments after each restart (whatever the parents and children are doing then).
      await eventuallyOrUndefined(async () => (await childrenInFlight(client, rootIds)).known >= (ROOTS * CHILDREN_PER_ROOT) / 2, { timeoutMs: 120_000, intervalMs: 500 });
      const kills: { atSecs: number; childrenInFlight: number; childrenFinished: number }[] = [];
      for (let k = 0; k < KILLS; k++) {
        await sleep(randomInt(k === 0 ? 0 : 1000, k === 0 ? 4000 : 8000));
        const flight = await childrenInFlight(client, rootIds).catch(() => ({ running: -1, terminal: -1 }));
        await workers.at(-1)!.kill('SIGKILL');
        record.faults += 1;
        kills.push({ atSecs: Math.round((Date.now() - t0) / 100) / 10, childrenInFlight: flight.running, childrenFinished: flight.terminal });
        workers.push(await startWorkerProcess({ address: server.address, taskQueue, label: `crash-worker-${k + 2}` }));
      }
      record.details.kills = kills;
      // Each kill must hit children in flight: one that hits an idle tree proves nothing.
      expect(kills.filter((k) => k.childrenInFlight <= 0)).toEqual([]);

      await expectTreesKept(
        client,
        tree,
        record,
        ROOTS * CHILDREN_PER_ROOT,
        'serverErrors = WorkflowTaskFailed events in the parents\' and children\'s histories (timed-out workflow tasks and retried activities of killed workers are expected: see details)',
      );
      record.details.totalSecs = Math.round((Date.now() - t0) / 1000);
    });
  }, 600_000);
}
