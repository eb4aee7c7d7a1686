/**
 * `npx tsx bench/deploy-check.ts [open roots]`: how fast `bamboo deploy check` goes through the
 * open sessions a deploy would meet. It opens N root sessions (default 2,000) on the embedded
 * dev server, each answered once and idle (its history about 20 events), then replays all of
 * them against the same workflow bundle — listing through visibility, downloading each history,
 * replaying it — with 8 and with 32 histories downloaded at once, 3 rounds each.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startSession } from '../client/root-sessions';
import { BambooRunStatus, type Session } from '../common';
import { checkOpenRuns } from '../cli/deploy';
import { startDevServer } from '../cli/temporal/dev-server';
import { createBambooWorker } from '../worker/create-worker';
import { buildBenchBundle } from './harness';
import { recordResults } from './results';

const ROOTS = Number(process.argv[2] ?? 2000);
const ROUNDS = 3;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
  const connection = await NativeConnection.connect({ address: server.address });
  const taskQueue = 'bench-deploy-check';
  const bundlePath = await buildBenchBundle('bamboo');
  const worker = await createBambooWorker({ connection, client, namespace: server.namespace, taskQueue, workflowBundlePath: bundlePath });
  const running = worker.run();
  try {
    const opened = Date.now();
    for (let i = 0; i < ROOTS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, ROOTS - i) }, (_, j) => {
          const id = `bench-open-${i + j}`;
          const session: Session = { id, kind: 'root', rootSessionId: id, spawnDepth: 0, title: 'open', model: 'scripted-model', metadata: {}, messages: [{ id: `m${i + j}`, role: 'user', content: 'hello', createdAt: new Date().toISOString() }] };
          return startSession(client, { session, options: { idleTtlSecs: 3600 } }, { taskQueue });
        }),
      );
    }
    const answered = `ExecutionStatus = 'Running' AND ${BambooRunStatus.name} = 'completed' AND TaskQueue = '${taskQueue}'`;
    while ((await client.workflow.count(answered)).count < ROOTS) await new Promise((r) => setTimeout(r, 1000));
    const openSecs = (Date.now() - opened) / 1000;
    console.log(`${ROOTS} open roots, each answered once, in ${openSecs.toFixed(0)} s`);
    worker.shutdown(); // the check needs no worker: it replays histories in its own process
    await running;

    const rows: { concurrency: number; round: number; checked: number; failures: number; secs: number; perSec: number }[] = [];
    for (const concurrency of [8, 32]) {
      for (let round = 1; round <= ROUNDS; round++) {
        const report = await checkOpenRuns(client, { bundlePath, concurrency, query: `TaskQueue = '${taskQueue}'` });
        const secs = report.ms / 1000;
        rows.push({ concurrency, round, checked: report.checked, failures: report.failures.length, secs, perSec: report.checked / secs });
        console.log(`concurrency ${concurrency}, round ${round}: ${report.checked} runs in ${secs.toFixed(1)} s (${(report.checked / secs).toFixed(0)}/s), ${report.failures.length} would break`);
      }
    }
    const best = (c: number) => Math.max(...rows.filter((r) => r.concurrency === c).map((r) => r.perSec));
    const markdown = [
      `${ROOTS} open root sessions (each answered once, idle; about 20 history events each) on the embedded dev server (SQLite), replayed against the same bundle by \`checkOpenRuns\` (what \`bamboo deploy check\` runs): listing through visibility, one history download per run, replay in the checking process.`,
      '',
      '| histories downloaded at once | round | runs checked | would break | seconds | runs / s |',
      '|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.concurrency} | ${r.round} | ${r.checked} | ${r.failures} | ${r.secs.toFixed(1)} | ${r.perSec.toFixed(0)} |`),
      '',
      `Best: ${best(8).toFixed(0)} runs/s at 8, ${best(32).toFixed(0)} runs/s at 32 — 10,000 open runs in about ${(10_000 / Math.max(best(8), best(32)) / 60).toFixed(1)} min at the better. Opening the ${ROOTS} roots took ${openSecs.toFixed(0)} s.`,
    ].join('\n');
    recordResults('deploy-check', 'The replay gate over open sessions (bench/deploy-check.ts)', markdown, { roots: ROOTS, openSecs, rows });
  } finally {
    await connection.close();
    await client.connection.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
