/**
 * 2 · Server restart: a dev server on a SQLite file (the product's startDevServer) is stopped
 * while children run, and started again on the same port and file. The worker process is
 * kept (restarted only if it died, which is reported). Nothing may be lost.
 */
import { uniqueId } from '../../helpers/temporal';
import { clientFor, useQueue } from '../support/context';
import { startWorkerProcess } from '../../helpers/worker-process';
import { startRestartableServer } from '../support/processes';
import { beginScenario } from '../support/summary';
import { runScenario } from '../support/scenario';
import { childrenInFlight, expectTreesKept, startTreesInFlight } from '../support/trees';
import { randomInt, sleep } from '../support/util';

const ROOTS = 3;
const CHILDREN_PER_ROOT = 10;

export function serverRestartScenario(): void {
  test('2 · server restart: the SQLite dev server stopped mid-run and started again on the same port and file', async () => {
    const record = beginScenario('2-server-restart', `server restart: ${ROOTS * CHILDREN_PER_ROOT} children, SQLite dev server stopped and restarted`);
    const server = await startRestartableServer('sqlite (server restart)', 'server-restart.sqlite');
    const taskQueue = useQueue(server.known, uniqueId('rel-restart'), record.id);
    const client = await clientFor(server.known.address, server.known.namespace);
    // The server stays up at the end: the secrets scenario exports its histories, the suite stops it.
    await runScenario(record, async ({ workers, terminateAtEnd }) => {
      workers.push(await startWorkerProcess({ address: server.known.address, taskQueue, label: 'restart-worker' }));
      const tree = await startTreesInFlight(client, taskQueue, ROOTS, CHILDREN_PER_ROOT, 'restart');
      const { rootIds } = tree;
      terminateAtEnd(client, rootIds);
      record.runs = ROOTS + ROOTS * CHILDREN_PER_ROOT;
      const before = await childrenInFlight(client, rootIds);
      expect(before.running).toBeGreaterThan(0); // an outage that hits an idle tree proves nothing

      const stoppedAt = Date.now();
      await server.stop();
      record.faults += 1;
      const outageMs = randomInt(3000, 8000);
      await sleep(outageMs);
      const restarted = await server.restart();
      const downSecs = Math.round((Date.now() - stoppedAt) / 100) / 10;
      record.details.outage = { childrenInFlight: before.running, childrenFinished: before.terminal, downSecs, samePort: restarted.address.endsWith(`:${server.port}`) };

      if (!workers[0].alive()) {
        record.notes.push(`the worker process exited while the server was down (${workers[0].child.exitCode ?? workers[0].child.signalCode}); restarted`);
        workers.push(await startWorkerProcess({ address: restarted.address, taskQueue, label: 'restart-worker-2' }));
      } else {
        record.notes.push('the worker process stayed up through the outage and reconnected by itself');
      }

      await expectTreesKept(client, tree, record, ROOTS * CHILDREN_PER_ROOT, 'serverErrors = WorkflowTaskFailed events in the sessions\' histories');
    });
  }, 600_000);
}
