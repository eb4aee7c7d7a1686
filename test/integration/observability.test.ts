/**
 * Observability end to end (docs/observability.md): a worker process with traces on (OTLP/HTTP
 * JSON to an in-process receiver) and a Prometheus endpoint, a client in this process with the
 * tracing interceptors; one root session spawns two children. Its trace is one connected tree
 * from the client's start through both children's model calls, with the GenAI attributes and no
 * prompt or answer text; the endpoint shows the SDK's worker metrics and Bamboo's counters.
 * The worker runs in its own process: the Temporal runtime's metrics are set once per process.
 */
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker';
import { Worker } from '@temporalio/worker';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workerDataConverter } from '../../worker/codec/worker-data-converter';
import { buildWorkflowBundle } from '../../worker/bundle';
import { startSession } from '../../client/root-sessions';
import { clientInterceptors, METRICS_WORKFLOW_MODULE, shutdownTraces, TRACING_WORKFLOW_MODULE } from '../../worker/observability';
import { BambooPendingRequests, sessionWorkflowId } from '../../common';
import { eventually } from '../helpers/eventually';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { freePort, killStartedProcesses } from '../helpers/processes';
import { rootSession } from '../helpers/session-fixtures';
import { testServer, uniqueId } from '../helpers/temporal';
import { startWorkerProcess } from '../helpers/worker-process';

const TRACE_ENV = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_SERVICE_NAME: 'bamboo-test' };
/** Text only the prompts contain (and so the scripted answers, which echo them). */
const SECRET = `prompt-text-${randomUUID()}`;

