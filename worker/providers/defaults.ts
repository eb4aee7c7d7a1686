/** The providers every worker has without configuration: `scripted` (demo/test only) is the default. */
import type { PriceTable } from '../pricing';
import { createProviderRegistry, type ProviderRegistry } from './router';
import { createScriptedProvider } from './scripted';
import type { ModelProvider } from './types';

export function defaultProviderRegistry(extra: ModelProvider[] = [], defaultProvider?: string, prices: PriceTable = {}): ProviderRegistry {
  return createProviderRegistry([createScriptedProvider(), ...extra], defaultProvider, {}, prices);
}
