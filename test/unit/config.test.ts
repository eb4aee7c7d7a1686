import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, providersFromConfig, runnersFromConfig } from '../../worker/config/load';
import { resolveProvider } from '../../worker/providers/router';

function writeConfig(value: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bamboo-config-')), 'bamboo.config.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

test('no config file: only the scripted provider, and it is the default', () => {
  const registry = providersFromConfig(loadConfig(undefined));
  expect(registry.names()).toEqual(['scripted']);
  expect(registry.defaultProvider).toBe('scripted');
});

test('a full config builds providers, routes by model list and by subagent type, and runners', () => {
  const config = loadConfig(
    writeConfig({
      providers: [
        { type: 'openai-compatible', name: 'ollama', baseURL: 'http://127.0.0.1:11434/v1', models: ['llama3'] },
        { type: 'anthropic', name: 'claude', apiKeyEnv: 'ANTHROPIC_API_KEY', models: ['claude-sonnet'] },
      ],
      defaultProvider: 'ollama',
      subagents: { researcher: { provider: 'claude', model: 'claude-sonnet' } },
      externalAgents: [{ protocol: 'subprocess', agentId: 'local-coder', command: '/usr/bin/env', args: ['node', 'agent.js'] }],
    }),
  );
  const registry = providersFromConfig(config);
  expect(registry.names()).toEqual(['scripted', 'ollama', 'claude']);
  expect(resolveProvider(registry, { model: 'claude-sonnet' }).provider.name).toBe('claude');
  expect(resolveProvider(registry, { model: 'unknown-model' }).provider.name).toBe('ollama');
  expect(resolveProvider(registry, { model: 'llama3', subagentType: 'researcher' })).toMatchObject({ model: 'claude-sonnet' });
  expect(runnersFromConfig(config).map((r) => `${r.protocol}:${r.agentId}`)).toEqual(['subprocess:local-coder']);
});

test('a bad config names the file and the field', () => {
  const file = writeConfig({ providers: [{ type: 'openai-compatible', name: 'x', baseURL: 'not a url', apiKeyEnv: 'has space' }] });
  expect(() => loadConfig(file)).toThrow(new RegExp(`^invalid config ${file}: .*providers\\[0\\]\\.baseURL.*providers\\[0\\]\\.apiKeyEnv`));
});

test('an unknown (misspelled) key is an error naming the file and the key path, at every level', () => {
  const cases: [unknown, string][] = [
    [{ providers: [{ type: 'openai-compatible', name: 'x', baseURL: 'http://127.0.0.1:11434/v1', apiKeyENV: 'OPENAI_API_KEY' }] }, 'providers[0].apiKeyENV: unknown key'],
    [{ providers: [{ type: 'anthropic', name: 'claude', models: [], headers: { a: 'b' } }] }, 'providers[0].headers: unknown key'],
    [{ defaultProvder: 'scripted' }, 'defaultProvder: unknown key'],
    [{ subagents: { coder: { provider: 'scripted', modle: 'x' } } }, 'subagents.coder.modle: unknown key'],
    [{ externalAgents: [{ protocol: 'subprocess', agentId: 'a', command: '/bin/true', killGrace: 3 }] }, 'externalAgents[0].killGrace: unknown key'],
    [{ externalAgents: [{ protocol: 'a2a_jsonrpc', agentId: 'b', agentCardUrl: 'http://127.0.0.1/card.json', authToken: 'secret' }] }, 'externalAgents[0].authToken: unknown key'],
  ];
  for (const [config, problem] of cases) {
    const file = writeConfig(config);
    expect(() => loadConfig(file)).toThrow(`invalid config ${file}: ${problem}`);
    expect(file.endsWith('bamboo.config.json')).toBe(true);
  }
});

test('several unknown keys are all named, with the other problems', () => {
  const file = writeConfig({ providerz: [], defaultProvider: 'nope', subagents: { a: { provider: 'scripted', x: '1', y: '2' } } });
  expect(() => loadConfig(file)).toThrow(
    `invalid config ${file}: subagents.a.x: unknown key; subagents.a.y: unknown key; providerz: unknown key; defaultProvider: unknown provider "nope"`,
  );
});

test('a default or subagent route naming an unknown provider is rejected', () => {
  const file = writeConfig({ defaultProvider: 'nope', subagents: { coder: { provider: 'ghost' } } });
  expect(() => loadConfig(file)).toThrow(/defaultProvider: unknown provider "nope".*subagents\.coder\.provider: unknown provider "ghost"/);
});

test('a config file that is not JSON gets a readable error', () => {
  const file = writeConfig('{ providers: ');
  expect(() => loadConfig(file)).toThrow(new RegExp(`^cannot read config ${file}`));
});

test('the example config in the repository is valid', () => {
  const config = loadConfig(join(__dirname, '..', '..', 'bamboo.config.example.json'));
  expect(providersFromConfig(config).names()).toEqual(['scripted', 'openai', 'ollama', 'claude']);
  expect(runnersFromConfig(config).map((r) => r.agentId)).toEqual(['remote-planner', 'local-coder']);
  expect(providersFromConfig(config).priceOf('gpt-4o-mini', 'openai')).toBeDefined();
  expect(providersFromConfig(config).contextWindows.of('llama3.1', 'ollama')).toEqual({ windowTokens: 32768, compactAtTokens: 22937, keepTokens: 8192 });
});

test('context windows: configured by model or provider/model, known defaults, thresholds; bad entries named', () => {
  const config = loadConfig(
    writeConfig({
      models: { 'gpt-4o-mini': { contextWindowTokens: 64_000 }, 'scripted/tiny': { contextWindowTokens: 1000, compactAtPercent: 50 } },
      compaction: { model: 'scripted/summariser', keepRecentPercent: 20 },
    }),
  );
  const windows = providersFromConfig(config).contextWindows;
  expect(windows.of('gpt-4o-mini', 'openai')).toEqual({ windowTokens: 64_000, compactAtTokens: 51_200, keepTokens: 12_800 });
  expect(windows.of('tiny', 'scripted')).toEqual({ windowTokens: 1000, compactAtTokens: 500, keepTokens: 200 });
  expect(windows.of('tiny', 'other')).toBeUndefined();
  expect(windows.of('claude-sonnet-4-5')?.windowTokens).toBe(200_000); // a model we know
  expect(windows.of('llama3.1:8b')?.windowTokens).toBe(128_000); // the longest known prefix wins over llama3
  expect(windows.summary.modelRef).toEqual({ provider: 'scripted', model: 'summariser' });
  expect(windows.summary.prompt).toMatch(/summary/);
  expect(() => loadConfig(writeConfig({ models: { m: { contextWindowTokens: 10 } } }))).toThrow(/models\.m\.contextWindowTokens/);
  expect(() => loadConfig(writeConfig({ models: { m: { contextWindowTokens: 8000, window: 1 } } }))).toThrow(/models\.m\.window: unknown key/);
  expect(() => loadConfig(writeConfig({ compaction: { model: 'no-provider' } }))).toThrow(/compaction\.model: must be <provider>\/<model>/);
});

test('prices: decimal strings or numbers, by model or provider/model, exact; the registry finds them', () => {
  const config = loadConfig(
    writeConfig({
      providers: [{ type: 'openai-compatible', name: 'openai', baseURL: 'https://api.openai.com/v1', models: ['gpt-4o-mini'] }],
      prices: {
        'gpt-4o-mini': { inputPerMTok: '0.15', outputPerMTok: 0.6, cachedInputPerMTok: '0.075' },
        'scripted/demo-model': { inputPerMTok: 1, outputPerMTok: 2 },
      },
    }),
  );
  expect(config.prices['gpt-4o-mini']).toEqual({ inputPerMTok: 150_000_000_000n, outputPerMTok: 600_000_000_000n, cachedInputPerMTok: 75_000_000_000n });
  const registry = providersFromConfig(config);
  expect(registry.priceOf('gpt-4o-mini', 'openai')?.inputPerMTok).toBe(150_000_000_000n);
  expect(registry.priceOf('demo-model', 'scripted')?.outputPerMTok).toBe(2_000_000_000_000n);
  expect(registry.priceOf('demo-model', 'openai')).toBeUndefined();
  expect(registry.priceOf('llama3')).toBeUndefined();
  expect(providersFromConfig(loadConfig(undefined)).priceOf('gpt-4o-mini')).toBeUndefined();
});

test('a bad price names the model and the field; a price object is strict', () => {
  const cases: [unknown, string][] = [
    [{ 'gpt-4o': { inputPerMTok: '-2.5', outputPerMTok: '10' } }, 'prices.gpt-4o.inputPerMTok: must be a non-negative decimal number of USD per million tokens, got "-2.5"'],
    [{ 'gpt-4o': { inputPerMTok: '2.5', outputPerMTok: '0.0000000000001' } }, 'prices.gpt-4o.outputPerMTok: must have at most 12 decimal places, got "0.0000000000001"'],
    [{ 'gpt-4o': { inputPerMTok: '2.5' } }, 'prices.gpt-4o.outputPerMTok: Invalid input'],
    [{ 'gpt-4o': { inputPerMTok: '2.5', outputPerMTok: '10', cachedPerMTok: '1' } }, 'prices.gpt-4o.cachedPerMTok: unknown key'],
    [{ 'gpt-4o': { inputPerMTok: true, outputPerMTok: '10' } }, 'prices.gpt-4o.inputPerMTok: Invalid input'],
  ];
  for (const [prices, problem] of cases) {
    const file = writeConfig({ prices });
    expect(() => loadConfig(file)).toThrow(`invalid config ${file}: ${problem}`);
  }
});

test('an external agent profile may name its model, which prices the usage it reports', () => {
  const config = loadConfig(
    writeConfig({
      externalAgents: [
        { protocol: 'subprocess', agentId: 'coder', command: '/bin/true', model: 'gpt-4o-mini' },
        { protocol: 'a2a_jsonrpc', agentId: 'planner', agentCardUrl: 'http://127.0.0.1/card.json' },
      ],
    }),
  );
  expect(runnersFromConfig(config).map((r) => r.model)).toEqual(['gpt-4o-mini', undefined]);
});