let receiver: OtlpReceiver;
let client: Client;
let metricsPort: number;
const taskQueue = uniqueId('observability');
const savedEnv = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  metricsPort = await freePort();
  // This process's client exports its spans to the receiver too (the SDK reads the standard variables).
  Object.assign(process.env, TRACE_ENV, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
  await startWorkerProcess({ taskQueue, env: { BAMBOO_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` } });
  const { address, namespace } = testServer();
  client = new Client({ connection: await Connection.connect({ address }), namespace, interceptors: await clientInterceptors() });
}, 180_000);

afterAll(async () => {
  await shutdownTraces();
  await client?.connection.close();
  await killStartedProcesses();
  await receiver?.close();
  process.env = savedEnv;
});

/** Runs the tree: a root that spawns one child that calls a tool and completes and one that fails, then goes idle and closes. */
async function runTree(): Promise<string> {
  const prompt = `[[spawn:Alpha|[[tool:get_current_time|{}]] ${SECRET} alpha]] [[spawn:Beta|${SECRET} [[fail:upstream said no]]]] ${SECRET} root`;
  const session = rootSession(prompt);
  const handle = await startSession(client, { session, options: { idleTtlSecs: 2 } }, { taskQueue });
  await handle.result();
  return sessionWorkflowId(session.id);
}

let workflowId: string;
let trace: ReceivedSpan[];

test('one root with two children is one connected trace: client, workflows, activities, model calls', async () => {
  workflowId = await runTree();
  trace = await eventually(async () => {
    const start = receiver.spans().find((s) => s.name === 'StartWorkflow:sessionWorkflow' && s.attributes.temporalWorkflowId === workflowId);
    if (!start) return undefined;
    const spans = receiver.spans().filter((s) => s.traceId === start.traceId);
    return spans.some((s) => s.name === 'RunWorkflow:sessionWorkflow') && connected(spans) ? spans : undefined;
  }, { timeoutMs: 60_000, what: 'the root session trace, complete' });

  const names = trace.map((s) => s.name);
  const count = (name: string) => names.filter((n) => n === name).length;
  expect(count('StartWorkflow:sessionWorkflow')).toBe(1);
  expect(count('RunWorkflow:sessionWorkflow')).toBe(1);
  expect(count('StartChildWorkflow:childSessionWorkflow')).toBe(2);
  expect(count('RunWorkflow:childSessionWorkflow')).toBe(2);
  expect(count('SignalWorkflow:subSessionCompleted')).toBe(2);
  expect(count('HandleSignal:subSessionCompleted')).toBe(2);
  expect(count('RunActivity:callModel')).toBeGreaterThanOrEqual(5); // root: spawn + resume; Alpha: tool call + answer; Beta (fails)
  expect(names.filter((n) => n.startsWith('chat ')).length).toBe(count('RunActivity:callModel'));
  expect(count('RunActivity:runTool')).toBe(1);
  expect(count('execute_tool get_current_time')).toBe(1);

  // One tree: a single root (the client's start), every other span's parent in the same trace.
  const ids = new Set(trace.map((s) => s.spanId));
  expect(trace.filter((s) => !s.parentSpanId).map((s) => s.name)).toEqual(['StartWorkflow:sessionWorkflow']);
  expect(trace.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId))).toEqual([]);
  // A child's run hangs under its parent's start of it; a model call under its activity.
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (const run of trace.filter((s) => s.name === 'RunWorkflow:childSessionWorkflow')) expect(byId.get(run.parentSpanId)?.name).toBe('StartChildWorkflow:childSessionWorkflow');
  for (const chat of trace.filter((s) => s.name.startsWith('chat '))) expect(byId.get(chat.parentSpanId)?.name).toBe('RunActivity:callModel');
  const tool = trace.find((s) => s.name.startsWith('execute_tool '))!;
  expect(byId.get(tool.parentSpanId)?.name).toBe('RunActivity:runTool');
  expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_current_time', 'bamboo.tool.ok': true });
  // Nothing of this run escaped into another trace.
  const runSpans = receiver.spans().filter((s) => /^(RunWorkflow|RunActivity|StartActivity|StartChildWorkflow|chat )/.test(s.name));
  expect(new Set(runSpans.map((s) => s.traceId))).toEqual(new Set([trace[0].traceId]));
  expect(new Set(trace.filter((s) => s.name.startsWith('Run')).map((s) => s.service))).toEqual(new Set(['bamboo-test']));
});

test('model-call spans carry the GenAI attributes and no prompt or answer text', () => {
  const chats = trace.filter((s) => s.name.startsWith('chat '));
  for (const chat of chats) {
    expect(chat.name).toBe('chat scripted-model');
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.system': 'scripted',
      'gen_ai.request.model': 'scripted-model',
    });
  }
  const answered = chats.filter((c) => c.attributes['gen_ai.usage.output_tokens'] !== undefined);
  expect(answered.length).toBe(chats.length - 1); // Beta's call failed: no usage
  for (const chat of answered) expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
  // The spawning turn only calls tools (no text, 0 output tokens); the answers have text.
  expect(answered.filter((c) => (c.attributes['gen_ai.usage.output_tokens'] as number) > 0).length).toBeGreaterThanOrEqual(2);
  const reasons = answered.map((c) => c.attributes['gen_ai.response.finish_reasons']);
  expect(reasons).toContainEqual(['tool_calls']); // the root's spawning turn
  expect(reasons).toContainEqual(['stop']);
  expect(receiver.spans().filter((s) => s.text.includes(SECRET)).map((s) => s.name)).toEqual([]);
  expect(receiver.spans().filter((s) => 'gen_ai.input.messages' in s.attributes || 'gen_ai.output.messages' in s.attributes)).toEqual([]);
  expect(receiver.rejected()).toBe(0);
});

test('the Prometheus endpoint shows the worker metrics and Bamboo counters after the run', async () => {
  const text = await eventually(async () => {
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return sample(body, 'bamboo_child_runs_total', { status: 'error' }) === 1 ? body : undefined;
  }, { what: 'bamboo_child_runs_total{status="error"} 1' });
  expect(sample(text, 'bamboo_child_runs_total', { status: 'completed' })).toBe(1);
  expect(sample(text, 'bamboo_child_starts_total')).toBe(2);
  // The spawn queue: both children entered it and left it (depth = queued - dequeued = 0).
  expect(sample(text, 'bamboo_spawns_queued_total')).toBe(2);
  expect(sample(text, 'bamboo_spawns_dequeued_total')).toBe(2);
  expect(sample(text, 'bamboo_model_tokens_total', { provider: 'scripted', model: 'scripted-model', type: 'input' })).toBeGreaterThan(0);
  expect(sample(text, 'bamboo_model_tokens_total', { provider: 'scripted', model: 'scripted-model', type: 'output' })).toBeGreaterThan(0);
  expect(sample(text, 'bamboo_model_call_latency_ms_count', { provider: 'scripted', model: 'scripted-model', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
  expect(sample(text, 'bamboo_model_call_latency_ms_count', { outcome: 'error' })).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'bamboo_tool_calls_total', { tool: 'get_current_time', outcome: 'ok' })).toBe(1);
  expect(sample(text, 'temporal_workflow_completed_total', { workflow_type: 'childSessionWorkflow' })).toBe(2); // the SDK's own
  expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
  // The gauge is namespace-wide (every running root's BambooPendingRequests, sampled every 15 s)
  // and other test files share this server: it must agree with what visibility says.
  await eventually(
    async () => {
      const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return sample(body, 'bamboo_pending_requests') === (await pendingRequestsInNamespace()) ? true : undefined;
    },
    { what: 'bamboo_pending_requests to match the namespace', timeoutMs: 60_000 },
  );
}, 90_000);

async function pendingRequestsInNamespace(): Promise<number> {
  let total = 0;
  for await (const run of client.workflow.list({ query: 'BambooPendingRequests > 0 AND ExecutionStatus = "Running"' })) total += run.typedSearchAttributes.get(BambooPendingRequests) ?? 0;
  return total;
}

test('the traced run replays without the interceptors (turning tracing off is safe for runs in flight)', async () => {
  const runs = trace.filter((s) => s.name.startsWith('RunWorkflow:')).length;
  const ids = [workflowId];
  for await (const child of client.workflow.list({ query: `BambooParentSessionId = "${workflowId.replace('bamboo-session-', '')}"` })) ids.push(child.workflowId);
  expect(ids).toHaveLength(runs);
  const histories = await Promise.all(ids.map(async (id) => ({ workflowId: id, history: await client.workflow.getHandle(id).fetchHistory() })));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testServer().bundlePath }, dataConverter: workerDataConverter() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});

test('recorded histories replay with the tracing and metrics workflow interceptors bundled (turning them on is safe for runs in flight)', async () => {
  const code = await buildWorkflowBundle({
    workflowsPath: require.resolve('../workflows'),
    encodeFailures: false,
    extraInterceptorModules: [TRACING_WORKFLOW_MODULE, METRICS_WORKFLOW_MODULE],
  });
  const dir = join(__dirname, '..', 'replay', 'histories');
  const histories = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))) }));
  const spans = new InMemorySpanExporter();
  const sinks = { exporter: makeWorkflowExporter(new SimpleSpanProcessor(spans), Resource.default()) };
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code }, dataConverter: workerDataConverter(), sinks }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(histories.length).toBeGreaterThanOrEqual(24);
  expect(spans.getFinishedSpans()).toEqual([]); // a replay exports nothing
}, 180_000);

/** Whether every span's parent is in `spans` (the trace arrived whole). */
function connected(spans: ReceivedSpan[]): boolean {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.every((s) => !s.parentSpanId || ids.has(s.parentSpanId));
}

/** The sum of the samples of `name` whose labels include `labels` (undefined when none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) total = (total ?? 0) + Number(match[3]);
  }
  return total;
}
