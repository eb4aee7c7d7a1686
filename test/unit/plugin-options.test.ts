/**
 * The plugin's options (issue 26): what it adds to a worker's and a client's options, how it
 * merges with what the worker already has, and the errors a bad option gives at start, naming it.
 * (That a worker so configured runs sessions is test/package/packed.test.ts's, from the tarball.)
 */
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import { BambooPlugin, bambooPlugin, WORKFLOWS_PATH } from '../../worker/plugin';
import { PRELOADED_WORKFLOW_MODULES } from '../../worker/bundle';
import { defineTool } from '../../worker/tools/define-tool';
import { PAYLOAD_CONVERTER_PATH, ENCODED_FAILURE_CONVERTER_PATH, WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/codec/worker-data-converter';
import { createEncryptionCodec } from '../../worker/codec/aes-gcm';
import { languageModelProvider } from '../../worker/providers/in-code';
import { readEnv } from '../../worker/config/env';
import { defaultBuildId } from '../../worker/versioning';

const base = (extra: Partial<WorkerOptions> = {}): WorkerOptions => ({ connection: {} as NativeConnection, taskQueue: 'q', ...extra });
const OFF = {};

test('a worker with no workflows of its own gets Bamboo’s, its activities, converter and interceptors, and the SDK’s heartbeat throttling', () => {
  const options = bambooPlugin(OFF).configureWorker(base({ activities: { mine: async () => 'x' } }));
  expect(options.workflowsPath).toBe(WORKFLOWS_PATH);
  expect(Object.keys(options.activities as object)).toEqual(expect.arrayContaining(['mine', 'callModel', 'runTool', 'awaitSessionRunClose', 'loadSessionSnapshot']));
  expect(options.dataConverter?.payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  expect(options.interceptors?.workflowModules).toEqual([...WORKFLOW_INTERCEPTOR_MODULES]);
  // zod, the schema cache and Bamboo's workflows are evaluated once per worker (worker/bundle.ts).
  expect(options.bundlerOptions?.preloadModules).toEqual([...PRELOADED_WORKFLOW_MODULES]);
  expect(options.bundlerOptions?.preloadModules).toContain(WORKFLOWS_PATH);
  expect(options.bundlerOptions?.webpackConfigHook?.({ mode: 'development' })).toEqual({ mode: 'development', optimization: { concatenateModules: true } });
  // Unset, the SDK sends a heartbeat at most every 80 % of the heartbeat timeout (billable actions: docs/benchmarks.md).
  expect(options.maxHeartbeatThrottleInterval).toBeUndefined();
  expect(options.defaultHeartbeatThrottleInterval).toBeUndefined();
});

test('a worker’s own bundler options stay: its preloaded modules and its webpack hook run, then module concatenation', () => {
  const options = bambooPlugin(OFF).configureWorker(
    base({ bundlerOptions: { preloadModules: ['/app/lib.js'], webpackConfigHook: (config) => ({ ...config, devtool: false, optimization: { minimize: false } }) } }),
  );
  expect(options.bundlerOptions?.preloadModules).toEqual(['/app/lib.js', ...PRELOADED_WORKFLOW_MODULES]);
  expect(options.bundlerOptions?.webpackConfigHook?.({ mode: 'development' })).toEqual({ mode: 'development', devtool: false, optimization: { minimize: false, concatenateModules: true } });
  const off = bambooPlugin(OFF).configureWorker(base({ bundlerOptions: { webpackConfigHook: (config) => ({ ...config, optimization: { concatenateModules: false } }) } }));
  expect(off.bundlerOptions?.webpackConfigHook?.({})).toEqual({ optimization: { concatenateModules: false } }); // its own choice stands
});

test('a worker’s own workflows path, interceptors and heartbeat settings stay; a prebuilt bundle gets no path', () => {
  const plugin = bambooPlugin(OFF);
  const mine = plugin.configureWorker(base({ workflowsPath: '/app/workflows.js', interceptors: { workflowModules: ['/app/mine.js'] }, maxHeartbeatThrottleInterval: '5s' }));
  expect(mine.workflowsPath).toBe('/app/workflows.js');
  expect(mine.interceptors?.workflowModules).toEqual(['/app/mine.js', ...WORKFLOW_INTERCEPTOR_MODULES]);
  expect(mine.maxHeartbeatThrottleInterval).toBe('5s');
  const bundled = plugin.configureWorker(base({ workflowBundle: { codePath: '/app/bundle.js' } }));
  expect(bundled.workflowsPath).toBeUndefined();
  expect(bundled.interceptors?.workflowModules).toBeUndefined();
  // bundleWorkflowCode({ plugins }) is where a prebuilt bundle gets them.
  expect(plugin.configureBundler({ workflowsPath: '/app/workflows.js' }).workflowInterceptorModules).toEqual([...WORKFLOW_INTERCEPTOR_MODULES]);
});

test('codecs go to the worker and the client alike, with the failure converter that keeps failures encrypted', () => {
  const codec = createEncryptionCodec({ key: new Uint8Array(32).fill(7) });
  const plugin = bambooPlugin({ ...OFF, codecs: [codec] });
  const worker = plugin.configureWorker(base()).dataConverter!;
  expect(worker.payloadCodecs).toHaveLength(1);
  expect(worker.failureConverterPath).toBe(ENCODED_FAILURE_CONVERTER_PATH);
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }), plugins: [plugin] });
  expect(client.options.dataConverter.payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  expect(client.options.dataConverter.payloadCodecs).toHaveLength(1);
});

