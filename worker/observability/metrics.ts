/**
 * The Prometheus endpoint: the Temporal Core runtime serves its worker metrics (task slots,
 * poll latencies, schedule-to-start, sticky cache…) and every metric made through its metric
 * meter — Bamboo's own from activities (activity-telemetry.ts), workflows (workflows/interceptors/metrics.ts)
 * and this worker (`bamboo_pending_requests`) — on `/metrics` at the configured address.
 *
 * The runtime is process-wide and configured once, before the first connection: call
 * `installMetricsRuntime` first thing (runWorker does).
 */
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { BambooPendingRequests } from '../../common';
import type { ObservabilitySettings } from './settings';

export type MetricsSettings = NonNullable<ObservabilitySettings['metrics']>;

export function installMetricsRuntime(settings: MetricsSettings): Runtime {
  return Runtime.install({
    telemetryOptions: {
      metrics: {
        // Counters end in `_total` and durations say their unit, as Prometheus expects.
        prometheus: { bindAddress: settings.bindAddress, countersTotalSuffix: true, unitSuffix: true },
      },
    },
  });
}

const PENDING_QUERY = `BambooPendingRequests > 0 AND ExecutionStatus = "Running"`;
const SAMPLE_INTERVAL_MS = 15_000;

/**
 * Every `intervalMs`, sets `bamboo_pending_requests` to the requests waiting for a person across
 * all running roots of the namespace (the roots' `BambooPendingRequests`, summed; one visibility
 * list call). Each worker reports the same cluster-wide value: aggregate with `max`, not `sum`.
 * @returns a function that stops sampling.
 */
export function samplePendingRequests(client: Client, intervalMs = SAMPLE_INTERVAL_MS): () => void {
  const gauge = Runtime.instance().metricMeter.createGauge('bamboo_pending_requests', 'int', '1', 'Requests waiting for a person across running root sessions');
  let stopped = false;
  const sample = async () => {
    let total = 0;
    for await (const execution of client.workflow.list({ query: PENDING_QUERY })) total += execution.typedSearchAttributes.get(BambooPendingRequests) ?? 0;
    if (!stopped) gauge.set(total);
  };
  // A failed sample (visibility briefly unavailable) keeps the last value; the next one retries.
  const tick = () => void sample().catch(() => undefined);
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
