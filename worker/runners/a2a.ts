/**
 * The A2A runner (`external.protocol=a2a_jsonrpc`): runs a child's pending turn on a remote
 * A2A agent with the official SDK, over JSON-RPC.
 *
 * Per run: fetch the agent card; send the pending user message(s) in the stored context
 * (`a2a.context_id`; the earlier task as a reference, or continued when the agent had asked
 * a question); stream the task (`SendStreamingMessage`) when the agent can, else send and
 * poll `GetTask` when `allowPolling`. Agent text and artifacts are progress and make up the
 * answer; status updates are progress notes.
 *
 * - completed → the answer; input-required / auth-required → the agent's question with
 *   `needsClarification` (the workflow asks the root's person; the answer comes back as the
 *   next call, which continues the task: workflows/external-conversation.ts); failed /
 *   canceled / rejected → a non-retryable error.
 * - Aborted (cancellation or the idle watchdog): CancelTask for the task, best effort.
 * - The stream breaks before the task settles: the task is NOT cancelled (a disconnecting
 *   watcher never cancels a task); the run follows it with `GetTask` every 500 ms until it
 *   settles. A poll that shows a change is progress; a silent agent trips the idle watchdog.
 *
 * Usage: when the agent reports `metadata.usage` (`{inputTokens, outputTokens,
 * cachedInputTokens?}`, or snake_case) on the task, a status update, a status message or a
 * direct reply, the latest report is the task's running total (TaskView.reportedUsage). A
 * run that continues a task (after input-required) counts only what the total grew by since
 * the previous run, which kept it in the child's metadata (`a2a.task_usage`).
 *
 * The bearer token is read from `process.env[authTokenEnv]` inside `run()` and only ever
 * goes into the Authorization header: never into results, metadata or errors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskState, type SendMessageRequest } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { A2AError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import { z } from 'zod';
import { errorMessage, parseOrThrow, type Session, type Usage } from '../../common';
import { a2aFetch, connectAgent, pendingMessageRequest, TaskView } from './a2a-client';
import { ExternalRunnerError, type ExternalRunContext, type ExternalRunner, type ExternalRunResult } from './types';
import { parseReportedUsage, usageSince } from './usage';

export const A2AProfileSchema = z.object({
  agentId: z.string().trim().min(1),
  protocol: z.literal('a2a_jsonrpc'),
  /** Full URL of the agent card (e.g. `https://agent.example/.well-known/agent-card.json`). */
  agentCardUrl: z.url({ protocol: /^https?$/ }),
  /** NAME of the environment variable that holds the bearer token (never the token). */
  authTokenEnv: z.string().trim().min(1).optional(),
  /** When the agent cannot stream: send without blocking and poll GetTask. */
  allowPolling: z.boolean().default(true),
  /** Bounds each HTTP request until its response starts. */
  requestTimeoutSecs: z.number().positive().default(120),
  /** The model the agent runs on: prices the usage it reports (a key of the config's `prices`). */
  model: z.string().trim().min(1).optional(),
});
export type A2AProfileInput = z.input<typeof A2AProfileSchema>;
export type A2AProfile = z.output<typeof A2AProfileSchema>;

const POLL_INTERVAL_MS = 500;
const CANCEL_TIMEOUT_MS = 10_000;

export function createA2ARunner(input: A2AProfileInput): ExternalRunner {
  const profile = parseOrThrow(A2AProfileSchema, input, 'A2A runner profile');
  return {
    agentId: profile.agentId,
    protocol: profile.protocol,
    model: profile.model,
    run: (session, context) => new A2ARun(profile, context).run(session),
  };
}

/** Child metadata: the usage total of the task the run left (JSON `{taskId, inputTokens, …}`). */
const TASK_USAGE_KEY = 'a2a.task_usage';

/** One run of one child turn against the agent. */
class A2ARun {
  private readonly view = new TaskView((message) => this.ctx.warn?.(message));
  private client?: Client;
  /** The continued task's usage total that earlier runs already counted. */
  private counted?: Usage;

  constructor(
    private readonly profile: A2AProfile,
    private readonly ctx: ExternalRunContext,
  ) {}

  async run(session: Session): Promise<ExternalRunResult> {
    try {
      const fetchImpl = a2aFetch(this.profile.requestTimeoutSecs * 1000, this.bearerToken());
      const agent = await connectAgent(this.profile.agentCardUrl, fetchImpl, this.ctx.signal, this.profile.allowPolling);
      this.client = agent.client;
      const request = pendingMessageRequest(session);
      this.counted = countedUsage(session, request.message?.taskId ?? '');
      if (agent.streaming) await this.stream(request);
      else await this.send(request);
      if (!this.view.settled) await this.followWithGetTask();
      return this.outcome();
    } catch (error) {
      if (this.ctx.signal.aborted) {
        await this.cancelTask();
        throw error;
      }
      throw this.asRunnerError(error);
    }
  }

  private bearerToken(): string | undefined {
    const name = this.profile.authTokenEnv;
    if (!name) return undefined;
    const token = process.env[name];
    if (!token) throw new ExternalRunnerError(`A2A agent ${this.profile.agentId}: the auth token variable ${name} is not set`, false);
    return token;
  }

