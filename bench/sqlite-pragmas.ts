/**
 * `npm run bench:sqlite`: how fast the dev server's SQLite store is under Bamboo's load, in
 * memory and on a file with different pragmas (the embedded default, `npm start` and
 * `bamboo dev`, keeps a file). Each configuration gets a fresh server and worker and the same
 * batch of plain one-turn child runs (BENCH_SQLITE_RUNS, default 600; 100 in flight).
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../cli/temporal/dev-server';
import { buildBenchBundle, startWorkers } from './harness';
import { serverRamp } from './memory';
import { recordResults } from './results';

const CONFIGS: { label: string; file: boolean; pragmas: string[] }[] = [
  { label: 'in memory', file: false, pragmas: [] },
  { label: 'file, SQLite defaults', file: true, pragmas: [] },
  { label: 'file, journal_mode=wal', file: true, pragmas: ['journal_mode=wal'] },
  { label: 'file, journal_mode=wal, synchronous=normal', file: true, pragmas: ['journal_mode=wal', 'synchronous=normal'] },
];

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_SQLITE_RUNS ?? 600);
  const log = (line: string) => console.log(`[bench:sqlite ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const bundle = await buildBenchBundle();
  const rows: { label: string; pragmas: string[]; runs: number; seconds: number; runsPerSec: number; errors: number }[] = [];
  for (const config of CONFIGS) {
    const dir = mkdtempSync(join(tmpdir(), 'bamboo-sqlite-'));
    const server = await startDevServer({ dbFilename: config.file ? join(dir, 'bench.sqlite') : undefined, sqlitePragmas: config.pragmas });
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const workers = await startWorkers(1, { TEMPORAL_ADDRESS: server.address, BENCH_TASK_QUEUE: 'bench-sqlite', BENCH_BUNDLE: bundle });
    try {
      await serverRamp(client, 'bench-sqlite', [50]); // warm up: caches, first connections
      const [row] = await serverRamp(client, 'bench-sqlite', [runs]);
      rows.push({ label: config.label, pragmas: config.pragmas, ...row });
      log(JSON.stringify(rows.at(-1)));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await client.connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const table = [
    '| store | child runs | seconds | runs/s | errors |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.runs} | ${r.seconds.toFixed(1)} | ${r.runsPerSec.toFixed(1)} | ${r.errors} |`),
  ].join('\n');
  recordResults('sqlite', 'Dev server store: in memory and SQLite file pragmas', `Plain one-turn child runs, 100 in flight, one worker, a fresh server per row (after 50 warm-up runs).\n\n${table}\n`, rows);
  log('results written to bench/RESULTS.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