test('what a worker already has and Bamboo needs too is refused, naming it', () => {
  const plugin = bambooPlugin(OFF);
  expect(() => plugin.configureWorker(base({ activities: { callModel: async () => 'mine' } }))).toThrow(
    'bambooPlugin: the worker already has an activity named "callModel", which Bamboo registers too',
  );
  expect(() => plugin.configureWorker(base({ dataConverter: { payloadConverterPath: '/app/converter.js' } }))).toThrow(/already has a payloadConverterPath \(\/app\/converter\.js\)/);
});

test('bad options throw when the plugin is made, naming the field', () => {
  expect(() => bambooPlugin({ config: { providers: [{ type: 'openai-compatible', name: 'x', baseURL: 'not a url' }] } })).toThrow(/^bambooPlugin: invalid config: providers\[0\]\.baseURL: /);
  expect(() => bambooPlugin({ config: { colour: 'green' } })).toThrow('bambooPlugin: invalid config: colour: unknown key');
  expect(() => bambooPlugin({ defaultProvider: 'nope' })).toThrow('bambooPlugin: defaultProvider "nope" is not among the providers (scripted)');
  expect(() => bambooPlugin({ providers: { 'bad name': () => ({}) as never } })).toThrow(/^bambooPlugin: provider name "bad name": /);
  expect(() => bambooPlugin({ providers: { scripted: () => ({}) as never } })).toThrow('bambooPlugin: provider "scripted" is defined twice');
  const wait = defineTool({ name: 'wait', description: 'mine', input: z.object({}), idempotent: true, execute: () => '' });
  expect(() => bambooPlugin({ tools: [wait] })).toThrow('tool name clash: "wait" is defined by this worker (bambooPlugin tools) and by Bamboo (a built-in tool)');
  expect(bambooPlugin({ ...OFF, tools: [wait], builtinTools: false }).tools.get('wait')?.spec.description).toBe('mine');
});

test('providers in code: the first is the default, and a model they list routes to them', () => {
  const model = () => ({}) as never;
  const plugin: BambooPlugin = bambooPlugin({ ...OFF, providers: { openai: model, local: { languageModel: model, models: ['llama3.2'] } } });
  expect(plugin.providers.defaultProvider).toBe('openai');
  expect(plugin.providers.names().sort()).toEqual(['local', 'openai', 'scripted']);
  expect(plugin.providers.servingModel('llama3.2')?.name).toBe('local');
  expect(() => bambooPlugin({ providers: { a: languageModelProvider('b', { languageModel: model }) } })).toThrow('provider "b" is given under the name "a": use one name');
});

