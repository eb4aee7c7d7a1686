/**
 * The plugin's options (issue 26): what it adds to a worker's and a client's options, how it
 * merges with what the worker already has, and the errors a bad option gives at start, naming it.
 * (That a worker so configured runs sessions is test/package/packed.test.ts's, from the tarball.)
 */
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import { BambooPlugin, bambooPlugin, WORKFLOWS_PATH } from '../../worker/plugin';
import { defineTool } from '../../worker/tools/define-tool';
import { PAYLOAD_CONVERTER_PATH, ENCODED_FAILURE_CONVERTER_PATH, WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/codec/worker-data-converter';
import { createEncryptionCodec } from '../../worker/codec/aes-gcm';
import { languageModelProvider } from '../../worker/providers/in-code';

const base = (extra: Partial<WorkerOptions> = {}): WorkerOptions => ({ connection: {} as NativeConnection, taskQueue: 'q', ...extra });
const OFF = { observability: {} };

test('a worker with no workflows of its own gets Bamboo’s, its activities, converter, interceptors and heartbeat flush', () => {
  const options = bambooPlugin(OFF).configureWorker(base({ activities: { mine: async () => 'x' } }));
  expect(options.workflowsPath).toBe(WORKFLOWS_PATH);
  expect(Object.keys(options.activities as object)).toEqual(expect.arrayContaining(['mine', 'callModel', 'runTool', 'awaitSessionRunClose', 'loadSessionSnapshot']));
  expect(options.dataConverter?.payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  expect(options.interceptors?.workflowModules).toEqual([...WORKFLOW_INTERCEPTOR_MODULES]);
  expect(options.bundlerOptions?.preloadModules?.length).toBe(2);
  expect(options).toMatchObject({ maxHeartbeatThrottleInterval: '2s', defaultHeartbeatThrottleInterval: '2s' });
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
