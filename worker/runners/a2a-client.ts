/**
 * A2A plumbing for the A2A runner, on top of the official SDK (`@a2a-js/sdk`, protocol 1.0):
 * an authenticated fetch with a per-request timeout, connecting from an agent card, the
 * outgoing message, and `TaskView`, which folds stream events and task snapshots into
 * what the runner needs (state, answer text, question, reported usage).
 */
import { randomUUID } from 'node:crypto';
import {
  A2A_PROTOCOL_VERSION,
  A2A_VERSION_HEADER,
  Role,
  TaskState,
  taskStateToJSON,
  type Part,
  type SendMessageRequest,
  type StreamResponse,
  type Task,
} from '@a2a-js/sdk';
import {
  ClientFactory,
  createAuthenticatingFetchWithRetry,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import { errorMessage, type Session, type Usage } from '../../common';
import { ExternalRunnerError } from './types';
import { parseReportedUsage } from './usage';

/** Where an agent reports usage: `metadata.usage` (docs/configuration.md#a2a). */
export const USAGE_METADATA_KEY = 'usage';

/**
 * `fetch` with the bearer token (when given) and a timeout that bounds each request until
 * its response starts. A stream's silence after that is the idle watchdog's business.
 */
export function a2aFetch(timeoutMs: number, bearerToken?: string): typeof fetch {
  const timed: typeof fetch = async (input, init) => {
    const timer = new AbortController();
    const handle = setTimeout(
      () => timer.abort(new ExternalRunnerError(`A2A request timed out after ${timeoutMs / 1000} seconds`, true)),
      timeoutMs,
    );
    const signal = init?.signal ? AbortSignal.any([init.signal, timer.signal]) : timer.signal;
    try {
      return await fetch(input, { ...init, signal });
    } finally {
      clearTimeout(handle);
    }
  };
  if (!bearerToken) return timed;
  return createAuthenticatingFetchWithRetry(timed, {
    headers: async () => ({ Authorization: `Bearer ${bearerToken}` }),
    shouldRetryWithHeaders: async () => undefined,
  });
}

/**
 * Fetches the agent card and builds a JSON-RPC client for it. With `polling`, a
 * non-streaming send returns at once and the caller polls the task.
 */
export async function connectAgent(
  agentCardUrl: string,
  fetchImpl: typeof fetch,
  signal: AbortSignal,
  polling: boolean,
): Promise<{ client: Client; streaming: boolean }> {
  const response = await fetchImpl(agentCardUrl, { headers: { [A2A_VERSION_HEADER]: A2A_PROTOCOL_VERSION }, signal });
  if (!response.ok) {
    throw new ExternalRunnerError(`could not fetch the A2A agent card from ${agentCardUrl}: HTTP ${response.status}`, response.status >= 500);
  }
  const resolver = new DefaultAgentCardResolver({ fetchImpl });
  const card = resolver.normalizeAgentCard(await response.json());
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: resolver,
    clientConfig: { polling },
  });
  const client = await factory.createFromAgentCard(card).catch((error: unknown) => {
    throw new ExternalRunnerError(`the A2A agent card at ${agentCardUrl} offers no usable JSON-RPC interface: ${errorMessage(error, { causes: 1 })}`, false);
  });
  return { client, streaming: card.capabilities?.streaming === true };
}

/**
 * The child's pending user messages (those after the last answer) as one A2A message, in
 * the stored context; it continues the stored task when the agent had asked a question.
 */
export function pendingMessageRequest(session: Session): SendMessageRequest {
  const pending: string[] = [];
  for (let i = session.messages.length - 1; i >= 0 && session.messages[i].role === 'user'; i--) {
    pending.unshift(session.messages[i].content);
  }
  const previousTaskId = session.metadata['a2a.task_id'] ?? '';
  const continuing = session.metadata.need_clarification === 'true' && previousTaskId !== '';
  return {
    tenant: '',
    metadata: {},
    configuration: undefined,
    message: {
      messageId: randomUUID(),
      role: Role.ROLE_USER,
      parts: pending.map(textPart),
      contextId: session.metadata['a2a.context_id'] ?? '',
      taskId: continuing ? previousTaskId : '',
      referenceTaskIds: !continuing && previousTaskId ? [previousTaskId] : [],
      metadata: {},
      extensions: [],
    },
  };
}

const TERMINAL = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);
const INTERRUPTED = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);

