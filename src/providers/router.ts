/**
 * Provider routing with the reference's semantics: `session.modelRef` (both parts
 * non-empty) or `metadata.provider_name` + model names a provider; an unknown name
 * falls back to the default provider with a warning rather than failing the run.
 */
import type { ModelRef } from '../domain';
import type { ModelProvider } from './types';

export interface ProviderRegistry {
  readonly defaultProvider: string;
  get(name: string): ModelProvider | undefined;
  names(): string[];
}

export function createProviderRegistry(providers: ModelProvider[], defaultProvider?: string): ProviderRegistry {
  const byName = new Map(providers.map((p) => [p.name, p]));
  const fallback = defaultProvider ?? providers[0]?.name;
  if (!fallback || !byName.has(fallback)) {
    throw new Error(`default provider ${JSON.stringify(fallback)} is not among the configured providers`);
  }
  return {
    defaultProvider: fallback,
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
  };
}

export interface RouteRequest {
  model: string;
  modelRef?: ModelRef;
  providerName?: string;
}

export interface ResolvedProvider {
  provider: ModelProvider;
  model: string;
  warning?: string;
}

export function resolveProvider(registry: ProviderRegistry, request: RouteRequest): ResolvedProvider {
  const wanted = requestedProviderName(request);
  const model = request.model;
  if (wanted === undefined) return { provider: registry.get(registry.defaultProvider)!, model };
  const provider = registry.get(wanted);
  if (provider) return { provider, model };
  return {
    provider: registry.get(registry.defaultProvider)!,
    model,
    warning:
      `provider ${JSON.stringify(wanted)} is not configured (known: ${registry.names().join(', ')}); ` +
      `falling back to the default provider ${JSON.stringify(registry.defaultProvider)}`,
  };
}

function requestedProviderName({ model, modelRef, providerName }: RouteRequest): string | undefined {
  const refProvider = modelRef?.provider.trim();
  if (refProvider && modelRef?.model.trim()) return refProvider;
  const named = providerName?.trim();
  return named && model.trim() ? named : undefined;
}
