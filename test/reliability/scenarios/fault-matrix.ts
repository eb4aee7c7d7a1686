/**
 * 0 · Fault matrix (issue 11): for each way a child run can close — completes, fails,
 * cancelled by the parent, cancelled from outside, terminated, execution timeout, reset,
 * worker SIGKILLed while it closes, server restarted while it closes — × each wait policy ×
 * the parent waiting, running a turn, or past a continue-as-new: the parent resumes, exactly
 * once per child, and its state names the child's final status. 81 root sessions.
 */
import type { Client } from '@temporalio/client';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { checkSetup, firstCallEnd, noteFault, noteServerStop } from '../support/cell-setup';
import { uniqueId } from '../../helpers/temporal';
import { clientFor, mainClient, mainServer, useQueue } from '../support/context';
import {
  awaitSubjectRunning,
  cellsFor,
  checkCells,
  label,
  prepareParent,
  renderMatrix,
  startCell,
  SUBJECT_SECS,
  triggerClose,
  WAYS,
  type Cell,
  type Way,
} from '../support/matrix';
import type { ManagedProcess } from '../../helpers/processes';
import { startWorkerProcess } from '../../helpers/worker-process';
import { startRestartableServer } from '../support/processes';
import { beginScenario, finishScenario, recordAudit } from '../support/summary';
import { auditTotals, countBy } from '../../helpers/tree-audit';
import { terminateRoots } from '../support/trees';
import { mapLimit, randomInt, sleep } from '../support/util';

const LOCAL_WAYS = WAYS.filter((w) => !w.startsWith('worker') && !w.startsWith('server'));

/** Starts a batch of cells, brings each to its moment, and triggers the closes. */
async function runCells(client: Client, taskQueue: string, ways: readonly Way[]): Promise<Cell[]> {
  const cells = await mapLimit(cellsFor(ways), 8, (spec) => startCell(client, taskQueue, spec));
  // All at once: a subject that ends by itself closes SUBJECT_SECS after it starts.
  await mapLimit(cells, cells.length, async (cell) => {
    await awaitSubjectRunning(client, cell);
    await prepareParent(client, cell);
    await triggerClose(client, cell);
  });
  return cells;
}

