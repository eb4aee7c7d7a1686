/**
 * `npm run bench:actions`: what a sub-agent costs to run, in Temporal Cloud's billable actions
 * and in CPU, against the fair baseline — what a user would write by hand on Temporal for the
 * same job (bench/workflows/baseline.ts `fairParentWorkflow`: a parent that calls its model,
 * starts N children, waits for their completion signals and calls its model again; each child
 * streams one model call, a token and a heartbeat a second, and signals its parent). Bamboo runs
 * the same tree as a root session whose scripted model spawns N children that stream
 * `[[sleep:S]]`. Both sides on one dev server, one worker each (the baseline's with the SDK's
 * own heartbeat throttling, as a hand-written worker has), for short (1 s) and long (60 s)
 * streams.
 *
 * Actions are counted twice: from the server's `action` metric (the operations Temporal Cloud
 * bills, heartbeats included), and from the runs' histories by the billing rules in
 * docs/benchmarks.md (heartbeats are not in history: the metric's count is added). Writes
 * bench/results/actions.json and the "actions" section of bench/RESULTS.md.
 * Sizes via env: BENCH_ACTIONS_PARENTS (4), BENCH_ACTIONS_CHILDREN (10), BENCH_ACTIONS_STREAMS (1,60).
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { sessionWorkflowId, type SessionOptionsInput } from '../common';
import { freePort, startDevServer } from '../cli/temporal/dev-server';
import { cpuProbe, type CpuPerRun } from './cpu';
import { buildBenchBundle, startBenchRoots, startWorkers, untilAllClosed } from './harness';
import { recordResults } from './results';
import { actionsBetween, historyActions, scrapeActions, totalActions as sum, type ActionCounts } from '../testing/billable-actions';

const EventType = temporal.api.enums.v1.EventType;

/** Temporal Cloud's list price per million actions (docs/benchmarks.md says where it is from). */
export const USD_PER_MILLION_ACTIONS = 50;

type Counts = ActionCounts;
/**
 * `bamboo-at-start`: Bamboo with `searchAttributes: 'at-start'` (runs upsert no status or spend);
 * `bamboo-2s`: Bamboo with the 2 s heartbeat flush it had before (BENCH_ACTIONS_BEFORE=1).
 */
type Side = 'baseline' | 'bamboo' | 'bamboo-at-start' | 'bamboo-2s';

export interface SideResult {
  side: Side;
  streamSecs: number;
  childRuns: number;
  /** From the server's `action` metric, by action type, for the whole phase. */
  metric: Counts;
  /** From the histories of every run of the phase, by billing rule (heartbeats and queries are the metric's). */
  history: Counts;
  metricPerChild: number;
  historyPerChild: number;
  heartbeatsPerChild: number;
  cpu: CpuPerRun;
}

function addCounts(into: Counts, from: Counts): void {
  for (const [type, n] of Object.entries(from)) into[type] = (into[type] ?? 0) + n;
}

async function historiesOf(client: Client, query: string): Promise<Counts> {
  const counts: Counts = {};
  for await (const run of client.workflow.list({ query })) {
    const { events } = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    addCounts(counts, historyActions(events ?? []));
  }
  return counts;
}

const HEARTBEAT = 'grpc_RecordActivityTaskHeartbeat';
const QUERY = 'grpc_QueryWorkflow';
const METRICS_SETTLE_MS = 5000;

