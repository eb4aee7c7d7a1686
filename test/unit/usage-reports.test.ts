/**
 * Usage as each source reports it: the AI SDK's (OpenAI-compatible and Anthropic), the scripted
 * provider's deterministic figures, and what external agents send.
 */
import type { LanguageModelUsage } from 'ai';
import type { Message } from '../../common';
import { toUsage } from '../../worker/providers/ai-sdk-stream';
import { scriptedUsage } from '../../worker/providers/scripted';
import { parseReportedUsage, usageSince } from '../../worker/runners/usage';

function sdkUsage(input: number | undefined, output: number | undefined, cacheRead: number | undefined, raw?: Record<string, unknown>): LanguageModelUsage {
  return {
    inputTokens: input,
    inputTokenDetails: { noCacheTokens: undefined, cacheReadTokens: cacheRead, cacheWriteTokens: undefined },
    outputTokens: output,
    outputTokenDetails: { textTokens: undefined, reasoningTokens: undefined },
    totalTokens: undefined,
    raw: raw as LanguageModelUsage['raw'],
  };
}

describe('the AI SDK usage as ours', () => {
  it('OpenAI wire: prompt_tokens with prompt_tokens_details.cached_tokens', () => {
    const raw = { prompt_tokens: 1200, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 1024 } };
    expect(toUsage(sdkUsage(1200, 30, 1024, raw))).toEqual({ inputTokens: 1200, outputTokens: 30, cachedInputTokens: 1024 });
    // The provider says 0 cached: reported as 0.
    expect(toUsage(sdkUsage(12, 7, 0, { prompt_tokens: 12, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } }))).toEqual({
      inputTokens: 12,
      outputTokens: 7,
      cachedInputTokens: 0,
    });
  });

  it('a server that says nothing about its cache (the SDK reads 0): no cachedInputTokens', () => {
    expect(toUsage(sdkUsage(12, 7, 0, { prompt_tokens: 12, completion_tokens: 7 }))).toEqual({ inputTokens: 12, outputTokens: 7 });
    expect(toUsage(sdkUsage(12, 7, undefined))).toEqual({ inputTokens: 12, outputTokens: 7 });
  });

  it('Anthropic: inputTokens includes the cache reads its input_tokens leaves out', () => {
    // input_tokens 20 + cache_creation 0 + cache_read 1000, as the SDK adds them up.
    const raw = { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 1000, cache_creation_input_tokens: 0 };
    expect(toUsage(sdkUsage(1020, 9, 1000, raw))).toEqual({ inputTokens: 1020, outputTokens: 9, cachedInputTokens: 1000 });
  });

  it('missing counts are 0', () => {
    expect(toUsage(sdkUsage(undefined, undefined, undefined))).toEqual({ inputTokens: 0, outputTokens: 0 });
  });
});

describe('the scripted provider usage', () => {
  const at = '2024-01-01T00:00:00.000Z';
  const msg = (role: Message['role'], content: string): Message => ({ id: `${role}-${content.length}`, role, content, createdAt: at });

  it('a first call: words in, words out, no cached tokens', () => {
    expect(scriptedUsage([msg('system', 'be brief please'), msg('user', 'hello there')], 'echo: hello there')).toEqual({ inputTokens: 5, outputTokens: 3 });
  });

  it('a later call: the leading system messages are cached input', () => {
    const messages = [msg('system', 'be brief please'), msg('system', 'two more'), msg('user', 'hello'), msg('assistant', 'echo: hello'), msg('user', 'again')];
    expect(scriptedUsage(messages, 'echo: again')).toEqual({ inputTokens: 9, outputTokens: 2, cachedInputTokens: 5 });
    expect(scriptedUsage([msg('user', 'hi'), msg('assistant', 'yo'), msg('user', 'x')], '')).toEqual({ inputTokens: 3, outputTokens: 0, cachedInputTokens: 0 });
  });
});

describe('usage reported by external agents', () => {
  it('camelCase or snake_case, cached optional', () => {
    expect(parseReportedUsage({ type: 'usage', inputTokens: 10, outputTokens: 2 })).toEqual({ usage: { inputTokens: 10, outputTokens: 2 } });
    expect(parseReportedUsage({ input_tokens: 10, output_tokens: 2, cached_input_tokens: 4 })).toEqual({ usage: { inputTokens: 10, outputTokens: 2, cachedInputTokens: 4 } });
  });

  it('invalid reports say why', () => {
    expect(parseReportedUsage({ inputTokens: 10 })).toEqual({ problem: 'outputTokens: is required' });
    expect(parseReportedUsage({ inputTokens: -1, outputTokens: 2 })).toMatchObject({ problem: expect.stringMatching(/^inputTokens: /) });
    expect(parseReportedUsage({ inputTokens: 1.5, outputTokens: 2 })).toMatchObject({ problem: expect.stringMatching(/^inputTokens: /) });
    expect(parseReportedUsage({ inputTokens: '10', outputTokens: 2 })).toMatchObject({ problem: expect.stringMatching(/^inputTokens: /) });
    expect(parseReportedUsage({ inputTokens: 3, outputTokens: 2, cachedInputTokens: 4 })).toEqual({
      problem: 'cachedInputTokens: must not exceed inputTokens (cached tokens are part of them)',
    });
    expect(parseReportedUsage('lots')).toMatchObject({ problem: expect.any(String) });
  });

  it('a running total minus what an earlier run counted', () => {
    expect(usageSince({ inputTokens: 300, outputTokens: 40, cachedInputTokens: 200 }, { inputTokens: 100, outputTokens: 10, cachedInputTokens: 50 })).toEqual({
      inputTokens: 200,
      outputTokens: 30,
      cachedInputTokens: 150,
    });
    expect(usageSince({ inputTokens: 5, outputTokens: 1 }, { inputTokens: 100, outputTokens: 10 })).toEqual({ inputTokens: 0, outputTokens: 0 });
  });
});
