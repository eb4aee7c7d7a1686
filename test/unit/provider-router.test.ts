import { createProviderRegistry, resolveProvider, type ProviderRegistry } from '../../worker/providers/router';
import { defaultProviderRegistry } from '../../worker/providers/defaults';
import type { ModelProvider } from '../../worker/providers/types';

function fakeProvider(name: string): ModelProvider {
  return {
    name,
    stream: async function* () {
      yield { type: 'text-delta', text: name };
    },
  };
}

const scripted = fakeProvider('scripted');
const openai = fakeProvider('openai');
const anthropic = fakeProvider('anthropic');

function registry(): ProviderRegistry {
  return createProviderRegistry([scripted, openai, anthropic], 'scripted');
}

describe('resolveProvider', () => {
  it('uses the default provider when nothing names one', () => {
    expect(resolveProvider(registry(), { model: 'gpt-x' })).toEqual({ provider: scripted, model: 'gpt-x' });
  });

  it('modelRef wins over metadata provider_name', () => {
    const resolved = resolveProvider(registry(), {
      model: 'claude-x',
      modelRef: { provider: 'anthropic', model: 'claude-x' },
      providerName: 'openai',
    });
    expect(resolved.provider).toBe(anthropic);
    expect(resolved.warning).toBeUndefined();
  });

  it('metadata provider_name plus a model selects that provider when there is no modelRef', () => {
    const resolved = resolveProvider(registry(), { model: 'gpt-x', providerName: 'openai' });
    expect(resolved).toEqual({ provider: openai, model: 'gpt-x' });
  });

  it('a modelRef with an empty part does not count, so provider_name applies', () => {
    const resolved = resolveProvider(registry(), {
      model: 'gpt-x',
      modelRef: { provider: 'anthropic', model: '  ' },
      providerName: 'openai',
    });
    expect(resolved.provider).toBe(openai);
  });

  it('provider_name without a model does not count', () => {
    const resolved = resolveProvider(registry(), { model: ' ', providerName: 'openai' });
    expect(resolved.provider).toBe(scripted);
    expect(resolved.warning).toBeUndefined();
  });

  it('trims the provider names it is given', () => {
    expect(resolveProvider(registry(), { model: 'm', providerName: '  openai ' }).provider).toBe(openai);
    expect(
      resolveProvider(registry(), { model: 'm', modelRef: { provider: ' anthropic ', model: 'm' } }).provider,
    ).toBe(anthropic);
  });

  it('an unknown provider falls back to the default with a warning naming both', () => {
    const resolved = resolveProvider(registry(), { model: 'mystery-1', providerName: 'mistral' });
    expect(resolved.provider).toBe(scripted);
    expect(resolved.model).toBe('mystery-1');
    expect(resolved.warning).toEqual(expect.stringContaining('mistral'));
    expect(resolved.warning).toEqual(expect.stringContaining('scripted'));
  });

  it('an unknown modelRef provider falls back to the default with a warning', () => {
    const resolved = resolveProvider(registry(), { model: 'm', modelRef: { provider: 'ghost', model: 'm' } });
    expect(resolved.provider).toBe(scripted);
    expect(resolved.warning).toMatch(/ghost/);
  });

  it.each(['', '   '])('an empty or whitespace provider name %j means the default without a warning', (name) => {
    expect(resolveProvider(registry(), { model: 'm', providerName: name })).toEqual({ provider: scripted, model: 'm' });
    expect(resolveProvider(registry(), { model: 'm', modelRef: { provider: name, model: 'm' } })).toEqual({
      provider: scripted,
      model: 'm',
    });
  });

  it('falls back to the configured default, not the first provider', () => {
    const reg = createProviderRegistry([scripted, openai], 'openai');
    const resolved = resolveProvider(reg, { model: 'm', providerName: 'nope' });
    expect(resolved.provider).toBe(openai);
    expect(resolved.warning).toMatch(/openai/);
  });
});

describe('provider registries', () => {
  it('the first provider is the default when none is named', () => {
    expect(createProviderRegistry([openai, scripted]).defaultProvider).toBe('openai');
  });

  it('refuses a default that is not configured, and an empty registry', () => {
    expect(() => createProviderRegistry([openai], 'scripted')).toThrow(/scripted/);
    expect(() => createProviderRegistry([])).toThrow();
  });

  it('every worker registry has scripted, and it is the default unless told otherwise', () => {
    const reg = defaultProviderRegistry();
    expect(reg.defaultProvider).toBe('scripted');
    expect(reg.get('scripted')?.name).toBe('scripted');
    const withOpenai = defaultProviderRegistry([openai], 'openai');
    expect(withOpenai.defaultProvider).toBe('openai');
    expect(withOpenai.names().sort()).toEqual(['openai', 'scripted']);
  });
});
