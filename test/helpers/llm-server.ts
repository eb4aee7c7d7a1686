/**
 * A local model server that speaks the real wire formats — OpenAI chat completions and
 * Anthropic Messages, streamed as server-sent events with text deltas, tool-call deltas
 * and usage — scripted per test: each request takes the next step from a queue.
 *
 * Usage goes out in each wire's own shape, cached tokens included: OpenAI's last chunk
 * carries `usage: {prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details:
 * {cached_tokens}}`; Anthropic's `message_start` carries `input_tokens` (without the cache),
 * `cache_read_input_tokens` and `cache_creation_input_tokens`, its `message_delta` the
 * final `output_tokens`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A step's usage in our terms: cached input tokens are part of the input tokens. */
export interface WireUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
}

/** What a step reports when it names no usage. */
export const DEFAULT_USAGE: Readonly<WireUsage> = { inputTokens: 12, outputTokens: 7, cachedInputTokens: 0 };

export type Step =
  | { kind: 'text'; chunks: string[]; delayMs?: number; usage?: WireUsage }
  /** `delayMs`: the call stays open that long before the tool call is sent. */
  | { kind: 'tool'; name: string; args: Record<string, unknown>; usage?: WireUsage; delayMs?: number }
  /** An error response in the wire's own shape; `code` as OpenAI's (`context_length_exceeded`). */
  | { kind: 'status'; status: number; message: string; headers?: Record<string, string>; code?: string }
  /** Sends the first chunk, then nothing (until the client gives up). */
  | { kind: 'stall'; first?: string }
  /** Sends these chunks, then drops the connection mid-stream. */
  | { kind: 'disconnect'; chunks: string[] };

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
}

export interface LlmServer {
  url: string;
  /** Replaces the steps for the coming requests, in order; when empty, requests get a default answer. */
  script(...steps: Step[]): void;
  /**
   * Steps for the requests whose body contains `marker` (for example one session's brief),
   * in order, ahead of the shared script: concurrent sessions each get their own answers.
   */
  route(marker: string, ...steps: Step[]): void;
  requests: RecordedRequest[];
  /**
   * A window in words, enforced like a real server: a chat request whose messages hold more words
   * is refused with OpenAI's `context_length_exceeded` error (400), before any step is taken.
   */
  contextWindowWords?: number;
  /** Requests whose connection the client closed before the response ended. */
  clientAborts: number;
  stop(): Promise<void>;
}

export async function startLlmServer(): Promise<LlmServer> {
  const queue: Step[] = [];
  const routes = new Map<string, Step[]>();
  const routed = (body: Record<string, unknown>): Step | undefined => {
    const text = JSON.stringify(body);
    for (const [marker, steps] of routes) if (text.includes(JSON.stringify(marker).slice(1, -1))) return steps.shift();
    return undefined;
  };
  const state: LlmServer = {
    url: '',
    script: (...steps) => void queue.splice(0, queue.length, ...steps),
    route: (marker, ...steps) => void routes.set(marker, [...steps]),
    requests: [],
    clientAborts: 0,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      state.requests.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      res.on('close', () => {
        if (!res.writableFinished) state.clientAborts += 1;
      });
      const wire = req.url?.endsWith('/messages') ? anthropicWire : openAiWire;
      const words = wordsIn(body);
      if (state.contextWindowWords !== undefined && words > state.contextWindowWords) {
        const message = `This model's maximum context length is ${state.contextWindowWords} tokens. However, your messages resulted in ${words} tokens. Please reduce the length of the messages.`;
        return respond({ kind: 'status', status: 400, message, code: 'context_length_exceeded' }, wire, res);
      }
      const step = routed(body) ?? queue.shift() ?? { kind: 'text', chunks: ['default answer'] };
      return respond(step, wire, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = state.stop;
  state.stop = () => {
    server.closeAllConnections();
    return stop();
  };
  return state;
}

/** The words of a chat request's messages (text contents). */
function wordsIn(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  const text = messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''))).join(' ');
  return text.split(/\s+/).filter(Boolean).length;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