  /** Streams the task until it settles; a broken stream falls through to GetTask. */
  private async stream(request: SendMessageRequest): Promise<void> {
    const done = new AbortController();
    const signal = AbortSignal.any([this.ctx.signal, done.signal]);
    try {
      for await (const event of this.client!.sendMessageStream(request, { signal })) {
        this.ctx.progress(this.view.applyEvent(event));
        if (this.view.settled) return;
      }
    } catch (error) {
      if (this.ctx.signal.aborted || !this.view.taskId) throw error;
      this.ctx.progress({ note: `stream lost (${errorMessage(error, { causes: 1 })}); following task ${this.view.taskId} with GetTask` });
    } finally {
      done.abort(); // ends the HTTP stream when we stopped reading early
    }
  }

  /** The agent cannot stream: send once (non-blocking when polling is allowed). */
  private async send(request: SendMessageRequest): Promise<void> {
    const result = await this.client!.sendMessage(request, { signal: this.ctx.signal });
    const change = 'messageId' in result
      ? this.view.applyEvent({ payload: { $case: 'message', value: result } })
      : this.view.applyTask(result);
    if (change) this.ctx.progress(change);
  }

  /** Polls GetTask until the task settles. Transient failures are retried; the idle watchdog bounds it. */
  private async followWithGetTask(): Promise<void> {
    const taskId = this.view.taskId;
    if (!taskId) throw new ExternalRunnerError(`A2A agent ${this.profile.agentId} ended the stream before it created a task`, true);
    while (!this.view.settled) {
      await sleep(POLL_INTERVAL_MS, undefined, { signal: this.ctx.signal });
      try {
        const task = await this.client!.getTask({ tenant: '', id: taskId, historyLength: 0 }, { signal: this.ctx.signal });
        const change = this.view.applyTask(task);
        if (change) this.ctx.progress(change);
      } catch (error) {
        if (this.ctx.signal.aborted || error instanceof TaskNotFoundError) throw error;
      }
    }
  }

  /** Best effort: asks the agent to cancel the unfinished task. */
  private async cancelTask(): Promise<void> {
    const taskId = this.view.taskId;
    if (!this.client || !taskId || this.view.settled) return;
    try {
      await this.client.cancelTask({ tenant: '', id: taskId, metadata: {} }, { signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS) });
    } catch {
      // The task may have ended meanwhile, or the agent be unreachable: nothing more to do.
    }
  }

  private outcome(): ExternalRunResult {
    const { view } = this;
    const metadata: Record<string, string> = {};
    if (view.contextId) metadata['a2a.context_id'] = view.contextId;
    if (view.taskId) metadata['a2a.task_id'] = view.taskId;
    const reported = view.reportedUsage;
    const ofTask = view.directReply === undefined && view.taskId !== '';
    const usage = reported && (ofTask && this.counted ? usageSince(reported, this.counted) : reported);
    if (reported && ofTask) metadata[TASK_USAGE_KEY] = JSON.stringify({ taskId: view.taskId, ...reported });
    const counted = usage ? { usage } : {};
    if (view.directReply !== undefined || view.state === TaskState.TASK_STATE_COMPLETED) {
      return { content: view.answer, metadata, ...counted };
    }
    if (view.needsInput) {
      const question = view.statusText || view.answer || `The agent is waiting (${view.stateName}).`;
      return { content: question, needsClarification: true, metadata, ...counted };
    }
    const reason = view.statusText ? `: ${view.statusText}` : '';
    const agent = `A2A agent ${this.profile.agentId}`;
    const message =
      view.state === TaskState.TASK_STATE_FAILED ? `${agent} failed the task${reason}`
      : view.state === TaskState.TASK_STATE_REJECTED ? `${agent} rejected the task${reason}`
      : view.state === TaskState.TASK_STATE_CANCELED ? `${agent} canceled the task${reason}`
      : `${agent} left the task in state ${view.stateName}${reason}`;
    throw new ExternalRunnerError(message, false);
  }

  /** Protocol errors will not change on retry; transport failures before a task exists may. */
  private asRunnerError(error: unknown): Error {
    if (error instanceof ExternalRunnerError) return error;
    const agent = `A2A agent ${this.profile.agentId}`;
    if (error instanceof TaskNotFoundError) return new ExternalRunnerError(`${agent} no longer knows task ${this.view.taskId}`, false);
    if (error instanceof A2AError) return new ExternalRunnerError(`${agent} refused the request: ${error.message}`, false);
    return new ExternalRunnerError(`${agent} is unreachable: ${errorMessage(error, { causes: 1 })}`, true);
  }
}

/** When the run continues task `taskId`: the usage total of it that the previous run counted. */
function countedUsage(session: Session, taskId: string): Usage | undefined {
  const stored = session.metadata[TASK_USAGE_KEY];
  if (!taskId || !stored) return undefined;
  try {
    const value = JSON.parse(stored) as { taskId?: unknown };
    if (value.taskId !== taskId) return undefined;
    const parsed = parseReportedUsage(value);
    return 'usage' in parsed ? parsed.usage : undefined;
  } catch {
    return undefined;
  }
}
