/**
 * Providers given in code: any AI SDK `LanguageModel` factory registered by name, next to the
 * configured ones. The model activity treats them as it treats its own: the call streams into
 * heartbeats, usage and cost go to the ledger, errors are classified for retry the same way.
 */
import type { LanguageModel } from 'ai';
import { streamWithAiSdk } from './ai-sdk-stream';
import type { ModelProvider } from './types';

/** `(modelId) => LanguageModel`, e.g. `(id) => createOpenAI({ apiKey })(id)`. */
export type LanguageModelFactory = (modelId: string) => LanguageModel;

export interface LanguageModelProviderOptions {
  /** The factory; called once per model call, inside the activity (read credentials here, not in workflow input). */
  languageModel: LanguageModelFactory;
  /** Model names this provider serves: a session naming one is routed here without naming the provider. */
  models?: readonly string[];
}

/** A provider as the plugin takes it: a factory, a factory with its models, or a Bamboo `ModelProvider`. */
export type ProviderInput = LanguageModelFactory | LanguageModelProviderOptions | ModelProvider;

export function providerFromInput(name: string, input: ProviderInput): ModelProvider {
  if (typeof input === 'function') return languageModelProvider(name, { languageModel: input });
  if ('stream' in input) {
    if (input.name !== name) throw new Error(`provider ${JSON.stringify(input.name)} is given under the name ${JSON.stringify(name)}: use one name`);
    return input;
  }
  return languageModelProvider(name, input);
}

export function languageModelProvider(name: string, options: LanguageModelProviderOptions): ModelProvider {
  return {
    name,
    models: options.models ?? [],
    stream: (request) => streamWithAiSdk(options.languageModel(request.model), request, name),
  };
}
