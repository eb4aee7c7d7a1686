/**
 * What the operator turned on, read once from the environment (docs/observability.md).
 *
 * - Traces: on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set
 *   (the standard variables; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keep them
 *   off). Protocol from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`:
 *   `http/protobuf` (the standard default) or `http/json`; `grpc` is refused by name.
 * - Prompt and answer text on model spans: only with `BAMBOO_OTEL_CAPTURE_CONTENT=true` (or the
 *   GenAI instrumentations' `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
 * - Metrics: a Prometheus endpoint at `BAMBOO_METRICS_ADDRESS` (host:port) or on
 *   `BAMBOO_METRICS_PORT` (all interfaces), with the SDK's worker metrics and Bamboo's own.
 * Off means off: no interceptor installed, no SDK started, no workflow module bundled.
 */
import { z } from 'zod';
import { describeZodError } from '../../common';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface ObservabilitySettings {
  /** Absent: no tracing. */
  traces?: { protocol: OtlpProtocol; captureContent: boolean; serviceName: string };
  /** Absent: no Prometheus endpoint. */
  metrics?: { bindAddress: string };
}

const flag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');
const nonEmpty = z.string().trim().min(1).optional();

const ObservabilityEnvSchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: nonEmpty,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: nonEmpty,
  OTEL_EXPORTER_OTLP_PROTOCOL: nonEmpty,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: nonEmpty,
  OTEL_SDK_DISABLED: flag,
  OTEL_TRACES_EXPORTER: nonEmpty,
  OTEL_SERVICE_NAME: nonEmpty,
  BAMBOO_OTEL_CAPTURE_CONTENT: flag,
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: flag,
  BAMBOO_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  BAMBOO_METRICS_ADDRESS: z
    .string()
    .trim()
    .regex(/^\[?[\w.:-]*\]?:\d{1,5}$/, 'must be host:port (e.g. 0.0.0.0:9464)')
    .optional(),
});

/** Throws, naming the variable, when one is malformed: an operator should learn it at start. */
export function observabilitySettings(env: NodeJS.ProcessEnv = process.env): ObservabilitySettings {
  const parsed = ObservabilityEnvSchema.safeParse(blankToUndefined(env));
  if (!parsed.success) throw new Error(`invalid observability environment: ${describeZodError(parsed.error)}`);
  const e = parsed.data;
  const settings: ObservabilitySettings = {};
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint && !e.OTEL_SDK_DISABLED && e.OTEL_TRACES_EXPORTER !== 'none') {
    settings.traces = {
      protocol: otlpProtocol(e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL),
      captureContent: e.BAMBOO_OTEL_CAPTURE_CONTENT || e.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
      serviceName: e.OTEL_SERVICE_NAME ?? 'bamboo',
    };
  }
  const bindAddress = e.BAMBOO_METRICS_ADDRESS ?? (e.BAMBOO_METRICS_PORT ? `0.0.0.0:${e.BAMBOO_METRICS_PORT}` : undefined);
  if (bindAddress) settings.metrics = { bindAddress };
  return settings;
}

function otlpProtocol(value: string | undefined): OtlpProtocol {
  if (value === undefined || value === 'http/protobuf') return 'http/protobuf';
  if (value === 'http/json') return 'http/json';
  throw new Error(`invalid observability environment: OTEL_EXPORTER_OTLP_PROTOCOL=${value} is not supported (use http/protobuf or http/json; an OTLP/gRPC collector also listens on OTLP/HTTP, usually :4318)`);
}

/** An empty variable counts as unset (compose files write `VAR: ${VAR:-}`). */
function blankToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
}
