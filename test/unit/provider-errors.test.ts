/**
 * Provider failures as the retry layer sees them (worker/providers/provider-errors.ts), built
 * as the AI SDK reports them: a prompt longer than the window is final and marked for a summary,
 * in each provider's own words; an unrelated error that merely quotes such words is not.
 */
import { APICallError } from 'ai';
import { classifyProviderError } from '../../worker/providers/provider-errors';

function apiError(statusCode: number, body: unknown): APICallError {
  const responseBody = typeof body === 'string' ? body : JSON.stringify(body);
  return new APICallError({ message: `HTTP ${statusCode}`, url: 'http://127.0.0.1/v1/chat/completions', requestBodyValues: {}, statusCode, responseBody });
}

test('OpenAI-compatible context_length_exceeded: final, marked, with the window it names', () => {
  const error = classifyProviderError(
    apiError(400, { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }),
    'openai',
  );
  expect(error.retryable).toBe(false);
  expect(error.options.contextLength).toEqual({ windowTokens: 8192 });
  expect(error.message).toBe("openai returned HTTP 400: This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.");
});

test('the code alone is enough (a server with its own wording)', () => {
  expect(classifyProviderError(apiError(400, { error: { message: 'request too big', code: 'context_length_exceeded' } }), 'vllm').options.contextLength).toEqual({});
});

test("Anthropic's two refusals: prompt too long, and input plus max_tokens past the limit", () => {
  const tooLong = classifyProviderError(apiError(400, { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 208310 tokens > 200000 maximum' } }), 'claude');
  expect(tooLong.options.contextLength).toEqual({ windowTokens: 200000 });
  const withOutput = classifyProviderError(
    apiError(400, { type: 'error', error: { type: 'invalid_request_error', message: 'input length and `max_tokens` exceed context limit: 178959 + 64000 > 200000, decrease input length or `max_tokens` and try again' } }),
    'claude',
  );
  expect(withOutput.options.contextLength).toEqual({ windowTokens: 200000 });
  expect(withOutput.retryable).toBe(false);
});

test("Gemini's input token count past the maximum", () => {
  const error = classifyProviderError(apiError(400, { error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' } }), 'gemini');
  expect(error.options.contextLength).toBeDefined();
});

test('not a context-length refusal: a validation error that echoes the conversation, a rate limit in tokens, a plain bad request', () => {
  const echoed = { detail: [{ type: 'missing', loc: ['body', 'model'], msg: 'Field required', input: { messages: [{ role: 'user', content: 'why does my prompt exceed the context window? too many tokens?' }] } }] };
  expect(classifyProviderError(apiError(422, echoed), 'litellm').options.contextLength).toBeUndefined();
  const limited = classifyProviderError(apiError(429, { error: { message: 'Rate limit reached: too many tokens per minute', code: 'rate_limit_exceeded' } }), 'openai');
  expect(limited.options.contextLength).toBeUndefined();
  expect(limited.retryable).toBe(true);
  expect(classifyProviderError(apiError(400, { error: { message: 'Invalid value for temperature' } }), 'openai').options.contextLength).toBeUndefined();
});