test('every option is checked when the plugin is made: a permission, a limit, a provider, a codec', () => {
  expect(() => bambooPlugin({ toolPolicy: { tools: { shell: 'Deny' as never } } })).toThrow(/^bambooPlugin: invalid options: toolPolicy\.tools\.shell: /);
  const slow = defineTool({ name: 'slow', description: 'd', input: z.object({}), idempotent: true, timeoutSecs: 0, execute: () => '' });
  expect(() => bambooPlugin({ tools: [slow] })).toThrow('bambooPlugin: tool slow: timeoutSecs must be > 0 and at most 120, got 0');
  expect(() => bambooPlugin({ providers: { openai: null as never } })).toThrow(/^bambooPlugin: invalid options: providers\.openai: must be a LanguageModel factory/);
  expect(() => bambooPlugin({ providers: { openai: {} as never } })).toThrow(/^bambooPlugin: invalid options: providers\.openai: /);
  expect(() => bambooPlugin({ codecs: [{} as never] })).toThrow('bambooPlugin: invalid options: codecs[0].encode: must be a function; codecs[0].decode: must be a function');
  expect(() => bambooPlugin({ toolPolicy: { tools: { other: 'ask' } }, config: { toolPolicy: { tools: { shell: 'deny' } } } })).toThrow('bambooPlugin: toolPolicy is given twice');
  expect(() => bambooPlugin({ builtinTools: 'no' as never })).toThrow(/^bambooPlugin: invalid options: builtinTools: /);
  expect(() => bambooPlugin({ mcpServers: [{ name: 'x' } as never] })).toThrow(/^bambooPlugin: invalid options: mcpServers\[0\]/);
});

test('a prebuilt bundle made with the plugin gets Bamboo’s converters; traces stay off unless asked for', () => {
  const plain = bambooPlugin().configureBundler({ workflowsPath: '/app/workflows.js' });
  expect(plain.payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  expect(plain.failureConverterPath).toBeUndefined();
  const codec = createEncryptionCodec({ key: new Uint8Array(32).fill(7) });
  expect(bambooPlugin({ codecs: [codec] }).configureBundler({ workflowsPath: '/app/workflows.js' }).failureConverterPath).toBe(ENCODED_FAILURE_CONVERTER_PATH);
  // With a prebuilt bundle the worker gets no bundler options (the SDK would warn that it ignores them).
  expect(bambooPlugin().configureWorker(base({ workflowBundle: { codePath: '/app/bundle.js' } })).bundlerOptions).toBeUndefined();
  // No observability option: no tracing interceptors, whatever the environment says.
  const previous = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:4318';
  try {
    expect(bambooPlugin().configureWorker(base()).interceptors?.activity ?? []).toEqual([]);
  } finally {
    if (previous === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = previous;
  }
});

test('a deployment makes the worker one version of it, every run pinned by default; none leaves the worker unversioned; a bad name is refused', () => {
  const versioned = bambooPlugin({ deployment: { name: 'agents', buildId: '1.2.0-abc' } }).configureWorker(base());
  expect(versioned.workerDeploymentOptions).toEqual({ version: { deploymentName: 'agents', buildId: '1.2.0-abc' }, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' });
  expect(bambooPlugin(OFF).configureWorker(base()).workerDeploymentOptions).toBeUndefined();
  const own = { version: { deploymentName: 'mine', buildId: 'b' }, useWorkerVersioning: true as const, defaultVersioningBehavior: 'AUTO_UPGRADE' as const };
  expect(bambooPlugin({ deployment: { name: 'agents', buildId: '1' } }).configureWorker(base({ workerDeploymentOptions: own })).workerDeploymentOptions).toEqual(own);
  expect(() => bambooPlugin({ deployment: { name: 'a.b', buildId: '1' } })).toThrow('bambooPlugin: invalid options: deployment.name: must not contain "."');
});

test('the worker host’s versioning variables: off by default, on/off words only, a name without a dot', () => {
  expect(readEnv({}).BAMBOO_WORKER_VERSIONING).toBe(false);
  expect(readEnv({ BAMBOO_WORKER_VERSIONING: 'on', BAMBOO_BUILD_ID: 'v7' })).toMatchObject({ BAMBOO_WORKER_VERSIONING: true, BAMBOO_BUILD_ID: 'v7' });
  expect(() => readEnv({ BAMBOO_WORKER_VERSIONING: 'yes' })).toThrow('invalid environment: BAMBOO_WORKER_VERSIONING: must be on or off');
  expect(() => readEnv({ BAMBOO_DEPLOYMENT_NAME: 'my.agents' })).toThrow('invalid environment: BAMBOO_DEPLOYMENT_NAME: must not contain "."');
  expect(defaultBuildId('code')).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
  expect(defaultBuildId('code')).not.toBe(defaultBuildId('other code'));
});
