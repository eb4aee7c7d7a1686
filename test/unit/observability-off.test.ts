/**
 * Off means off: with no observability variable, a worker's and a client's wiring load no
 * OpenTelemetry package and install nothing. Checked in a fresh Node process (Jest's own module
 * registry would hide what a real process loads).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

const SCRIPT = `
  const { workerObservability, clientInterceptors, flushTraces } = require('./worker/observability');
  const { defaultProviderRegistry } = require('./worker/providers/defaults');
  (async () => {
    const worker = await workerObservability(defaultProviderRegistry());
    const client = await clientInterceptors();
    await flushTraces();
    const loaded = Object.keys(require.cache).filter((p) => /@opentelemetry|interceptors-opentelemetry|observability[\\\\/](tracing|activity-telemetry|workflow-)/.test(p));
    console.log(JSON.stringify({ worker: worker ? { workflowModules: worker.workflowModules } : null, client: client ? 'installed' : null, loaded }));
  })();
`;

function run(env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('BAMBOO_METRICS') && !k.startsWith('BAMBOO_OTEL')));
  const result = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', SCRIPT], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as { worker: { workflowModules: string[] } | null; client: unknown; loaded: string[] };
}

test('with no variables: no interceptors, no workflow modules, no OpenTelemetry package loaded', () => {
  expect(run({})).toEqual({ worker: null, client: null, loaded: [] });
});

test('metrics only: Bamboo\'s workflow counters and activity interceptor; no trace SDK, exporter or tracing interceptor', () => {
  const { worker, client, loaded } = run({ BAMBOO_METRICS_PORT: '9464' });
  expect(worker?.workflowModules.map((m) => m.replace(/\\\\/g, '/').split('/').pop())).toEqual(['metrics.ts']);
  expect(client).toBeNull();
  // The OpenTelemetry API (constants, no-op tracer) comes with the activity interceptor; nothing that makes or sends spans.
  expect(loaded.filter((p) => /sdk-trace|exporter|otlp|resources|interceptors-opentelemetry|observability[\\/]tracing/.test(p))).toEqual([]);
});

test('traces on: the trace SDK, the exporter and both workflow modules (so the checks above can fail)', () => {
  const { worker, client, loaded } = run({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', BAMBOO_METRICS_PORT: '9464' });
  expect(worker?.workflowModules.map((m) => m.replace(/\\/g, '/').split('/').pop())).toEqual(['tracing.ts', 'metrics.ts']);
  expect(client).not.toBeNull();
  expect(loaded.some((p) => p.includes('sdk-trace-base'))).toBe(true);
  expect(loaded.some((p) => p.includes('exporter-trace-otlp-proto'))).toBe(true);
});
