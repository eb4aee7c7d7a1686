/**
 * What Bamboo adds to each model, tool and runner activity, as an activity interceptor (so the
 * activities themselves stay free of telemetry):
 *
 * - traces: a span under the SDK's `RunActivity:<type>` span, named and attributed after the
 *   OpenTelemetry GenAI semantic conventions — `chat <model>` with `gen_ai.provider.name` (and
 *   the older `gen_ai.system`), `gen_ai.request.model`, `gen_ai.usage.input_tokens` /
 *   `output_tokens`, `gen_ai.response.finish_reasons`; `execute_tool <name>` with
 *   `gen_ai.tool.name` (MCP tools are tool calls named `mcp__<server>__<tool>`); `invoke_agent`
 *   for an external runner. Prompt and answer text only when the operator turned it on.
 * - metrics (through the activity's metric meter, i.e. the worker's Prometheus endpoint):
 *   model-call latency and tokens by provider and model, tool calls by tool and outcome.
 *
 * The finish reason is derived (the provider interface does not report one): `tool_calls` when
 * the reply calls tools, else `stop`.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { Context as ActivityContext } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import type { ModelTurnInput, ModelTurnResult, ToolCallInput, ToolCallOutcome } from '../../common';
import { resolveProvider, type ProviderRegistry } from '../providers/router';

export interface ActivityTelemetryOptions {
  /** Absent: no spans (metrics only). */
  tracer?: Tracer;
  captureContent: boolean;
  /** Absent: no metrics. */
  metrics: boolean;
  providers: ProviderRegistry;
}

type Execute = Next<ActivityInboundCallsInterceptor, 'execute'>;

export class ActivityTelemetryInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: ActivityContext,
    private readonly options: ActivityTelemetryOptions,
  ) {}

  execute(input: ActivityExecuteInput, next: Execute): Promise<unknown> {
    switch (this.ctx.info.activityType) {
      case 'callModel':
        return this.modelCall(input, next);
      case 'runTool':
        return this.toolCall(input, next);
      case 'runExternalChild':
        return this.traced('invoke_agent external', SpanKind.CLIENT, { 'gen_ai.operation.name': 'invoke_agent' }, () => next(input));
      default:
        return next(input);
    }
  }

  private async modelCall(input: ActivityExecuteInput, next: Execute): Promise<unknown> {
    const request = input.args[0] as ModelTurnInput;
    const { provider, model } = this.route(request);
    const started = Date.now();
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': provider,
      'gen_ai.system': provider,
      'gen_ai.request.model': model,
      'bamboo.session.id': request?.sessionId,
      'bamboo.turn': request?.turn,
    };
    if (this.options.captureContent && request?.messages) attributes['gen_ai.input.messages'] = JSON.stringify(request.messages.map(({ role, content }) => ({ role, content })));
    let outcome = 'error';
    try {
      const result = (await this.traced(`chat ${model}`, SpanKind.CLIENT, attributes, () => next(input), (span, value) => this.describeReply(span, value as ModelTurnResult))) as ModelTurnResult;
      outcome = 'ok';
      this.recordTokens(this.ctx.metricMeter, provider, model, result);
      return result;
    } finally {
      if (this.options.metrics) {
        this.ctx.metricMeter
          .createHistogram('bamboo_model_call_latency', 'int', 'ms', 'Model call duration (one activity attempt), by provider, model and outcome')
          .record(Date.now() - started, { provider, model, outcome });
      }
    }
  }

  private describeReply(span: Span, result: ModelTurnResult): void {
    span.setAttributes({
      'gen_ai.provider.name': result.provider,
      'gen_ai.usage.input_tokens': result.usage.inputTokens,
      'gen_ai.usage.output_tokens': result.usage.outputTokens,
      'gen_ai.response.finish_reasons': [result.toolCalls.length > 0 ? 'tool_calls' : 'stop'],
    });
    if (result.usage.cachedInputTokens !== undefined) span.setAttribute('gen_ai.usage.cache_read.input_tokens', result.usage.cachedInputTokens);
    if (this.options.captureContent) {
      span.setAttribute('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', content: result.content, tool_calls: result.toolCalls.map((c) => c.name) }]));
    }
  }

  private recordTokens(meter: MetricMeter, provider: string, model: string, result: ModelTurnResult): void {
    if (!this.options.metrics) return;
    const tokens = meter.createCounter('bamboo_model_tokens', 'tokens', 'Tokens used by model calls, by provider, model and type (input|output)');
    tokens.add(result.usage.inputTokens, { provider: result.provider ?? provider, model, type: 'input' });
    tokens.add(result.usage.outputTokens, { provider: result.provider ?? provider, model, type: 'output' });
  }

  private async toolCall(input: ActivityExecuteInput, next: Execute): Promise<unknown> {
    const request = input.args[0] as ToolCallInput;
    const tool = request?.call?.name ?? 'unknown';
    const attributes: Attributes = { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': request?.call?.id, 'bamboo.session.id': request?.sessionId };
    let outcome = 'error';
    try {
      const result = (await this.traced(`execute_tool ${tool}`, SpanKind.INTERNAL, attributes, () => next(input), (span, value) => {
        const ok = (value as ToolCallOutcome).ok;
        span.setAttribute('bamboo.tool.ok', ok);
        if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
      })) as ToolCallOutcome;
      outcome = result.ok ? 'ok' : 'error_result';
      return result;
    } finally {
      if (this.options.metrics) this.ctx.metricMeter.createCounter('bamboo_tool_calls', '1', 'Tool calls (MCP tools included), by tool and outcome').add(1, { tool, outcome });
    }
  }

  /** `fn` inside a child span of the active (SDK) span; without a tracer, just `fn`. */
  private async traced(name: string, kind: SpanKind, attributes: Attributes, fn: () => Promise<unknown>, onResult?: (span: Span, value: unknown) => void): Promise<unknown> {
    const tracer = this.options.tracer;
    if (!tracer) return fn();
    return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
      try {
        const value = await fn();
        onResult?.(span, value);
        return value;
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** The provider and model the router picks (the activity routes the same way). */
  private route(request: ModelTurnInput | undefined): { provider: string; model: string } {
    try {
      const route = resolveProvider(this.options.providers, request!);
      return { provider: route.provider.name, model: route.model };
    } catch {
      return { provider: 'unknown', model: String(request?.model ?? 'unknown') };
    }
  }
}