/** What the runner knows of the agent's task so far. */
export class TaskView {
  taskId = '';
  contextId = '';
  state: TaskState = TaskState.TASK_STATE_UNSPECIFIED;
  /** The text of the latest status message (the agent's question, or why it failed). */
  statusText = '';
  /** The agent answered with a plain message instead of a task. */
  directReply?: string;
  /**
   * The latest usage the agent reported in `metadata.usage` of the task, a status update, a
   * status message or a direct reply: the task's running total (a later report replaces an
   * earlier one; polling sees the same total again), or a direct reply's own usage.
   */
  reportedUsage?: Usage;
  private readonly artifacts = new Map<string, string>();
  private statusStamp = '';
  private readonly warned = new Set<string>();

  /** `warn`: told once per distinct invalid usage report (ignored, never fatal). */
  constructor(private readonly warn: (message: string) => void = () => undefined) {}

  /** Settled: the agent answered, finished the task, or is waiting for input. */
  get settled(): boolean {
    return this.directReply !== undefined || TERMINAL.has(this.state) || INTERRUPTED.has(this.state);
  }

  get needsInput(): boolean {
    return INTERRUPTED.has(this.state);
  }

  get stateName(): string {
    return stateName(this.state);
  }

  /** The answer: the artifacts' text, else the final status message, else a direct reply. */
  get answer(): string {
    return [...this.artifacts.values()].join('\n').trim() || this.statusText || this.directReply || '';
  }

  /** Applies one stream event; returns the progress it represents. */
  applyEvent(event: StreamResponse): { text?: string; note?: string } {
    const payload = event.payload;
    switch (payload?.$case) {
      case 'task':
        this.applyTask(payload.value);
        return { note: `task ${this.stateName}` };
      case 'message':
        this.contextId = payload.value.contextId || this.contextId;
        this.readUsage(payload.value.metadata);
        this.directReply = textOf(payload.value.parts);
        return { text: this.directReply };
      case 'statusUpdate': {
        this.ids(payload.value.taskId, payload.value.contextId);
        const text = this.applyStatus(payload.value.status);
        this.readUsage(payload.value.metadata);
        return { note: text ? `task ${this.stateName}: ${text.slice(0, 120)}` : `task ${this.stateName}` };
      }
      case 'artifactUpdate': {
        this.ids(payload.value.taskId, payload.value.contextId);
        const artifact = payload.value.artifact;
        if (!artifact) return { note: 'artifact update' };
        const text = textOf(artifact.parts);
        const before = payload.value.append ? (this.artifacts.get(artifact.artifactId) ?? '') : '';
        this.artifacts.set(artifact.artifactId, before + text);
        return { text };
      }
      default:
        return { note: 'agent event' };
    }
  }

  /** Applies a task snapshot (from the stream or GetTask); returns the progress when something changed. */
  applyTask(task: Task): { text?: string; note?: string } | undefined {
    const before = { answer: this.answer, state: this.state, stamp: this.statusStamp };
    this.ids(task.id, task.contextId);
    this.applyStatus(task.status);
    this.readUsage(task.metadata);
    if (task.artifacts.length > 0) {
      this.artifacts.clear();
      for (const artifact of task.artifacts) this.artifacts.set(artifact.artifactId, textOf(artifact.parts));
    }
    const answer = this.answer;
    if (answer === before.answer && this.state === before.state && this.statusStamp === before.stamp) return undefined;
    const text = answer.startsWith(before.answer) ? answer.slice(before.answer.length) : answer;
    return { note: `task ${this.stateName}`, ...(text ? { text } : {}) };
  }

  private applyStatus(status: Task['status']): string {
    if (!status) return '';
    this.state = status.state;
    this.statusStamp = status.timestamp ?? '';
    this.statusText = status.message ? textOf(status.message.parts) : '';
    if (status.message) this.readUsage(status.message.metadata);
    return this.statusText;
  }

  private readUsage(metadata: Record<string, unknown> | undefined): void {
    const value = metadata?.[USAGE_METADATA_KEY];
    if (value === undefined) return;
    const parsed = parseReportedUsage(value);
    if ('usage' in parsed) this.reportedUsage = parsed.usage;
    else if (!this.warned.has(parsed.problem)) {
      this.warned.add(parsed.problem);
      this.warn(`ignored an invalid metadata.usage from the A2A agent (${parsed.problem}): ${JSON.stringify(value).slice(0, 200)}`);
    }
  }

  private ids(taskId: string, contextId: string): void {
    this.taskId = taskId || this.taskId;
    this.contextId = contextId || this.contextId;
  }
}

/** `TASK_STATE_INPUT_REQUIRED` → `input-required`. */
export function stateName(state: TaskState): string {
  return taskStateToJSON(state).replace(/^TASK_STATE_/, '').toLowerCase().replace(/_/g, '-');
}

export function textOf(parts: readonly Part[]): string {
  return parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

function textPart(value: string): Part {
  return { content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}
