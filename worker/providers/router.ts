/**
 * Provider routing with the reference's semantics (docs/architecture.md#provider-routing): `session.modelRef` (both parts
 * non-empty) or `metadata.provider_name` + model names a provider; an unknown name
 * falls back to the default provider with a warning rather than failing the run.
 */
import type { ModelRef } from '../../common';
import { findPrice, type ModelPrice, type PriceTable } from '../pricing';
import type { ModelProvider } from './types';
import { createContextWindows, type ContextWindows } from './context-windows';

export interface ProviderRegistry {
  readonly defaultProvider: string;
  get(name: string): ModelProvider | undefined;
  names(): string[];
  /** The provider whose model list names this model, if any. */
  servingModel(model: string): ModelProvider | undefined;
  /** Provider (and model) configured for a subagent type. */
  subagentRoute(subagentType: string): SubagentRoute | undefined;
  /**
   * The configured price of a model (`<provider>/<model>`, else `<model>`; worker/pricing.ts),
   * for model calls and for external runs on it; undefined: no price.
   */
  priceOf(model: string, provider?: string): ModelPrice | undefined;
  /** Models' context windows and who writes summaries (worker/providers/context-windows.ts). */
  readonly contextWindows: ContextWindows;
}

export interface SubagentRoute {
  provider: string;
  model?: string;
}

export function createProviderRegistry(
  providers: ModelProvider[],
  defaultProvider?: string,
  subagentRoutes: Record<string, SubagentRoute> = {},
  prices: PriceTable = {},
  contextWindows: ContextWindows = createContextWindows(),
): ProviderRegistry {
  const byName = new Map(providers.map((p) => [p.name, p]));
  const fallback = defaultProvider ?? providers[0]?.name;
  if (!fallback || !byName.has(fallback)) {
    throw new Error(`default provider ${JSON.stringify(fallback)} is not among the configured providers`);
  }
  return {
    defaultProvider: fallback,
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
    servingModel: (model) => providers.find((p) => p.models?.includes(model)),
    subagentRoute: (type) => subagentRoutes[type],
    priceOf: (model, provider) => findPrice(prices, model, provider),
    contextWindows,
  };
}

export interface RouteRequest {
  model: string;
  modelRef?: ModelRef;
  providerName?: string;
  /** A spawned child's subagent_type, when its model was not chosen explicitly. */
  subagentType?: string;
}

export interface ResolvedProvider {
  provider: ModelProvider;
  model: string;
  warning?: string;
}

/**
 * Order: a configured route for the subagent type; the session's modelRef; its
 * `provider_name`; a provider listing the model; the default provider.
 */
export function resolveProvider(registry: ProviderRegistry, request: RouteRequest): ResolvedProvider {
  const route = request.subagentType ? registry.subagentRoute(request.subagentType) : undefined;
  const routed = route && registry.get(route.provider);
  if (routed) return { provider: routed, model: route.model ?? request.model };
  const wanted = requestedProviderName(request) ?? route?.provider;
  const model = request.model;
  if (wanted === undefined) return { provider: registry.servingModel(model) ?? registry.get(registry.defaultProvider)!, model };
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