async function main(): Promise<void> {
  const parents = Number(process.env.BENCH_ACTIONS_PARENTS ?? 4);
  const children = Number(process.env.BENCH_ACTIONS_CHILDREN ?? 10);
  const streams = (process.env.BENCH_ACTIONS_STREAMS ?? '1,60').split(',').map(Number);
  const log = (line: string) => console.log(`[bench:actions ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const metricsPort = await freePort();
  const [server, bambooBundle, baselineBundle] = await Promise.all([startDevServer({ metricsPort }), buildBenchBundle('bamboo'), buildBenchBundle('baseline')]);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const env = (queue: string, bundle: string) => ({ TEMPORAL_ADDRESS: server.address, BENCH_TASK_QUEUE: queue, BENCH_BUNDLE: bundle });
  const [bamboo] = await startWorkers(1, env('actions-bamboo', bambooBundle));
  const [baseline] = await startWorkers(1, env('actions-baseline', baselineBundle));
  const before = process.env.BENCH_ACTIONS_BEFORE === '1' ? (await startWorkers(1, { ...env('actions-bamboo-2s', bambooBundle), BENCH_HEARTBEATS: '2s' }))[0] : undefined;
  const probes: Partial<Record<Side, ReturnType<typeof cpuProbe>>> = {
    baseline: cpuProbe(server.pid!, baseline.pid),
    bamboo: cpuProbe(server.pid!, bamboo.pid),
    'bamboo-at-start': cpuProbe(server.pid!, bamboo.pid),
    ...(before ? { 'bamboo-2s': cpuProbe(server.pid!, before.pid) } : {}),
  };
  const results: SideResult[] = [];

  // The server's metrics reach its endpoint on a reporting interval: a scrape waits for it.
  const settled = async () => {
    await new Promise((r) => setTimeout(r, METRICS_SETTLE_MS));
    return scrapeActions(metricsUrl);
  };
  const measure = async (side: Side, streamSecs: number, run: () => Promise<string>) => {
    const start = await settled();
    const cpuFrom = probes[side]!.start();
    const query = await run();
    const cpu = probes[side]!.perRun(cpuFrom, parents * children);
    const metric = actionsBetween(start, await settled());
    const history = await historiesOf(client, query);
    const childRuns = parents * children;
    const heartbeats = metric[HEARTBEAT] ?? 0;
    const queries = metric[QUERY] ?? 0;
    const result: SideResult = {
      side,
      streamSecs,
      childRuns,
      metric,
      history,
      metricPerChild: sum(metric) / childRuns,
      historyPerChild: (sum(history) + heartbeats + queries) / childRuns,
      heartbeatsPerChild: heartbeats / childRuns,
      cpu,
    };
    results.push(result);
    log(JSON.stringify(result));
  };

  for (const streamSecs of streams) {
    log(`${parents} parents × ${children} children streaming ${streamSecs} s: the fair baseline`);
    await measure('baseline', streamSecs, async () => {
      const tag = `fair-${randomUUID().slice(0, 8)}`;
      const handles = await Promise.all(
        Array.from({ length: parents }, (_, i) => client.workflow.start('fairParentWorkflow', { taskQueue: 'actions-baseline', workflowId: `${tag}-${i}`, args: [children, streamSecs] })),
      );
      await Promise.all(handles.map((h) => h.result()));
      await untilAllClosed(client, `WorkflowId STARTS_WITH '${tag}'`, parents * (children + 1));
      return `WorkflowId STARTS_WITH '${tag}'`;
    });
    for (const side of before ? (['bamboo', 'bamboo-at-start', 'bamboo-2s'] as const) : (['bamboo', 'bamboo-at-start'] as const)) {
      log(`${parents} parents × ${children} children streaming ${streamSecs} s: ${side}`);
      // bamboo-at-start runs on Bamboo's worker: the option is the session's, not the worker's.
      const queue = side === 'bamboo-at-start' ? 'actions-bamboo' : `actions-${side}`;
      await measure(side, streamSecs, () => bambooTrees(client, queue, parents, children, streamSecs, side === 'bamboo-at-start' ? { searchAttributes: 'at-start' } : {}));
    }
    // The roots idle until their time-to-live: counted up to here, then ended.
    for await (const run of client.workflow.list({ query: `WorkflowType = 'sessionWorkflow' AND ExecutionStatus = 'Running'` })) {
      await client.workflow.getHandle(run.workflowId, run.runId).terminate('bench done');
    }
  }

  await Promise.all([bamboo.stop(), baseline.stop(), before?.stop()]);
  await client.connection.close();
  await server.stop();
  const markdown = report(results, parents, children);
  console.log(markdown);
  recordResults('actions', 'What a sub-agent costs: billable actions and CPU per child run, against the fair baseline', markdown, { parents, children, results });
}

/** Bamboo's side: root sessions whose scripted model spawns `children` children streaming `streamSecs` s; resolves once each root has resumed. */
async function bambooTrees(client: Client, taskQueue: string, parents: number, children: number, streamSecs: number, options: SessionOptionsInput = {}): Promise<string> {
  const prompt = Array.from({ length: children }, (_, i) => `[[spawn:C${i + 1}|[[sleep:${streamSecs}]] part ${i + 1}]]`).join(' ');
  const ids = Array.from({ length: parents }, () => `actions-${randomUUID().slice(0, 8)}`);
  await startBenchRoots(client, taskQueue, ids, prompt, Math.max(32, children), options);
  const inTree = `BambooRootSessionId IN (${ids.map((id) => `'${id}'`).join(', ')})`;
  await untilAllClosed(client, `${inTree} AND WorkflowType = 'childSessionWorkflow'`, parents * children);
  // The root has resumed: its model call after the children's reports has completed, and the
  // task after it (which starts the idle timer) is done.
  for (const id of ids) {
    for (;;) {
      const events = (await client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory()).events ?? [];
      const completed = events.map((e, i) => (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED ? i : -1)).filter((i) => i >= 0);
      if (completed.length >= 2 && events.slice(completed[1]).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return inTree;
}

function report(results: SideResult[], parents: number, children: number): string {
  const of = (side: Side, secs: number) => results.find((r) => r.side === side && r.streamSecs === secs)!;
  const streams = [...new Set(results.map((r) => r.streamSecs))];
  const sides = (['baseline', 'bamboo', 'bamboo-at-start', 'bamboo-2s'] as const).filter((side) => results.some((r) => r.side === side));
  const dollars = (perChild: number) => ((perChild * 1000 * USD_PER_MILLION_ACTIONS) / 1e6).toFixed(3);
  const cpuTotal = (c: CpuPerRun) => c.serverMs + c.workerMs;
  const rows = streams.flatMap((secs) =>
    sides.map((side) => {
      const r = of(side, secs);
      return `| ${secs} s | ${side} | ${r.metricPerChild.toFixed(2)} | ${r.historyPerChild.toFixed(2)} | ${r.heartbeatsPerChild.toFixed(2)} | $${dollars(r.metricPerChild)} | ${cpuTotal(r.cpu).toFixed(1)} |`;
    }),
  );
  const ratios = streams.map((secs) => {
    const [b, o] = [of('baseline', secs), of('bamboo', secs)];
    const old = sides.includes('bamboo-2s') ? of('bamboo-2s', secs) : undefined;
    const before = old ? ` (with the 2 s heartbeat flush it had before: ${(old.metricPerChild / b.metricPerChild).toFixed(2)}×)` : '';
    const a = of('bamboo-at-start', secs);
    const atStart = `; with \`searchAttributes: 'at-start'\`: actions ${(a.metricPerChild / b.metricPerChild).toFixed(2)}× (metric), ${(a.historyPerChild / b.historyPerChild).toFixed(2)}× (histories + heartbeats and queries), CPU ${(cpuTotal(a.cpu) / cpuTotal(b.cpu)).toFixed(2)}×`;
    return `- ${secs} s streams: actions per child run ${(o.metricPerChild / b.metricPerChild).toFixed(2)}× (metric)${before}, ${(o.historyPerChild / b.historyPerChild).toFixed(2)}× (histories + heartbeats and queries); CPU per child run ${(cpuTotal(o.cpu) / cpuTotal(b.cpu)).toFixed(2)}×${atStart}.`;
  });
  const types = streams.flatMap((secs) =>
    sides.map((side) => {
      const r = of(side, secs);
      const byType = Object.entries(r.metric)
        .sort((a, b) => b[1] - a[1])
        .map(([type, n]) => `${type.replace(/^grpc_/, '')} ${(n / r.childRuns).toFixed(2)}`)
        .join(', ');
      return `- ${secs} s, ${side}: ${byType}`;
    }),
  );
  return [
    `${parents} parents × ${children} children per side and stream length, one worker each on one dev server, both with the SDK's heartbeat throttling (\`bamboo-at-start\`: the same worker, sessions started with \`searchAttributes: 'at-start'\`; \`bamboo-2s\`: Bamboo with the 2 s flush it had before). The server's metric counts the SDK's TemporalChangeVersion upserts beside patch markers, which Temporal Cloud does not bill; the history count leaves them out. Actions per child run include the parent's share (its start, its model calls, its timers and upserts divided by its children). Dollars at Temporal Cloud's list price of $${USD_PER_MILLION_ACTIONS} per million actions (docs/benchmarks.md). CPU in ms per child run (dev server + worker).`,
    '',
    '| stream | side | actions per child run (server metric) | actions (histories + heartbeats and queries) | heartbeats per child run | $ per 1,000 child runs | CPU ms per child run |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '**Ratios to the baseline:**',
    ...ratios,
    '',
    '**Actions per child run by type** (server metric):',
    ...types,
  ].join('\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
