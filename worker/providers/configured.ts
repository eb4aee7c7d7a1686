/**
 * Real providers from configuration: OpenAI-compatible chat completions (OpenAI, Ollama,
 * vLLM, LM Studio, OpenRouter…) and Anthropic Messages, through the Vercel AI SDK.
 * The API key is read from the environment variable the config NAMES, at call time inside
 * the activity: no key value is ever in configuration that reaches a workflow or history.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import { streamWithAiSdk } from './ai-sdk-stream';
import { ProviderError, type ModelProvider } from './types';

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

export const ProviderConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('openai-compatible'),
    name: z.string().min(1),
    baseURL: z.url(),
    /** Name of the env var holding the key; omit for servers without auth (Ollama, vLLM). */
    apiKeyEnv: envVarName.optional(),
    models: z.array(z.string().min(1)).default([]),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  z.object({
    type: z.literal('anthropic'),
    name: z.string().min(1),
    baseURL: z.url().optional(),
    apiKeyEnv: envVarName.default('ANTHROPIC_API_KEY'),
    models: z.array(z.string().min(1)).default([]),
  }),
]);
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;

export function createConfiguredProvider(config: ProviderConfig): ModelProvider {
  return {
    name: config.name,
    models: config.models,
    stream(request) {
      const apiKey = readApiKey(config);
      const model =
        config.type === 'anthropic'
          ? createAnthropic({ baseURL: config.baseURL, apiKey })(request.model)
          : createOpenAICompatible({ name: config.name, baseURL: config.baseURL, apiKey, headers: config.headers, includeUsage: true })(
              request.model,
            );
      return streamWithAiSdk(model, request, config.name);
    },
  };
}

function readApiKey(config: ProviderConfig): string | undefined {
  if (!config.apiKeyEnv) return undefined;
  const value = process.env[config.apiKeyEnv];
  if (!value) {
    throw new ProviderError(`environment variable ${config.apiKeyEnv} (API key of provider ${config.name}) is not set on this worker`, false);
  }
  return value;
}
