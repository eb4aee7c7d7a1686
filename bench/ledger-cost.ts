/**
 * What the usage ledger costs per child run, in history events and bytes (npm run bench:ledger).
 *
 * A root session spawns N one-turn children on a real dev server (scripted provider), once
 * without a budget and once with a generous one (nothing runs out: only the bookkeeping
 * shows). From the histories we report per child run: the child's events and bytes, and which
 * of its events are the ledger's (the BambooTokens/BambooCostUsd upsert and its patch's marker
 * and TemporalChangeVersion upsert); the events and bytes the child adds to the parent's
 * history; and — decoding the JSON payloads of the child's input, its completion signal and
 * its result — how many of those bytes are the ledger's fields (usage, subtreeUsage, spend,
 * subtreeSpend; the input's spawnOptions.budget).
 *
 * BENCH_LEDGER_BEFORE=<results json> adds a column from the same script run on older code
 * (bench/results/ledger-cost.json of a checkout from before the ledger).
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessionState, startSession } from '../client/root-sessions';
import { startDevServer } from '../cli/temporal/dev-server';
import { createBambooWorker } from '../worker/create-worker';
import { sessionWorkflowId } from '../common';
import { mapLimit, type HistoryEvent } from './harness';
import { recordResults } from './results';

const CHILDREN = Number(process.env.BENCH_CHILDREN ?? 20);
const SCENARIOS = (process.env.BENCH_LEDGER_SCENARIOS ?? 'plain,budget').split(',');
const TASK_QUEUE = 'bench-ledger';
const BUDGET = { maxTokens: 1e9, maxCostUsd: 1000, maxSessions: 10_000 };
const { EventType } = temporal.api.enums.v1;
const { History, HistoryEvent: HistoryEventCodec } = temporal.api.history.v1;

/** The ledger's fields in each payload a child run writes, as paths into its JSON. */
const LEDGER_PATHS = {
  input: [['spawnOptions', 'budget']],
  signal: [['usage'], ['subtreeUsage'], ['spend'], ['subtreeSpend']],
  result: [['usage'], ['subtreeUsage'], ['spend'], ['subtreeSpend']],
} as const;
type PayloadKind = keyof typeof LEDGER_PATHS;

/** Mean bytes per child run of one payload: all of it, and the ledger's fields within it. */
export interface PayloadBytes {
  payload: number;
  ledger: number;
}

export interface Scenario {
  label: string;
  children: number;
  seconds: number;
  /** The child's own history (one run each). */
  childEvents: number;
  childBytes: number;
  childUpserts: number;
  /**
   * The ledger's own events in the child's history: the BambooTokens/BambooCostUsd upsert, and the
   * marker and TemporalChangeVersion upsert of its patch (bamboo-usage-search-attributes).
   */
  childLedgerEvents: number;
  childLedgerEventBytes: number;
  /** The first child's events in order, and which of them are the ledger's. */
  childEventTypes: string[];
  childLedgerEventNames: string[];
  /** Events in the parent's history that name the child: start-child (initiated, started), child closed, the signal. */
  parentEventsPerChild: number;
  parentBytesPerChild: number;
  parentSignalBytes: number;
  parentStartChildBytes: number;
  parentChildClosedBytes: number;
  /** The whole parent history divided by the children (its own turns included). */
  parentTotalEvents: number;
  parentTotalBytes: number;
  /** How many events of each type the parent's history holds. */
  parentEventTypes: Record<string, number>;
  /** Payloads per child run (each is written twice: in the child's history and in the parent's). */
  payloads: Record<PayloadKind, PayloadBytes>;
}

