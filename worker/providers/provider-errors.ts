/**
 * Classifying provider failures for the retry layer (the model activity's Temporal retry
 * policy): 400/401/403/404/422 are final, 408/409/429/5xx and broken connections are worth
 * another try, honouring `retry-after` / `retry-after-ms`.
 */
import { APICallError } from 'ai';
import { contextLengthError, errorMessage } from '../../common';
import { ProviderError } from './types';

const FINAL_STATUSES = new Set([400, 401, 403, 404, 422]);

export function classifyProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const apiError = findApiCallError(error);
  if (apiError?.statusCode !== undefined && apiError.statusCode >= 300) {
    const status = apiError.statusCode;
    const body = readableBody(apiError);
    // A prompt longer than the window is final as sent; the session summarises and tries once more.
    const contextLength = status === 400 || status === 413 || status === 422 ? contextLengthOf(apiError) : undefined;
    const retryable = !contextLength && !FINAL_STATUSES.has(status) && (status === 408 || status === 409 || status === 429 || status >= 500);
    return new ProviderError(`${provider} returned HTTP ${status}: ${body}`, retryable, {
      status,
      retryAfterMs: retryAfterMs(apiError.responseHeaders),
      ...(contextLength ? { contextLength } : {}),
    });
  }
  // No error status: the connection failed (reset, refused) or broke mid-stream after a 200.
  return new ProviderError(`${provider} request failed: ${errorMessage(error, { causes: 3 })}`, true);
}

function findApiCallError(error: unknown): APICallError | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (APICallError.isInstance(e)) return e;
  }
  return undefined;
}

/**
 * A context-length refusal, read from the error the provider wrote (its `error.message` and
 * OpenAI's `code`), never from the rest of the body: some servers echo the request in their
 * errors, and a conversation about context windows must not pass for one.
 */
function contextLengthOf(error: APICallError): { windowTokens?: number } | undefined {
  let parsed: { error?: { message?: unknown; code?: unknown } | string; message?: unknown } | undefined;
  try {
    parsed = error.responseBody ? (JSON.parse(error.responseBody) as typeof parsed) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) return error.responseBody ? undefined : contextLengthError(error.message);
  const inner = typeof parsed.error === 'object' ? parsed.error : undefined;
  const message = typeof parsed.error === 'string' ? parsed.error : typeof inner?.message === 'string' ? inner.message : typeof parsed.message === 'string' ? parsed.message : '';
  const found = contextLengthError(message);
  return found ?? (inner?.code === 'context_length_exceeded' ? {} : undefined);
}

function readableBody(error: APICallError): string {
  const body = error.responseBody;
  if (body) {
    try {
      const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
      const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
      if (message) return message;
    } catch {
      // not JSON: fall through to the raw text
    }
    return body.slice(0, 500);
  }
  return error.message;
}

export function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number(lower['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = lower['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
