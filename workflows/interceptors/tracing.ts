/**
 * A workflow interceptor module (bundled when traces are on, see worker/observability/index.ts): the SDK's
 * OpenTelemetry workflow interceptors, made safe to turn on or off while runs are in flight.
 *
 * Two things in the SDK's interceptors change what a workflow does, so a run recorded with
 * tracing off would not replay with it on (and the reverse); the replay fixtures show both:
 *
 * 1. Span and trace ids come from OpenTelemetry's `RandomIdGenerator`, i.e. `Math.random()`,
 *    which in a workflow is the seeded stream `uuid4()` draws child session ids from: every span
 *    shifted the ids generated after it ("Child workflow id of scheduled event … does not
 *    match"). Here every interceptor method runs in `getRandomStream(…).with(…)`: spans draw
 *    from a named stream derived from the workflow's seed (stable on replay), and `next(…)`
 *    gives the workflow its own stream back (the SDK restores the downstream random scope).
 * 2. The outbound spans await their call before handing its promise back, a few microtasks
 *    later than without the interceptor: an update that signals a child and completes in the
 *    activation where the main loop cancels a timer then completes after it ("Timer machine does
 *    not handle this event: WorkflowExecutionUpdateCompleted"). Here the outbound calls that
 *    return promises (activities, child starts, signals) hand back the call's own promise and
 *    end their span beside it, so the workflow sees each result in the same microtask as
 *    without tracing. Workflow execution and inbound signal/update spans stay the SDK's: their
 *    extra microtasks come after the workflow code they wrap.
 */
import * as otel from '@opentelemetry/api';
import { headersWithContext } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { interceptors as openTelemetryInterceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';
import { ApplicationFailureCategory } from '@temporalio/common';
import {
  ApplicationFailure,
  getRandomStream,
  type ActivityInput,
  type LocalActivityInput,
  type Next,
  type SignalWorkflowInput,
  type StartChildWorkflowExecutionInput,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
  type WorkflowRandomStream,
} from '@temporalio/workflow';

const STREAM = 'bamboo.observability.tracing';
/** The SDK's workflow tracer name (its provider is registered when its interceptors are made). */
const TRACER = '@temporalio/interceptor-workflow';

export const interceptors = (): WorkflowInterceptors => {
  const stream = getRandomStream(STREAM);
  const inner = openTelemetryInterceptors();
  return {
    inbound: inner.inbound?.map((i) => ownRandom(i, stream)),
    // The SDK's outbound interceptor keeps the calls ours does not make spans for (continue-as-new, log attributes…).
    outbound: [ownRandom(new SameTickOutboundSpans(), stream), ...(inner.outbound ?? []).map((i) => ownRandom(i, stream, REPLACED))],
    internals: inner.internals?.map((i) => ownRandom(i, stream)),
  };
};

// eslint-disable-next-line no-restricted-syntax -- read-only (ReadonlySet)
const REPLACED: ReadonlySet<PropertyKey> = new Set(['scheduleActivity', 'scheduleLocalActivity', 'startChildWorkflowExecution', 'signalWorkflow']);

/** Spans around outbound calls that hand back the call's own promise (see 2. above). */
class SameTickOutboundSpans implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    return spanned(`StartActivity:${input.activityType}`, (headers) => next({ ...input, headers }), input.headers);
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>) {
    return spanned(`StartActivity:${input.activityType}`, (headers) => next({ ...input, headers }), input.headers);
  }

  startChildWorkflowExecution(input: StartChildWorkflowExecutionInput, next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>) {
    return spanned(`StartChildWorkflow:${input.workflowType}`, (headers) => next({ ...input, headers }), input.headers);
  }

  signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>) {
    return spanned(`SignalWorkflow:${input.signalName}`, (headers) => next({ ...input, headers }), input.headers);
  }
}

/**
 * Starts a span (child of the active one), calls `call` with headers carrying it, and returns
 * the call's promise untouched; the span ends when it settles, with the SDK's status rules.
 */
function spanned<T>(name: string, call: (headers: ActivityInput['headers']) => Promise<T>, headers: ActivityInput['headers']): Promise<T> {
  const span = otel.trace.getTracer(TRACER).startSpan(name);
  const result = otel.context.with(otel.trace.setSpan(otel.context.active(), span), () => call(headersWithContext(headers)));
  result.then(
    () => {
      span.setStatus({ code: otel.SpanStatusCode.OK });
      span.end();
    },
    (error: unknown) => {
      const benign = error instanceof ApplicationFailure && error.category === ApplicationFailureCategory.BENIGN;
      span.setStatus({ code: benign ? otel.SpanStatusCode.UNSET : otel.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.recordException(error as Error);
      span.end();
    },
  );
  return result;
}

/**
 * `interceptor` with each of its methods run under `stream` as the current random source, and
 * without the methods in `hidden` (the SDK composes only the methods an interceptor has).
 */
function ownRandom<T extends object>(interceptor: T, stream: WorkflowRandomStream, hidden: ReadonlySet<PropertyKey> = new Set()): T {
  return new Proxy(interceptor, {
    get(target, property, receiver) {
      if (hidden.has(property)) return undefined;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => stream.with(() => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}
