import type { Message, ToolCall } from '../../common';
import { createScriptedProvider, SCRIPTED_PROVIDER_NAME, SPAWN_TOOL_NAME } from '../../worker/providers/scripted';
import { ProviderError, type ModelStreamPart } from '../../worker/providers/types';

const SECOND_MS = 10;
const at = '2024-01-01T00:00:00.000Z';
let seq = 0;

function msg(role: Message['role'], content: string, extra: Partial<Message> = {}): Message {
  seq += 1;
  return { id: `m${seq}`, role, content, createdAt: at, ...extra };
}

function run(
  messages: Message[],
  options: { attempt?: number; signal?: AbortSignal } = {},
): Promise<ModelStreamPart[]> {
  return collect(
    createScriptedProvider({ secondMs: SECOND_MS }).stream({
      model: 'any-model',
      messages,
      tools: [],
      signal: options.signal ?? new AbortController().signal,
      attempt: options.attempt ?? 1,
    }),
  );
}

async function collect(stream: AsyncIterable<ModelStreamPart>): Promise<ModelStreamPart[]> {
  const parts: ModelStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the stream to fail');
}

const texts = (parts: ModelStreamPart[]) => parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));
const calls = (parts: ModelStreamPart[]) => parts.flatMap((p): ToolCall[] => (p.type === 'tool-call' ? [p.call] : []));

describe('the scripted provider', () => {
  it('is named scripted', () => {
    expect(createScriptedProvider().name).toBe(SCRIPTED_PROVIDER_NAME);
    expect(SCRIPTED_PROVIDER_NAME).toBe('scripted');
  });

  it('echoes the last user message, ending with a usage record', async () => {
    const parts = await run([msg('system', 'be brief'), msg('user', 'hello there')]);
    expect(texts(parts)).toEqual(['echo: hello there']);
    expect(calls(parts)).toEqual([]);
    expect(parts.at(-1)).toEqual({ type: 'usage', usage: { inputTokens: 4, outputTokens: 3 } });
  });

  it('echoes the text without its directives', async () => {
    const parts = await run([msg('user', 'summarise [[sleep:0]] the report')]);
    expect(texts(parts)).toEqual(['echo: summarise the report']);
  });

  it('[[sleep:2]] streams two tick deltas before the answer', async () => {
    const parts = await run([msg('user', 'wait [[sleep:2]] please')]);
    const deltas = texts(parts);
    expect(deltas).toHaveLength(3);
    expect(deltas[0]).toMatch(/^tick/);
    expect(deltas[1]).toMatch(/^tick/);
    expect(deltas[2]).toBe('echo: wait please');
  });

  it('[[fail:X]] fails non-retryably with message X', async () => {
    const error = await failureOf(run([msg('user', 'go [[fail:the disk is full]]')]));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toBe('the disk is full');
    expect((error as ProviderError).retryable).toBe(false);
  });

  it('[[flaky:2]] fails retryably on attempts 1 and 2 and answers on attempt 3', async () => {
    const messages = [msg('user', 'try [[flaky:2]] again')];
    for (const attempt of [1, 2]) {
      const error = await failureOf(run(messages, { attempt }));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
    }
    expect(texts(await run(messages, { attempt: 3 }))).toEqual(['echo: try again']);
  });

  it('[[spawn:T|P]] calls spawn_session with the title and the prompt, nested directives kept', async () => {
    const parts = await run([msg('user', 'delegate [[spawn:Researcher|look it up [[sleep:1]]]]')]);
    const [call, ...rest] = calls(parts);
    expect(rest).toEqual([]);
    expect(call.name).toBe(SPAWN_TOOL_NAME);
    expect(SPAWN_TOOL_NAME).toBe('spawn_session');
    expect(call.arguments.title).toBe('Researcher');
    expect(call.arguments.prompt).toBe('look it up [[sleep:1]]');
    expect(call.id).not.toBe('');
    // the nested [[sleep:1]] belongs to the child: the parent turn does not tick
    expect(texts(parts)).toEqual([]);
  });

  it('repeated spawn directives make one call each, with distinct ids', async () => {
    const parts = await run([msg('user', '[[spawn:A|one]] [[spawn:B|two]]')]);
    const spawned = calls(parts);
    expect(spawned.map((c) => c.arguments.title)).toEqual(['A', 'B']);
    expect(spawned.map((c) => c.arguments.prompt)).toEqual(['one', 'two']);
    expect(new Set(spawned.map((c) => c.id)).size).toBe(2);
  });

  it('[[tool:NAME|JSON]] calls that tool with the parsed arguments', async () => {
    const parts = await run([msg('user', 'pause [[tool:wait|{"seconds":1}]]')]);
    expect(calls(parts)).toEqual([expect.objectContaining({ name: 'wait', arguments: { seconds: 1 } })]);
    expect(texts(parts)).toEqual([]);
  });

  it('[[tool:NAME|not json]] fails non-retryably', async () => {
    const error = await failureOf(run([msg('user', '[[tool:wait|{oops]]')]));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
  });

  it('answers at once, without acting out directives again, once a tool result follows the user message', async () => {
    const user = msg('user', 'pause [[sleep:3]] [[tool:wait|{"seconds":1}]] [[fail:must not fire]]');
    const call: ToolCall = { id: 'call_1', name: 'wait', arguments: { seconds: 1 } };
    const parts = await run([
      user,
      msg('assistant', '', { toolCalls: [call] }),
      msg('tool', 'waited 1 s', { toolCallId: 'call_1' }),
    ]);
    expect(texts(parts)).toEqual(['echo: pause']);
    expect(calls(parts)).toEqual([]);
  });

  it('an aborted signal ends a [[stall:100]] at once with the abort reason', async () => {
    // Fake timers: no time passes unless the test says so, so only the abort can end the stall.
    jest.useFakeTimers();
    try {
      const controller = new AbortController();
      const reason = new Error('cancelled by test');
      let settled = false;
      const pending = failureOf(run([msg('user', 'hang [[stall:100]]')], { signal: controller.signal })).finally(() => (settled = true));
      await jest.advanceTimersByTimeAsync(20);
      expect(settled).toBe(false); // stalling (100 × 10 ms)
      controller.abort(reason);
      await jest.advanceTimersByTimeAsync(0); // promise callbacks run; the clock stays put
      expect(settled).toBe(true);
      expect(await pending).toBe(reason);
    } finally {
      jest.useRealTimers();
    }
  });

  it('an already aborted signal stops a [[sleep:5]] before the first tick', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const seen: ModelStreamPart[] = [];
    const stream = createScriptedProvider({ secondMs: SECOND_MS }).stream({
      model: 'm',
      messages: [msg('user', '[[sleep:5]]')],
      tools: [],
      signal: controller.signal,
      attempt: 1,
    });
    const error = await failureOf(
      (async () => {
        for await (const part of stream) seen.push(part);
      })(),
    );
    expect((error as Error).message).toBe('gone');
    expect(seen).toEqual([]);
  });

  it('a directive that needs a number fails non-retryably when given none', async () => {
    const error = await failureOf(run([msg('user', '[[sleep:soon]]')]));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
  });
});
