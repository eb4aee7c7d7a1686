/**
 * The OpenTelemetry trace SDK of this process, started at most once and only when traces are
 * on (settings.ts): a tracer provider registered globally (W3C propagation, async-local
 * context, so an activity's own spans nest under the SDK's `RunActivity` span), batching spans
 * to the OTLP/HTTP exporter the standard variables describe.
 *
 * Why the 1.x SDK line: `@temporalio/interceptors-opentelemetry` 1.24 is built on
 * `@opentelemetry/sdk-trace-base` 1.x; its workflow spans cross the sandbox as 1.x
 * `ReadableSpan`s, which 2.x exporters do not read.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ObservabilitySettings } from './settings';

export type TraceSettings = NonNullable<ObservabilitySettings['traces']>;

export interface Tracing {
  settings: TraceSettings;
  tracer: Tracer;
  resource: Resource;
  /** Where workflow spans (handed out of the sandbox by the SDK's sink) go too. */
  spanProcessor: SpanProcessor;
  /** Sends what is buffered (a CLI command calls it before the process exits). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let started: Tracing | undefined;

/** The process's trace SDK, started on first call (later calls get the same one). */
export function startTracing(settings: TraceSettings): Tracing {
  if (started) return started;
  const resource = Resource.default().merge(new Resource({ 'service.name': settings.serviceName }));
  // The exporters read OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT / _HEADERS / _TIMEOUT themselves.
  const exporter = settings.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
  const spanProcessor = new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  started = {
    settings,
    tracer: trace.getTracer('bamboo'),
    resource,
    spanProcessor,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return started;
}

/** The started SDK, if any. */
export function currentTracing(): Tracing | undefined {
  return started;
}