export function faultMatrixScenario(): void {
  test('0 · fault matrix: 9 ways a child closes × 3 wait policies × parent waiting / running / past continue-as-new', async () => {
    const record = beginScenario('0-fault-matrix', 'fault matrix: 9 ways a child closes × 3 wait policies × 3 parent states (81 trees)');
    let passed = false;
    const cells: Cell[] = [];
    const workers: ManagedProcess[] = [];
    const cleanups: (() => Promise<void>)[] = [];
    try {
      // Faults of the child or an operator, on the main server.
      const client = await mainClient();
      const queue = useQueue(mainServer(), uniqueId('rel-matrix'), record.id);
      workers.push(await startWorkerProcess({ address: mainServer().address, taskQueue: queue, label: 'matrix-worker' }));
      cleanups.push(async () => terminateRoots(client, cells.filter((c) => !c.way.startsWith('server')).map((c) => c.rootId)));
      cells.push(...(await runCells(client, queue, LOCAL_WAYS)));
      record.faults += cells.filter((c) => ['cancelled from outside', 'terminated', 'reset'].includes(c.way)).length;

      // The worker SIGKILLed while the subjects close (they finish SUBJECT_SECS after starting).
      const killQueue = useQueue(mainServer(), uniqueId('rel-matrix-kill'), record.id);
      workers.push(await startWorkerProcess({ address: mainServer().address, taskQueue: killQueue, label: 'matrix-kill-worker' }));
      const killCells = await mapLimit(cellsFor(['worker SIGKILLed while it closes']), 9, (spec) => startCell(client, killQueue, spec));
      cells.push(...killCells);
      await mapLimit(killCells, 9, (cell) => awaitSubjectRunning(client, cell).then(() => prepareParent(client, cell)).then(() => triggerClose(client, cell)));
      await strikeBeforeCallsEnd(client, killCells);
      await workers.at(-1)!.kill('SIGKILL');
      // After the kill: the server still lists what the dead worker was running.
      await mapLimit(killCells, 9, (cell) => noteFault(client, cell));
      record.faults += 1;
      workers.push(await startWorkerProcess({ address: mainServer().address, taskQueue: killQueue, label: 'matrix-kill-worker-2' }));

      // The server (SQLite) stopped and started again while the subjects close.
      const server = await startRestartableServer('sqlite (fault matrix)', 'fault-matrix.sqlite');
      const restartQueue = useQueue(server.known, uniqueId('rel-matrix-restart'), record.id);
      const restartClient = await clientFor(server.known.address, server.known.namespace);
      workers.push(await startWorkerProcess({ address: server.known.address, taskQueue: restartQueue, label: 'matrix-restart-worker' }));
      const restartCells = await mapLimit(cellsFor(['server restarted while it closes']), 9, (spec) => startCell(restartClient, restartQueue, spec));
      cleanups.push(async () => terminateRoots(restartClient, restartCells.map((c) => c.rootId)));
      await mapLimit(restartCells, 9, (cell) => awaitSubjectRunning(restartClient, cell).then(() => prepareParent(restartClient, cell)).then(() => triggerClose(restartClient, cell)));
      await strikeBeforeCallsEnd(restartClient, restartCells);
      await mapLimit(restartCells, 9, (cell) => noteFault(restartClient, cell));
      noteServerStop(restartCells, Date.now());
      await server.stop();
      await sleep(randomInt(2000, 5000));
      await server.restart();
      record.faults += 1;
      if (!workers.at(-1)!.alive()) workers.push(await startWorkerProcess({ address: server.known.address, taskQueue: restartQueue, label: 'matrix-restart-worker-2' }));

      await checkCells(client, cells.filter((c) => !restartCells.includes(c)), 240_000);
      await checkCells(restartClient, restartCells, 240_000);
      cells.push(...restartCells);
      // Each cell's setup as the histories show it: a cell whose label was not reached fails.
      await mapLimit(cells, 6, (cell) => checkSetup(restartCells.includes(cell) ? restartClient : client, cell));
      const setupFailures = cells.filter((c) => c.setup?.problems.length).map((c) => `${label(c)}: ${c.setup!.problems.join('; ')} (root ${c.rootId})`);

      const failed = cells.filter((c) => !c.outcome?.ok);
      record.runs = cells.length * 3;
      record.lost = cells.filter((c) => c.outcome && (c.outcome.subjectReported === 0 || !c.outcome.resumed)).length;
      record.duplicated = cells.filter((c) => c.outcome && (c.outcome.subjectReported > 1 || c.outcome.companionReported > 1)).length;
      recordAudit(record, auditTotals(cells.flatMap((c) => (c.outcome?.audit ? [c.outcome.audit] : []))), {
        children: cells.reduce((n, c) => n + (c.outcome?.audit?.engine ? Object.values(c.outcome.audit.engine.statuses).reduce((a, b) => a + b, 0) : 0), 0),
        reported: cells.reduce((n, c) => n + (c.outcome ? c.outcome.subjectReported + c.outcome.companionReported : 0), 0),
        lost: record.lost,
        duplicated: record.duplicated,
      });
      // Failed workflow tasks in every run of every tree: a reset records one by design, and a task
      // in flight when a test terminated its workflow is force-closed; any other is a server error.
      const taskFailures: Record<string, number> = {};
      for (const cell of cells) for (const [cause, n] of Object.entries(cell.outcome?.audit?.taskFailures ?? {})) taskFailures[cause] = (taskFailures[cause] ?? 0) + n;
      const unexpected = Object.entries(taskFailures).filter(([cause]) => !['RESET_WORKFLOW', 'FORCE_CLOSE_COMMAND', 'UNHANDLED_COMMAND'].includes(cause));
      record.serverErrors = unexpected.reduce((n, [, count]) => n + count, 0);
      record.details.taskFailures = taskFailures;
      record.notes.push('serverErrors = failed workflow tasks in every run of every tree (the audit’s histories) but RESET_WORKFLOW (the resets), FORCE_CLOSE_COMMAND (terminated mid-task) and UNHANDLED_COMMAND (a signal as the workflow closed)');
      record.details.matrix = renderMatrix(cells);
      record.details.cells = `${cells.length - failed.length}/${cells.length} ok`;
      record.details.parentPhaseAtTrigger = countBy(cells.filter((c) => c.phaseAtTrigger).map((c) => `${c.state} → ${c.phaseAtTrigger}`));
      record.details.rootRunsAtClose = countBy(cells.map((c) => `${c.state}: ${c.runsAtClose === 1 ? '1 run' : '2+ runs'}`));
      record.details.failures = failed.map((c) => `${label(c)}: ${c.outcome?.problem ?? 'not checked'} (root ${c.rootId})`);
      record.details.setup = setupFigures(cells);
      record.details.setupFailures = setupFailures;
      console.log(['fault matrix (cells ok / cells, over the three wait policies):', ...renderMatrix(cells)].join('\n'));
      expect(record.details.failures).toEqual([]);
      expect(setupFailures).toEqual([]);
      expect(Object.fromEntries(unexpected)).toEqual({});
      expect(cells).toHaveLength(81);
      passed = true;
    } finally {
      finishScenario(record, passed);
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    }
  }, 600_000);
}

/**
 * Waits until every subject streams its model call, then until 2–4 s before the first of those
 * calls ends: the fault strikes while each subject is still in its call and about to close.
 */
async function strikeBeforeCallsEnd(client: Client, cells: Cell[]): Promise<void> {
  const end = await eventuallyOrUndefined(() => firstCallEnd(client, cells, SUBJECT_SECS), { timeoutMs: 30_000, intervalMs: 300 });
  if (end !== undefined) await sleep(Math.max(0, end - Date.now() - randomInt(2000, 4000)));
}

/** The setup figures of the summary: per parent state, what the histories showed at the trigger and the close. */
function setupFigures(cells: Cell[]): Record<string, unknown> {
  const faulted = cells.filter((c) => c.setup?.pendingAtFault !== undefined);
  return {
    parentAtTrigger: countBy(cells.map((c) => `${c.state}: query ${c.setup?.queriedPhase}, ${c.setup?.openCallsAtTrigger ? 'in a turn' : 'no turn'} by history`)),
    parentAtClose: countBy(cells.map((c) => `${c.state}: ${c.setup?.openCallsAtClose ? 'in a turn' : 'no turn'}, root run ${c.setup?.closeLearnedInRun}`)),
    closeLearnedBy: countBy(cells.map((c) => c.setup?.closeLearnedBy ?? 'unknown')),
    faultCells: faulted.length,
    pendingAtFault: countBy(faulted.map((c) => c.setup!.pendingAtFault!.map((p) => p.replace(/ state .*/, '')).join(' + ') || 'none')),
    afterFault: countBy(faulted.map((c) => `${c.way}: ${c.setup?.afterFault ?? 'no evidence'}`)),
    completionSignalsPerCell: countBy(cells.map((c) => String(c.setup?.completionSignals))),
    rootTaskCompletedAfterCompletion: cells.filter((c) => c.setup?.taskCompletedAfterCompletion).length,
  };
}

