/**
 * Observability wiring (docs/observability.md): what a worker and a client add when the
 * operator turned traces or metrics on (settings.ts), and nothing at all when not — the
 * OpenTelemetry packages are loaded only then.
 *
 * A trace follows one root session request: the client's `StartWorkflow:sessionWorkflow` span
 * → the root's `RunWorkflow` → its activities' spans and its children's `StartChildWorkflow`
 * → each child's `RunWorkflow` → `RunActivity:callModel` → `chat <model>` (GenAI attributes),
 * `RunActivity:runTool` → `execute_tool <name>`, and the child's `SignalWorkflow:subSessionCompleted`
 * back to the parent. Temporal's interceptors carry the context in headers, replay-safe.
 */
import type { ClientInterceptors } from '@temporalio/client';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { ProviderRegistry } from '../providers/router';
import { observabilitySettings, type ObservabilitySettings } from './settings';

export { observabilitySettings, type ObservabilitySettings } from './settings';

/**
 * The SDK's OpenTelemetry workflow interceptors (spans in the sandbox, context in headers), on a
 * random stream of their own. Sandbox code lives under workflows/, where the determinism lint
 * covers it; it is bundled only when traces are on.
 */
export const TRACING_WORKFLOW_MODULE = require.resolve('../../workflows/interceptors/tracing');
/** Bamboo's workflow-side counters (workflows/interceptors/metrics.ts), bundled only when metrics are on. */
export const METRICS_WORKFLOW_MODULE = require.resolve('../../workflows/interceptors/metrics');

export interface WorkerObservability {
  /** Workflow interceptor modules the workflow bundle must include. */
  workflowModules: string[];
  activity: ActivityInterceptorsFactory[];
  sinks?: WorkerOptions['sinks'];
}

/** The worker's interceptors and sinks; undefined when traces and metrics are both off. */
export async function workerObservability(providers: ProviderRegistry, settings: ObservabilitySettings = observabilitySettings()): Promise<WorkerObservability | undefined> {
  return workerObservabilitySync(providers, settings);
}

/** The same, for a caller that cannot wait (the plugin's constructor): the OpenTelemetry modules load synchronously. */
export function workerObservabilitySync(providers: ProviderRegistry, settings: ObservabilitySettings): WorkerObservability | undefined {
  if (!settings.traces && !settings.metrics) return undefined;
  const { ActivityTelemetryInterceptor } = onDemand<typeof import('./activity-telemetry')>('./activity-telemetry');
  const workflowModules: string[] = [];
  const activity: ActivityInterceptorsFactory[] = [];
  let sinks: WorkerOptions['sinks'];
  let tracer;
  if (settings.traces) {
    const { startTracing } = onDemand<typeof import('./tracing')>('./tracing');
    const otel = onDemand<typeof import('@temporalio/interceptors-opentelemetry/lib/worker')>('@temporalio/interceptors-opentelemetry/lib/worker');
    const tracing = startTracing(settings.traces);
    tracer = tracing.tracer;
    workflowModules.push(TRACING_WORKFLOW_MODULE);
    activity.push((ctx) => ({
      inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
    }));
    // Workflow spans are made in the sandbox and handed out through this sink (not during replay).
    sinks = { exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
  }
  if (settings.metrics) workflowModules.push(METRICS_WORKFLOW_MODULE);
  const options = { tracer, captureContent: settings.traces?.captureContent ?? false, metrics: Boolean(settings.metrics), providers };
  activity.push((ctx) => ({ inbound: new ActivityTelemetryInterceptor(ctx, options) }));
  return { workflowModules, activity, sinks };
}

/** A Temporal Client's interceptors: the trace context goes out with starts, signals and updates. */
export async function clientInterceptors(settings: ObservabilitySettings = observabilitySettings()): Promise<ClientInterceptors | undefined> {
  if (!settings.traces) return undefined;
  const { startTracing } = onDemand<typeof import('./tracing')>('./tracing');
  const { OpenTelemetryWorkflowClientInterceptor } = onDemand<typeof import('@temporalio/interceptors-opentelemetry/lib/client')>('@temporalio/interceptors-opentelemetry/lib/client');
  startTracing(settings.traces);
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * Sends buffered spans, if tracing was started (a CLI command's last step before exit). Never
 * throws and waits at most `limitMs`: a collector that is down or slow must not change a
 * command's outcome or hold it up (the spans are then lost, with a warning).
 */
export async function flushTraces(limitMs = 3000): Promise<void> {
  if (!observabilitySettings().traces) return;
  const { currentTracing } = onDemand<typeof import('./tracing')>('./tracing');
  await bounded(currentTracing()?.flush(), limitMs, 'send traces');
}

/** Flushes and stops the trace SDK, if it was started (a worker's last step); like `flushTraces`, never throws. */
export async function shutdownTraces(limitMs = 5000): Promise<void> {
  if (!observabilitySettings().traces) return;
  const { currentTracing } = onDemand<typeof import('./tracing')>('./tracing');
  await bounded(currentTracing()?.shutdown(), limitMs, 'send the last traces');
}

async function bounded(work: Promise<void> | undefined, limitMs: number, what: string): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer from the OTLP endpoint within ${limitMs} ms`), limitMs);
    timer.unref();
  });
  const problem = await Promise.race([work.then(() => undefined, (error: unknown) => String(error)), late]);
  clearTimeout(timer);
  if (problem) console.warn(`could not ${what}: ${problem}`);
}

/**
 * A module loaded only when its feature is on. Not `import()`: under `node --require tsx/cjs`
 * (`npm start`, `npm run worker`) a dynamic import goes to Node's ESM loader, which does not
 * resolve extensionless TypeScript paths.
 */
function onDemand<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}
