/**
 * Observability without a server: which variables turn what on, the GenAI span and metrics a
 * model call gets (and the prompt text it does not), and the watchdog kinds the workflow-side
 * counter tells apart.
 */
import type { Context as ActivityContext } from '@temporalio/activity';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ModelTurnInput, ModelTurnResult } from '../../common';
import { clientInterceptors, flushTraces, shutdownTraces } from '../../worker/observability';
import { ActivityTelemetryInterceptor, type ActivityTelemetryOptions } from '../../worker/observability/activity-telemetry';
import { observabilitySettings } from '../../worker/observability/settings';
import { watchdogKind } from '../../workflows/interceptors/metrics';
import { defaultProviderRegistry } from '../../worker/providers/defaults';

describe('observabilitySettings', () => {
  test('everything is off without the variables', () => {
    expect(observabilitySettings({})).toEqual({});
  });

  test('traces are on with the standard endpoint variable, over OTLP/HTTP protobuf by default, without content', () => {
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      traces: { protocol: 'http/protobuf', captureContent: false, serviceName: 'bamboo' },
    });
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).traces?.protocol).toBe('http/json');
  });

  test('the standard off switches win over an endpoint', () => {
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toEqual({});
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toEqual({});
  });

  test('prompt and answer text only when the operator asks for it', () => {
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', BAMBOO_OTEL_CAPTURE_CONTENT: 'true' }).traces?.captureContent).toBe(true);
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' }).traces?.captureContent).toBe(true);
  });

  test('metrics on a port (all interfaces) or an address', () => {
    expect(observabilitySettings({ BAMBOO_METRICS_PORT: '9464' })).toEqual({ metrics: { bindAddress: '0.0.0.0:9464' } });
    expect(observabilitySettings({ BAMBOO_METRICS_ADDRESS: '127.0.0.1:9100', BAMBOO_METRICS_PORT: '9464' })).toEqual({ metrics: { bindAddress: '127.0.0.1:9100' } });
  });

  test('a malformed variable fails at start, naming it; gRPC is refused by name', () => {
    expect(() => observabilitySettings({ BAMBOO_METRICS_PORT: 'ninety' })).toThrow(/BAMBOO_METRICS_PORT/);
    expect(() => observabilitySettings({ BAMBOO_METRICS_ADDRESS: 'localhost' })).toThrow(/BAMBOO_METRICS_ADDRESS/);
    expect(() => observabilitySettings({ BAMBOO_OTEL_CAPTURE_CONTENT: 'yes please' })).toThrow(/BAMBOO_OTEL_CAPTURE_CONTENT/);
    expect(() => observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/grpc is not supported/);
  });
});

describe('the model-call span and metrics', () => {
  const PROMPT = 'the secret plan';
  const ANSWER = 'echo: the secret plan';
  const input: ModelTurnInput = {
    sessionId: 's1',
    turn: 2,
    model: 'scripted-model',
    messages: [{ id: 'm1', role: 'user', content: PROMPT, createdAt: '2026-01-01T00:00:00.000Z' }],
    maxIdleSecs: 60,
  };
  const result: ModelTurnResult = { content: ANSWER, toolCalls: [], usage: { inputTokens: 12, outputTokens: 5 }, provider: 'scripted', warnings: [] };

  function run(options: Partial<ActivityTelemetryOptions>, outcome: () => Promise<unknown>) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const recorded: { name: string; value: number; tags?: MetricTags }[] = [];
    const meter = {
      createCounter: (name: string) => ({ add: (value: number, tags?: MetricTags) => recorded.push({ name, value, tags }) }),
      createHistogram: (name: string) => ({ record: (value: number, tags?: MetricTags) => recorded.push({ name, value, tags }) }),
    } as unknown as MetricMeter;
    const ctx = { info: { activityType: 'callModel' }, metricMeter: meter } as unknown as ActivityContext;
    const interceptor = new ActivityTelemetryInterceptor(ctx, { tracer: provider.getTracer('test'), captureContent: false, metrics: true, providers: defaultProviderRegistry(), ...options });
    const done = interceptor.execute({ args: [input], headers: {} }, outcome);
    return { done, spans: () => exporter.getFinishedSpans(), recorded };
  }

  test('a chat span with the GenAI attributes, tokens and latency by provider and model, and no text', async () => {
    const { done, spans, recorded } = run({}, async () => result);
    await expect(done).resolves.toBe(result);
    const [span] = spans();
    expect(span.name).toBe('chat scripted-model');
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.system': 'scripted',
      'gen_ai.request.model': 'scripted-model',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(JSON.stringify(span.attributes)).not.toContain('secret');
    expect(recorded).toEqual([
      { name: 'bamboo_model_tokens', value: 12, tags: { provider: 'scripted', model: 'scripted-model', type: 'input' } },
      { name: 'bamboo_model_tokens', value: 5, tags: { provider: 'scripted', model: 'scripted-model', type: 'output' } },
      { name: 'bamboo_model_call_latency', value: expect.any(Number), tags: { provider: 'scripted', model: 'scripted-model', outcome: 'ok' } },
    ]);
  });

  test('with content capture on, the messages are on the span', async () => {
    const { done, spans } = run({ captureContent: true }, async () => result);
    await done;
    const [span] = spans();
    expect(span.attributes['gen_ai.input.messages']).toContain(PROMPT);
    expect(span.attributes['gen_ai.output.messages']).toContain(ANSWER);
  });

  test('a failed call: an error span, its latency counted as an error, no tokens', async () => {
    const { done, spans, recorded } = run({}, async () => {
      throw new Error('provider down');
    });
    await expect(done).rejects.toThrow('provider down');
    expect(spans()[0].status.code).toBe(2); // SpanStatusCode.ERROR
    expect(recorded.map((r) => [r.name, r.tags?.outcome])).toEqual([['bamboo_model_call_latency', 'error']]);
  });

  test('metrics only (traces off): no span is made', async () => {
    const { done, spans, recorded } = run({ tracer: undefined }, async () => result);
    await done;
    expect(spans()).toEqual([]);
    expect(recorded).toHaveLength(3);
  });
});

test('the watchdog kind of a timed-out run comes from the reference texts', () => {
  expect(watchdogKind('Child session idle timeout after 5 seconds without events (max_idle_secs=5)')).toBe('idle');
  expect(watchdogKind('Child session timed out after 30 seconds (max_total_secs=30)')).toBe('total');
  expect(watchdogKind('Cancelled by parent')).toBeUndefined();
  expect(watchdogKind(undefined)).toBeUndefined();
});

test('a collector that is down does not change a command: flushing warns and resolves', async () => {
  const saved = { ...process.env };
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    expect(await clientInterceptors()).toEqual({ workflow: [expect.anything()] });
    trace.getTracer('test').startSpan('a span to send').end();
    await expect(flushTraces()).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^could not send traces: /));
    await expect(shutdownTraces()).resolves.toBeUndefined();
  } finally {
    process.env = saved;
    warn.mockRestore();
  }
});
