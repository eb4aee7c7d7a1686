/**
 * A workflow interceptor module (bundled into the workflow code when metrics are on; see
 * worker/observability/index.ts): Bamboo's workflow-side counters, read off what the workflows already do,
 * so the session workflows stay free of telemetry.
 *
 * - `bamboo_child_runs{status}`: every child run that ends, by its terminal status (the
 *   `ChildRunResult` that `childSessionWorkflow` returns; `failed` when the run itself failed).
 * - `bamboo_watchdog_firings{kind}`: runs that ended `timeout`, `idle` or `total` after the
 *   reference's messages.
 * - `bamboo_child_starts`: child runs a parent started.
 *
 * Deterministic and replay-safe: it reads only inputs and results, and the SDK's workflow
 * `metricMeter` emits nothing while a history replays.
 */
import {
  ContinueAsNew,
  metricMeter,
  workflowInfo,
  type Next,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

const CHILD_WORKFLOW_TYPE = 'childSessionWorkflow';

class ChildRunCounters implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    if (workflowInfo().workflowType !== CHILD_WORKFLOW_TYPE) return next(input);
    let result: unknown;
    try {
      result = await next(input);
    } catch (error) {
      if (!(error instanceof ContinueAsNew)) countRun('failed', undefined);
      throw error;
    }
    const { status, error } = (result ?? {}) as { status?: string; error?: string };
    countRun(status ?? 'unknown', error);
    return result;
  }
}

class ChildStartCounter implements WorkflowOutboundCallsInterceptor {
  async startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): ReturnType<Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>> {
    if (input.workflowType === CHILD_WORKFLOW_TYPE) metricMeter.createCounter('bamboo_child_starts', '1', 'Child runs started by a parent').add(1);
    return next(input);
  }
}

function countRun(status: string, error: string | undefined): void {
  metricMeter.createCounter('bamboo_child_runs', '1', 'Child runs ended, by terminal status').add(1, { status });
  const kind = status === 'timeout' ? watchdogKind(error) : undefined;
  if (kind) metricMeter.createCounter('bamboo_watchdog_firings', '1', 'Child runs ended by a watchdog (idle|total)').add(1, { kind });
}

/** The reference's texts (DESIGN.md §4): `…idle timeout after…` and `…timed out after…`. */
export function watchdogKind(error: string | undefined): 'idle' | 'total' | undefined {
  if (!error) return undefined;
  if (error.includes('idle timeout after')) return 'idle';
  if (error.includes('timed out after')) return 'total';
  return undefined;
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new ChildRunCounters()],
  outbound: [new ChildStartCounter()],
});