interface Wire {
  errorBody(status: number, message: string, code?: string): unknown;
  start(usage: WireUsage): string[];
  text(text: string): string[];
  tool(name: string, args: Record<string, unknown>): string[];
  finish(reason: 'stop' | 'tool', usage: WireUsage): string[];
}

async function respond(step: Step, wire: Wire, res: ServerResponse): Promise<void> {
  if (step.kind === 'status') {
    res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
    res.end(JSON.stringify(wire.errorBody(step.status, step.message, step.code)));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (events: string[]) => events.forEach((e) => res.write(e));
  const usage = ('usage' in step ? step.usage : undefined) ?? DEFAULT_USAGE;
  send(wire.start(usage));
  switch (step.kind) {
    case 'text':
      for (const chunk of step.chunks) {
        if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
        if (res.destroyed) return;
        send(wire.text(chunk));
      }
      send(wire.finish('stop', usage));
      break;
    case 'tool':
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      if (res.destroyed) return;
      send(wire.tool(step.name, step.args));
      send(wire.finish('tool', usage));
      break;
    case 'stall':
      if (step.first) send(wire.text(step.first));
      return; // never ends; the client must give up
    case 'disconnect':
      for (const chunk of step.chunks) send(wire.text(chunk));
      await new Promise((r) => setTimeout(r, 50));
      res.socket?.destroy();
      return;
  }
  res.end();
}

const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

const openAiChunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  sse({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1, model: 'test-model', choices: [{ index: 0, delta, finish_reason: finish }] });

const openAiWire: Wire = {
  errorBody: (status, message, code) =>
    code ? { error: { message, type: 'invalid_request_error', param: 'messages', code } } : { error: { message, type: status === 401 ? 'invalid_api_key' : 'error', code: status } },
  start: () => [openAiChunk({ role: 'assistant', content: '' })],
  text: (text) => [openAiChunk({ content: text })],
  tool: (name, args) => {
    const json = JSON.stringify(args);
    const half = Math.ceil(json.length / 2);
    return [
      openAiChunk({ tool_calls: [{ index: 0, id: 'call_test_1', type: 'function', function: { name, arguments: '' } }] }),
      openAiChunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(0, half) } }] }),
      openAiChunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(half) } }] }),
    ];
  },
  finish: (reason, usage) => [
    openAiChunk({}, reason === 'tool' ? 'tool_calls' : 'stop'),
    sse({
      id: 'chatcmpl-test',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'test-model',
      choices: [],
      usage: {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
        prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    }),
    'data: [DONE]\n\n',
  ],
};

let anthropicBlock = 0;
const anthropicWire: Wire = {
  errorBody: (status, message) => ({ type: 'error', error: { type: status === 401 ? 'authentication_error' : status === 400 ? 'invalid_request_error' : 'api_error', message } }),
  start: (usage) => {
    anthropicBlock = 0;
    const cached = usage.cachedInputTokens ?? 0;
    return [
      sse(
        {
          type: 'message_start',
          message: {
            id: 'msg_test',
            type: 'message',
            role: 'assistant',
            model: 'test-model',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            // Anthropic's input_tokens leaves out the tokens read from (or written to) the cache.
            usage: { input_tokens: usage.inputTokens - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: 1 },
          },
        },
        'message_start',
      ),
      sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    ];
  },
  text: (text) => [sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta')],
  tool: (name, args) => {
    anthropicBlock = 1;
    const json = JSON.stringify(args);
    const half = Math.ceil(json.length / 2);
    return [
      sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
      sse({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_test_1', name, input: {} } }, 'content_block_start'),
      sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } }, 'content_block_delta'),
      sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: json.slice(half) } }, 'content_block_delta'),
    ];
  },
  finish: (reason, usage) => [
    sse({ type: 'content_block_stop', index: anthropicBlock }, 'content_block_stop'),
    sse(
      { type: 'message_delta', delta: { stop_reason: reason === 'tool' ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.outputTokens } },
      'message_delta',
    ),
    sse({ type: 'message_stop' }, 'message_stop'),
  ],
};