const eventBytes = (e: HistoryEvent): number => HistoryEventCodec.encode(e).finish().length;
const typeName = (e: HistoryEvent): string => (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
const countTypes = (events: HistoryEvent[]): Record<string, number> =>
  events.reduce<Record<string, number>>((counts, e) => ({ ...counts, [typeName(e)]: (counts[typeName(e)] ?? 0) + 1 }), {});
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

const USAGE_PATCH = 'bamboo-usage-search-attributes';
const payloadText = (payload: { data?: Uint8Array | null } | null | undefined): string => (payload?.data ? Buffer.from(payload.data).toString('utf8') : '');

/** What a ledger event is (undefined for every other event): the usage upsert, or its patch's marker or TemporalChangeVersion upsert. */
function ledgerEvent(e: HistoryEvent): string | undefined {
  const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
  if (fields) {
    const keys = Object.keys(fields);
    if (keys.includes('BambooTokens') || keys.includes('BambooCostUsd')) return `${keys.sort().join('+')} upsert`;
    if (payloadText(fields.TemporalChangeVersion).includes(USAGE_PATCH)) return 'TemporalChangeVersion upsert';
  }
  const details = Object.values(e.markerRecordedEventAttributes?.details ?? {});
  return details.some((d) => d.payloads?.some((p) => payloadText(p).includes(USAGE_PATCH))) ? 'patch marker' : undefined;
}

const decode = (payload: { data?: Uint8Array | null } | null | undefined): unknown => (payload?.data ? JSON.parse(payloadText(payload)) : undefined);

/** The JSON byte length of `value`, and of it without the fields at `paths` (the difference is theirs). */
export function ledgerBytes(value: unknown, paths: readonly (readonly string[])[]): PayloadBytes {
  if (value === undefined) return { payload: 0, ledger: 0 };
  const whole = Buffer.byteLength(JSON.stringify(value));
  const stripped = structuredClone(value) as Record<string, unknown>;
  for (const path of paths) {
    let node: Record<string, unknown> | undefined = stripped;
    for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    if (node) delete node[path.at(-1)!];
  }
  return { payload: whole, ledger: whole - Buffer.byteLength(JSON.stringify(stripped)) };
}

/** One root spawning `children` one-turn children; resolves when the root has resumed after all of them. */
async function runTree(client: Client, children: number, budget: boolean): Promise<{ rootId: string; seconds: number }> {
  const rootId = `ledger-${randomUUID().slice(0, 8)}`;
  const prompt = `${Array.from({ length: children }, (_, i) => `[[spawn:C${i + 1}|leaf ${i + 1}]]`).join(' ')} plan`;
  const session = { id: rootId, kind: 'root' as const, rootSessionId: rootId, spawnDepth: 0, model: 'bench', metadata: {}, messages: [{ id: 'u', role: 'user' as const, content: prompt, createdAt: new Date().toISOString() }] };
  const started = Date.now();
  await startSession(client, { session, options: { maxRunningChildren: Math.max(32, children), ...(budget ? { budget: BUDGET } : {}) } }, { taskQueue: TASK_QUEUE });
  for (;;) {
    const s = await sessionState(client, rootId);
    if (s.phase === 'idle' && !s.waiting && s.children.length === children && s.children.every((c) => c.status === 'completed') && s.turn >= 3) break;
    if (Date.now() - started > 300_000) throw new Error(`tree ${rootId} did not settle in 5 minutes: ${JSON.stringify(s.children.map((c) => c.status))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { rootId, seconds: (Date.now() - started) / 1000 };
}

/** The parent's events per child workflow id: start-child (initiated, started), its close, and its completion signal. */
function parentEventsByChild(events: HistoryEvent[]): Map<string, { startChild: HistoryEvent[]; closed: HistoryEvent[]; signal: HistoryEvent[] }> {
  const byChild = new Map<string, { startChild: HistoryEvent[]; closed: HistoryEvent[]; signal: HistoryEvent[] }>();
  const byInitiated = new Map<string, string>();
  const entry = (id: string) => byChild.get(id) ?? byChild.set(id, { startChild: [], closed: [], signal: [] }).get(id)!;
  for (const e of events) {
    const initiated = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (initiated?.workflowId) {
      byInitiated.set(String(e.eventId), initiated.workflowId);
      entry(initiated.workflowId).startChild.push(e);
      continue;
    }
    const child =
      e.childWorkflowExecutionStartedEventAttributes ??
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionCanceledEventAttributes ??
      e.childWorkflowExecutionTimedOutEventAttributes ??
      e.childWorkflowExecutionTerminatedEventAttributes ??
      e.startChildWorkflowExecutionFailedEventAttributes;
    const childId = child ? byInitiated.get(String(child.initiatedEventId)) : undefined;
    if (childId) entry(childId)[e.childWorkflowExecutionStartedEventAttributes ? 'startChild' : 'closed'].push(e);
    const signaled = decode(e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]) as { childSessionId?: string } | undefined;
    if (e.workflowExecutionSignaledEventAttributes?.signalName === 'subSessionCompleted' && signaled?.childSessionId) {
      entry(sessionWorkflowId(signaled.childSessionId)).signal.push(e);
    }
  }
  return byChild;
}

async function measure(client: Client, label: string, budget: boolean): Promise<Scenario> {
  const { rootId, seconds } = await runTree(client, CHILDREN, budget);
  const parent = client.workflow.getHandle(sessionWorkflowId(rootId));
  const parentHistory = await parent.fetchHistory();
  const parentEvents = parentHistory.events ?? [];
  const byChild = parentEventsByChild(parentEvents);
  const childIds = [...byChild.keys()];
  const children = await mapLimit(childIds, 4, async (childId) => {
    const history = await client.workflow.getHandle(childId).fetchHistory();
    const events = history.events ?? [];
    const ledger = events.filter((e) => ledgerEvent(e));
    const p = byChild.get(childId)!;
    return {
      events: events.length,
      bytes: History.encode(history).finish().length,
      types: events.map((e) => (ledgerEvent(e) ? `${typeName(e)} (ledger: ${ledgerEvent(e)})` : typeName(e))),
      upserts: events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length,
      ledgerEvents: ledger.map(ledgerEvent),
      ledgerEventBytes: ledger.reduce((n, e) => n + eventBytes(e), 0),
      parentEvents: p.startChild.length + p.closed.length + p.signal.length,
      signalBytes: p.signal.reduce((n, e) => n + eventBytes(e), 0),
      startChildBytes: p.startChild.reduce((n, e) => n + eventBytes(e), 0),
      closedBytes: p.closed.reduce((n, e) => n + eventBytes(e), 0),
      input: ledgerBytes(decode(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]), LEDGER_PATHS.input),
      signal: ledgerBytes(decode(events.find((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)?.signalExternalWorkflowExecutionInitiatedEventAttributes?.input?.payloads?.[0]), LEDGER_PATHS.signal),
      result: ledgerBytes(decode(events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]), LEDGER_PATHS.result),
    };
  });
  await parent.terminate('bench done');
  const avg = (pick: (c: (typeof children)[number]) => number) => mean(children.map(pick));
  const payload = (kind: PayloadKind): PayloadBytes => ({ payload: avg((c) => c[kind].payload), ledger: avg((c) => c[kind].ledger) });
  return {
    label,
    children: children.length,
    seconds,
    childEvents: avg((c) => c.events),
    childBytes: avg((c) => c.bytes),
    childUpserts: avg((c) => c.upserts),
    childLedgerEvents: avg((c) => c.ledgerEvents.length),
    childLedgerEventBytes: avg((c) => c.ledgerEventBytes),
    childEventTypes: children[0]?.types ?? [],
    childLedgerEventNames: (children[0]?.ledgerEvents ?? []).map(String),
    parentEventsPerChild: avg((c) => c.parentEvents),
    parentBytesPerChild: avg((c) => c.signalBytes + c.startChildBytes + c.closedBytes),
    parentSignalBytes: avg((c) => c.signalBytes),
    parentStartChildBytes: avg((c) => c.startChildBytes),
    parentChildClosedBytes: avg((c) => c.closedBytes),
    parentTotalEvents: parentEvents.length / children.length,
    parentTotalBytes: History.encode(parentHistory).finish().length / children.length,
    parentEventTypes: countTypes(parentEvents),
    payloads: { input: payload('input'), signal: payload('signal'), result: payload('result') },
  };
}

/** The figures this benchmark is read against: the `bench` section's events per child run, and optionally an older run of this script. */
function earlierFigures(): { bench?: { at: string; eventsPerChild: number }; before?: { at: string; label: string; scenario: Scenario } } {
  const benchFile = join(__dirname, 'results', 'bench.json');
  const bench = existsSync(benchFile) ? (JSON.parse(readFileSync(benchFile, 'utf8')) as { at: string; data: { bamboo: { eventsPerChild: number } } }) : undefined;
  const beforeFile = process.env.BENCH_LEDGER_BEFORE;
  const before = beforeFile ? (JSON.parse(readFileSync(beforeFile, 'utf8')) as { at: string; data: { commit?: string; scenarios: Scenario[] } }) : undefined;
  const beforePlain = before?.data.scenarios.find((s) => s.label === 'no budget');
  return {
    ...(bench ? { bench: { at: bench.at, eventsPerChild: bench.data.bamboo.eventsPerChild } } : {}),
    ...(before && beforePlain ? { before: { at: before.at, label: `before the ledger${before.data.commit ? ` (${before.data.commit})` : ''}`, scenario: beforePlain } } : {}),
  };
}

const round = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${round(Math.abs(n))}`;
/** The ledger's field bytes in one copy of a child run's three payloads (the child's history holds one, the parent's another). */
const fieldBytes = (s: Scenario): number => s.payloads.input.ledger + s.payloads.signal.ledger + s.payloads.result.ledger;
const payloadBytes = (s: Scenario): number => s.payloads.input.payload + s.payloads.signal.payload + s.payloads.result.payload;

function table(columns: { label: string; s: Scenario }[]): string[] {
  const row = (name: string, value: (s: Scenario) => string) => `| ${name} | ${columns.map((c) => value(c.s)).join(' | ')} |`;
  const bytes = (p: PayloadBytes) => `${round(p.payload)} / ${round(p.ledger)}`;
  return [
    `| per child run | ${columns.map((c) => c.label).join(' | ')} |`,
    `|---|${columns.map(() => '---:').join('|')}|`,
    row('child history: events', (s) => round(s.childEvents)),
    row('child history: bytes', (s) => round(s.childBytes)),
    row('child: search-attribute upserts', (s) => round(s.childUpserts)),
    row("child: the ledger's events (usage upsert; its patch's marker and TemporalChangeVersion upsert): events / bytes", (s) => `${round(s.childLedgerEvents)} / ${round(s.childLedgerEventBytes)}`),
    row('parent history: events naming the child (start-child initiated + started, child completed, signal)', (s) => round(s.parentEventsPerChild)),
    row('parent history: bytes of those events', (s) => round(s.parentBytesPerChild)),
    row('… the completion signal (WorkflowExecutionSignaled)', (s) => round(s.parentSignalBytes)),
    row('… start-child (initiated + started)', (s) => round(s.parentStartChildBytes)),
    row('… child completed (ChildWorkflowExecutionCompleted)', (s) => round(s.parentChildClosedBytes)),
    row("parent history ÷ children: events / bytes (its own turns and workflow tasks included)", (s) => `${round(s.parentTotalEvents)} / ${round(s.parentTotalBytes)}`),
    row('payload / ledger bytes: input (SpawnJob; spawnOptions.budget)', (s) => bytes(s.payloads.input)),
    row('payload / ledger bytes: completion signal (usage, subtreeUsage, spend, subtreeSpend)', (s) => bytes(s.payloads.signal)),
    row('payload / ledger bytes: result (spend, subtreeSpend)', (s) => bytes(s.payloads.result)),
    row("ledger field bytes in each history's copy of the three payloads", (s) => `${round(fieldBytes(s))} (${((100 * fieldBytes(s)) / payloadBytes(s)).toFixed(1)} %)`),
  ];
}

function report(scenarios: Scenario[], earlier: ReturnType<typeof earlierFigures>): string {
  const columns = [...(earlier.before ? [{ label: earlier.before.label, s: earlier.before.scenario }] : []), ...scenarios.map((s) => ({ label: s.label, s }))];
  const prose: string[] = [
    '',
    `${CHILDREN} one-turn children of one root (\`[[spawn:C1|leaf 1]] … plan\`), scripted provider, one in-process worker, in-memory dev server;`,
    `budget \`${JSON.stringify(BUDGET)}\`. Means per child run; bytes are protobuf-encoded history events, payload bytes their JSON.`,
    "Each payload is written twice — in the child's history (its start, its signal, its result) and in the parent's (start-child",
    'initiated, signaled, child completed) — so its ledger field bytes count once in each history.',
  ];
  for (const s of scenarios) {
    prose.push(
      '',
      `**${s.label}:** the ledger costs the child's history ${round(s.childLedgerEvents)} events of ${round(s.childLedgerEventBytes)} bytes` +
        ` (${s.childLedgerEventNames.join(', ') || 'none'}; the patch is \`${USAGE_PATCH}\`) and ${round(fieldBytes(s))} bytes of fields (signal ${round(s.payloads.signal.ledger)},` +
        ` result ${round(s.payloads.result.ledger)}, input ${round(s.payloads.input.ledger)}): ${round(s.childLedgerEventBytes + fieldBytes(s))} bytes;` +
        ` the parent's history 0 events and ${round(fieldBytes(s))} bytes (its copies of the same fields).`,
    );
  }
  const [plain, withBudget] = [scenarios.find((s) => s.label === 'no budget'), scenarios.find((s) => s.label === 'with budget')];
  if (plain && withBudget) {
    prose.push(
      '',
      `The budget itself adds ${signed(withBudget.childEvents - plain.childEvents)} events, ${signed(withBudget.childBytes - plain.childBytes)} bytes to the child's history` +
        ` and ${signed(withBudget.parentBytesPerChild - plain.parentBytesPerChild)} bytes to the parent's events naming the child (the child's share in \`spawnOptions.budget\`).`,
    );
  }
  if (earlier.bench && plain) {
    const delta = plain.childEvents - earlier.bench.eventsPerChild;
    prose.push(
      '',
      `Against the \`bench\` section (recorded ${earlier.bench.at}, before the ledger): ${round(earlier.bench.eventsPerChild)} events per child run then,` +
        ` ${round(plain.childEvents)} now without a budget (${signed(delta)}; the ledger's own events: ${round(plain.childLedgerEvents)}).`,
    );
  }
  if (earlier.before && plain) {
    const b = earlier.before.scenario;
    prose.push(
      '',
      `Against this script on the code ${earlier.before.label} (recorded ${earlier.before.at}): the child's history ${signed(plain.childEvents - b.childEvents)} events,` +
        ` ${signed(plain.childBytes - b.childBytes)} bytes; the parent's events naming the child ${signed(plain.parentEventsPerChild - b.parentEventsPerChild)} events,` +
        ` ${signed(plain.parentBytesPerChild - b.parentBytesPerChild)} bytes. (Before the ledger the completion signal already carried \`usage\`: ${round(fieldBytes(b))} bytes.)`,
    );
  }
  return [...table(columns), ...prose].join('\n');
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createBambooWorker({ connection, client, namespace: 'default', taskQueue: TASK_QUEUE });
  const scenarios: Scenario[] = [];
  await worker.runUntil(async () => {
    for (const name of SCENARIOS) {
      const scenario = await measure(client, name === 'budget' ? 'with budget' : 'no budget', name === 'budget');
      scenarios.push(scenario);
      console.log(JSON.stringify({ ...scenario, childEventTypes: undefined, parentEventTypes: undefined }));
    }
  });
  const earlier = earlierFigures();
  const markdown = report(scenarios, earlier);
  console.log(`\n${markdown}`);
  recordResults('ledger-cost', 'Usage ledger: cost per child run in history events and bytes', markdown, { children: CHILDREN, budget: BUDGET, commit: process.env.BENCH_LEDGER_COMMIT, scenarios, earlier });
  await connection.close();
  await client.connection.close();
  await server.stop();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
