/**
 * The model activity: one streamed model call, heartbeating on every chunk.
 * Retry layer: transient provider failures are retried by this activity's Temporal retry
 * policy (set in the workflow, bounded by the run's total budget); a ProviderError's
 * `retryAfterMs` becomes the next retry delay.
 * Usage: the provider's usage parts added up (input, output, cached input); the cost, in
 * whole micro-dollars, from the worker's configured price for the routed model
 * (worker/pricing.ts); no price → no `costMicroUsd`.
 * Tool policy (worker/tools/policy.ts): a tool denied for the session (its own subagent_type
 * and its ancestors') is not offered; the result's `toolPolicy` names each called tool that is `ask` or `deny` (absent
 * when none is), so the workflow knows which calls wait for a person.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ClientSource } from './client';
import { TranscriptCache } from './transcript-cache';
import { addUsage, FailureTypes, fitText, readTranscriptPages, ModelTurnInputSchema, WORKFLOW_TOOL_SPECS, type Message, type ModelTurnInput, type ModelTurnResult, type ToolCall, type TranscriptRef, type Usage, transcriptQuery } from '../../common';
import { costMicroUsd } from '../pricing';
import { resolveProvider, type ProviderRegistry } from '../providers/router';
import { ProviderError, type ToolSpec } from '../providers/types';
import { policyFor, restrictedCalls, scopesOf, type ToolPolicy } from '../tools/policy';
import type { ToolRegistry } from '../tools/types';
import { parseActivityInput } from './input';
import { withProgressWatchdog } from './progress';

export interface ModelActivityDeps {
  client: ClientSource;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  /** Absent: every tool allowed (but `ask_user`). */
  toolPolicy?: ToolPolicy;
}

export function createModelActivities({ client, providers, tools, toolPolicy }: ModelActivityDeps) {
  const transcripts = new TranscriptCache();
  return {
    async callModel(request: ModelTurnInput): Promise<ModelTurnResult> {
      const input = parseActivityInput(ModelTurnInputSchema, request, 'model turn input');
      const route = resolveProvider(providers, input);
      const warnings = route.warning ? [route.warning] : [];
      if (route.warning) log.warn(route.warning, { sessionId: input.sessionId });
      const disabled = new Set(input.disabledTools ?? []);
      const scopes = scopesOf(input);
      const offered = (spec: ToolSpec) => policyFor(toolPolicy, spec.name, scopes) !== 'deny';
      const toolSpecs: ToolSpec[] = [
        ...[...tools.values()].map((t) => t.spec).filter((spec) => !disabled.has(spec.name)),
        ...workflowToolSpecs(input.workflowTools ?? []),
      ].filter(offered);
      const messages = await transcriptOf(transcripts, input, client);
      const context = providers.contextWindows.of(route.model, route.provider.name);
      const phase = `model ${route.provider.name}/${route.model} (turn ${input.turn})`;
      return withProgressWatchdog({ phase, maxIdleSecs: input.maxIdleSecs, runDeadline: input.runDeadline }, async (progress) => {
        let content = '';
        const toolCalls: ToolCall[] = [];
        let usage: Usage = { inputTokens: 0, outputTokens: 0 };
        try {
          const stream = route.provider.stream({
            model: route.model,
            messages,
            tools: toolSpecs,
            signal: progress.signal,
            attempt: Context.current().info.attempt,
            ...(context ? { contextWindowTokens: context.windowTokens } : {}),
          });
          for await (const part of stream) {
            if (part.type === 'text-delta') {
              content += part.text;
              progress.record({ text: part.text });
            } else if (part.type === 'tool-call') {
              toolCalls.push(part.call);
              progress.record({ note: `tool call ${part.call.name}` });
            } else if (part.type === 'progress') {
              progress.record({});
            } else {
              usage = addUsage(usage, part.usage);
            }
          }
        } catch (error) {
          throw toActivityFailure(error);
        }
        const price = providers.priceOf(route.model, route.provider.name);
        const cost = price ? { costMicroUsd: costMicroUsd(price, usage) } : {};
        const restricted = restrictedCalls(toolPolicy, toolCalls, scopes);
        const policy = restricted ? { toolPolicy: restricted } : {};
        return { content: fitText(content), toolCalls, usage, ...cost, provider: route.provider.name, warnings, ...policy, ...(context ? { context } : {}) };
      });
    },
  };
}

function workflowToolSpecs(names: string[]): ToolSpec[] {
  return names.map((name) => {
    const spec = WORKFLOW_TOOL_SPECS.find((s) => s.name === name);
    if (!spec) throw ApplicationFailure.nonRetryable(`unknown workflow tool ${JSON.stringify(name)}`, FailureTypes.invalidInput);
    return spec;
  });
}

/** The call's transcript: inline, or assembled from this worker's cache, or read through the workflow's query. */
async function transcriptOf(cache: TranscriptCache, input: ModelTurnInput, client: () => Client): Promise<Message[]> {
  if (input.messages) {
    const run = Context.current().info.workflowExecution;
    if (run) cache.keepInline(run.workflowId, run.runId, input.messages);
    return input.messages;
  }
  const ref = input.transcript!;
  return cache.read(ref, () => readTranscript(client(), ref));
}

/** Reads the transcript the workflow holds, through its `transcript` query (not stored in history). */
export async function readTranscript(client: Client, ref: TranscriptRef): Promise<Message[]> {
  const handle = client.workflow.getHandle(ref.workflowId, ref.runId);
  const messages = await readTranscriptPages(ref.messageCount, (page) => handle.query(transcriptQuery, page));
  if (messages.length !== ref.messageCount) {
    throw ApplicationFailure.nonRetryable(
      `transcript of ${ref.workflowId} has ${messages.length} messages, expected ${ref.messageCount}`,
      FailureTypes.invalidInput,
    );
  }
  return messages;
}

export function toActivityFailure(error: unknown): unknown {
  if (!(error instanceof ProviderError)) return error;
  const { contextLength } = error.options;
  if (contextLength) {
    return ApplicationFailure.create({
      message: error.message,
      type: FailureTypes.contextLength,
      nonRetryable: true,
      details: [{ status: error.options.status, ...contextLength }],
    });
  }
  return ApplicationFailure.create({
    message: error.message,
    type: FailureTypes.providerError,
    nonRetryable: !error.retryable,
    details: [{ status: error.options.status }],
    nextRetryDelay: error.options.retryAfterMs,
  });
}
