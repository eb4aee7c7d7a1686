/**
 * Bamboo as a Temporal plugin: `Worker.create({ plugins: [bambooPlugin({...})] })` adds Bamboo's
 * workflows, activities, payload converter and interceptors to a worker that may run your own
 * workflows too (your workflows file then re-exports Bamboo's); `new Client({ plugins: [...] })`
 * gives the client the same data converter.
 * Built on `@temporalio/plugin`'s SimplePlugin, so each option merges with yours the way
 * Temporal's plugins do (activities and interceptors are appended, not replaced).
 */
import { createContextWindows } from './providers/context-windows';
import { DeploymentSchema, workerDeploymentOptions, type Deployment } from './versioning';
import type { Client } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import type { BundleOptions, WorkerInterceptors, WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import { createActivities } from './activities';
import type { CloseWatchOptions } from './activities/close-watches';
import { concatenateWorkflowModules, PRELOADED_WORKFLOW_MODULES } from './bundle';
import { WORKFLOW_INTERCEPTOR_MODULES, workerDataConverter, workflowBundleConverters } from './codec/worker-data-converter';
import { describeConfigError, runnersFromConfig } from './config/load';
import { BambooConfigSchema, type BambooConfig } from './config/schema';
import { workerObservabilitySync, type ObservabilitySettings } from './observability';
import { createConfiguredProvider } from './providers/configured';
import { providerFromInput, type ProviderInput } from './providers/in-code';
import { createProviderRegistry, type ProviderRegistry } from './providers/router';
import { createScriptedProvider } from './providers/scripted';
import type { ExternalRunner } from './runners/types';
import { BUILTIN_TOOLS } from './tools/builtin';
import { checkToolNames, toolDefinitions, type ToolsInput } from './tools/define-tool';
import { connectMcpServers, McpServersSchema, type McpServerConfig } from './tools/mcp';
import { ToolPolicySchema, type ToolPolicy } from './tools/policy';
import { createToolRegistry, type ToolDefinition, type ToolRegistry } from './tools/types';

/** Bamboo's workflow module: what a worker bundles (`bamboo-engine/workflows`). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The workflow types Bamboo registers: your own workflows must not take these names. */
export const BAMBOO_WORKFLOW_TYPES = ['sessionWorkflow', 'childSessionWorkflow'] as const;

export interface BambooPluginOptions {
  /** Your tools: `defineTool(...)` in a list, or a record of name → AI SDK `tool()` or `defineTool(...)`. */
  tools?: ToolsInput;
  /** Bamboo's harmless built-ins (`get_current_time`, `wait`); default true. */
  builtinTools?: boolean;
  /** Providers by name: AI SDK `LanguageModel` factories, `{ languageModel, models }`, or `ModelProvider`s. */
  providers?: Readonly<Record<string, ProviderInput>>;
  /** The provider a session that names none goes to; default: the first of yours, else of the configuration's, else `scripted`. */
  defaultProvider?: string;
  /**
   * A configuration in bamboo.config.json's shape (docs/configuration.md), validated here:
   * its providers, external agents, subagent routes, prices, tool policy and MCP servers.
   */
  config?: unknown;
  /** External runners (subprocess or A2A agents), next to the configuration's. */
  runners?: readonly ExternalRunner[];
  /** Per-tool allow / deny / ask; default: the configuration's (allow all but `ask_user`). */
  toolPolicy?: ToolPolicy;
  /** MCP servers whose tools are offered as `mcp__<server>__<tool>`, next to the configuration's: connected when the worker runs, closed when it stops. */
  mcpServers?: readonly McpServerConfig[];
  /** Payload codecs (e.g. encryption); the plugin gives them to the client and the worker alike. */
  codecs?: readonly PayloadCodec[];
  /** Traces and metrics (docs/observability.md); default: off (the `bamboo worker` host reads them from the environment). */
  observability?: ObservabilitySettings;
  /** The client activities read sessions through; default: the activity context's (worker/activities/client.ts). */
  client?: Client;
  /** How close watches heartbeat (tests shorten it). */
  closeWatches?: CloseWatchOptions;
  /**
   * Join a worker deployment as this version (Worker Versioning; docs/operations.md#deploying-under-running-sessions):
   * child runs stay on the version they started on, roots move to the current version at a turn boundary. Default: off.
   */
  deployment?: Deployment;
}

export class BambooPlugin extends SimplePlugin {
  readonly providers: ProviderRegistry;
  /** The tools offered now: the static ones, then MCP servers' once the worker runs. */
  readonly tools: Map<string, ToolDefinition>;
  private readonly workflowModules: readonly string[];
  private readonly sinks: WorkerOptions['sinks'];

  /**
   * `prepared`: registries built elsewhere, instead of the options' providers and tools
   * (createBambooWorker's callers give them; its `mcpTools` are connected already).
   */
  constructor(input: BambooPluginOptions = {}, prepared: { providers?: ProviderRegistry; tools?: ToolRegistry } = {}) {
    const options = checkedOptions(input);
    const config = parseConfig(options.config);
    if (options.toolPolicy && (options.config as { toolPolicy?: unknown } | undefined)?.toolPolicy !== undefined) {
      throw new Error('bambooPlugin: toolPolicy is given twice, as an option and in config: give it once (one would silently replace the other)');
    }
    const providers = prepared.providers ?? providerRegistry(config, options);
    const staticTools = [
      ...(options.builtinTools === false ? [] : [{ source: 'Bamboo (a built-in tool)', tools: BUILTIN_TOOLS }]),
      { source: 'this worker (bambooPlugin tools)', tools: withPrefix(() => [...createToolRegistry(toolDefinitions(options.tools)).values()]) },
    ];
    checkToolNames(staticTools);
    const tools = new Map<string, ToolDefinition>(prepared.tools ?? []);
    if (!prepared.tools) for (const tool of staticTools.flatMap((s) => s.tools)) tools.set(tool.spec.name, tool);
    // Off unless asked for: a library does not take over its host's OpenTelemetry (the CLI's worker passes the environment's settings).
    const observed = options.observability ? workerObservabilitySync(providers, options.observability) : undefined;
    const workflowModules = [...WORKFLOW_INTERCEPTOR_MODULES, ...(observed?.workflowModules ?? [])];
    const activities = createActivities({
      client: options.client,
      providers,
      tools,
      runners: [...runnersFromConfig(config), ...(options.runners ?? [])],
      toolPolicy: options.toolPolicy ? ToolPolicySchema.parse(options.toolPolicy) : config.toolPolicy,
      closeWatches: options.closeWatches,
    });
    const codecs = [...(options.codecs ?? [])];
    const mcpServers = [...config.mcpServers, ...McpServersSchema.parse(options.mcpServers ?? [])];
    super({
      name: 'bamboo-engine',
      activities: (existing?: object) => withoutClash('activity', existing, activities),
      // Your own workflows file re-exports Bamboo's (`export * from 'bamboo-engine/workflows'`): one bundle holds both.
      workflowsPath: (existing?: string) => existing ?? WORKFLOWS_PATH,
      dataConverter: (existing?: DataConverter) => bambooDataConverter(existing, codecs),
      workerInterceptors: {
        workflowModules,
        ...(observed ? { activity: observed.activity } : {}),
      } satisfies WorkerInterceptors,
      runContext: (next) => withMcpTools(next, mcpServers, staticTools, tools),
    });
    this.providers = providers;
    this.tools = tools;
    this.workflowModules = workflowModules;
    this.sinks = observed?.sinks;
    this.encodesFailures = codecs.length > 0;
    this.deployment = options.deployment;
  }

  private readonly deployment?: Deployment;

  private readonly encodesFailures: boolean;

  override configureWorker(options: WorkerOptions): WorkerOptions {
    const configured = super.configureWorker(options);
    // A prebuilt bundle holds its workflows and interceptors already (`bundleWorkflowCode({ plugins })`).
    const bundled = options.workflowBundle ? { workflowsPath: undefined, interceptors: { ...configured.interceptors, workflowModules: options.interceptors?.workflowModules } } : {};
    return {
      ...configured,
      ...bundled,
      // zod, the shared schemas and Bamboo's workflows load once per worker, not once per workflow run (bundle.ts).
      ...(options.workflowBundle
        ? {}
        : {
            bundlerOptions: {
              ...configured.bundlerOptions,
              preloadModules: [...(configured.bundlerOptions?.preloadModules ?? []), ...PRELOADED_WORKFLOW_MODULES],
              webpackConfigHook: concatenateWorkflowModules(configured.bundlerOptions?.webpackConfigHook),
            },
          }),
      ...(this.sinks ? { sinks: { ...configured.sinks, ...this.sinks } } : {}),
      ...(this.deployment && !options.workerDeploymentOptions ? { workerDeploymentOptions: workerDeploymentOptions(this.deployment) } : {}),
      ...heartbeatThrottle(options),
    };
  }

  /** A prebuilt bundle gets Bamboo's converters too (the sandbox decodes with them), unless the caller chose its own. */
  override configureBundler(options: BundleOptions): BundleOptions {
    const configured = super.configureBundler(options);
    const converters = workflowBundleConverters({ encodeFailures: this.encodesFailures });
    return {
      ...configured,
      payloadConverterPath: configured.payloadConverterPath ?? converters.payloadConverterPath,
      ...(converters.failureConverterPath ? { failureConverterPath: configured.failureConverterPath ?? converters.failureConverterPath } : {}),
      preloadModules: [...(configured.preloadModules ?? []), ...PRELOADED_WORKFLOW_MODULES],
      webpackConfigHook: concatenateWorkflowModules(configured.webpackConfigHook),
    };
  }

  /** The workflow interceptor modules a prebuilt bundle must include (`bundleWorkflowCode({ plugins })` adds them). */
  get workflowInterceptorModules(): readonly string[] {
    return this.workflowModules;
  }
}

/** The plugin for your worker and client. Invalid options throw here, naming the field. */
export function bambooPlugin(options: BambooPluginOptions = {}): BambooPlugin {
  return new BambooPlugin(options);
}

/** MCP servers connect before the worker polls, their tools join the others, and they close after it stops. */
async function withMcpTools(
  next: () => Promise<void>,
  servers: readonly McpServerConfig[],
  staticTools: readonly { source: string; tools: readonly ToolDefinition[] }[],
  tools: Map<string, ToolDefinition>,
): Promise<void> {
  if (servers.length === 0) return next();
  const mcp = await connectMcpServers(servers);
  try {
    checkToolNames([...staticTools, { source: 'an MCP server', tools: mcp.tools }]);
    for (const tool of mcp.tools) tools.set(tool.spec.name, tool);
    await next();
  } finally {
    await mcp.close();
  }
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');
const ProviderInputSchema = z.union([
  fn,
  z.looseObject({ languageModel: fn, models: z.array(z.string().min(1)).optional() }),
  z.looseObject({ name: z.string().min(1), stream: fn }),
], 'must be a LanguageModel factory, { languageModel, models }, or a ModelProvider');
const PluginOptionsSchema = z.looseObject({
  tools: z.union([z.array(z.any()), z.record(z.string(), z.any())], 'must be a list of tools or a record of name → tool').optional(),
  builtinTools: z.boolean().optional(),
  providers: z.record(z.string(), ProviderInputSchema).optional(),
  defaultProvider: z.string().min(1).optional(),
  runners: z.array(z.looseObject({ agentId: z.string().min(1), protocol: z.string(), run: fn }), 'must be a list of runners ({ agentId, protocol, run })').optional(),
  toolPolicy: ToolPolicySchema.optional(),
  mcpServers: McpServersSchema.optional(),
  codecs: z.array(z.looseObject({ encode: fn, decode: fn }), 'must be a list of payload codecs ({ encode, decode })').optional(),
  observability: z.looseObject({}).optional(),
  deployment: DeploymentSchema.optional(),
});

/** Every option checked when the plugin is made: a bad one throws naming it. */
function checkedOptions(options: BambooPluginOptions): BambooPluginOptions {
  const parsed = PluginOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`bambooPlugin: invalid options: ${describeConfigError(parsed.error)}`);
  return options;
}

function withPrefix<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new Error(`bambooPlugin: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseConfig(input: unknown): BambooConfig {
  const parsed = BambooConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new Error(`bambooPlugin: invalid config: ${describeConfigError(parsed.error)}`);
  return parsed.data;
}

const ProviderNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1 to 64 letters, digits, "_", "." or "-"');

function providerRegistry(config: BambooConfig, options: BambooPluginOptions): ProviderRegistry {
  const configured = config.providers.map(createConfiguredProvider);
  const inCode = Object.entries(options.providers ?? {}).map(([name, input]) => {
    const checked = ProviderNameSchema.safeParse(name);
    if (!checked.success) throw new Error(`bambooPlugin: provider name ${JSON.stringify(name)}: ${checked.error.issues[0]?.message}`);
    return providerFromInput(name, input);
  });
  const all = [createScriptedProvider(), ...configured, ...inCode];
  const names = new Set<string>();
  for (const provider of all) {
    if (names.has(provider.name)) throw new Error(`bambooPlugin: provider ${JSON.stringify(provider.name)} is defined twice (in code, in the configuration, or the built-in scripted provider)`);
    names.add(provider.name);
  }
  const fallback = options.defaultProvider ?? inCode[0]?.name ?? config.defaultProvider ?? configured[0]?.name ?? 'scripted';
  if (!names.has(fallback)) throw new Error(`bambooPlugin: defaultProvider ${JSON.stringify(fallback)} is not among the providers (${[...names].join(', ')})`);
  return createProviderRegistry(all, fallback, config.subagents, config.prices, createContextWindows(config.models, config.compaction));
}

/** Bamboo's payload converter (lenient for signal arguments only) with your codecs and Bamboo's. */
function bambooDataConverter(existing: DataConverter | undefined, codecs: readonly PayloadCodec[]): DataConverter {
  if (existing?.payloadConverterPath) {
    throw new Error(`bambooPlugin: the worker or client already has a payloadConverterPath (${existing.payloadConverterPath}); Bamboo needs its own (common/payload-converter.ts): add payload codecs instead`);
  }
  const payloadCodecs = [...(existing?.payloadCodecs ?? []), ...codecs];
  return workerDataConverter({ ...existing, ...(payloadCodecs.length ? { payloadCodecs } : {}) });
}

function withoutClash(what: string, existing: object | undefined, ours: Record<string, unknown>): object {
  const clash = Object.keys(ours).find((name) => existing && name in existing);
  if (clash) throw new Error(`bambooPlugin: the worker already has an ${what} named ${JSON.stringify(clash)}, which Bamboo registers too`);
  return { ...existing, ...ours };
}

/**
 * The worker's heartbeat throttling: the caller's, else the SDK's own — a heartbeat reaches the
 * server at most every 80 % of the activity's heartbeat timeout (24 s for a model call), so a
 * 60 s stream costs 3 billable heartbeats, not the 30 a 2 s flush cost (bench/RESULTS.md,
 * "actions"). Liveness needs no more; cancellation travels in heartbeat responses, so a cancel
 * reaches a streaming call within that interval (BAMBOO_HEARTBEAT_THROTTLE=2s: within 2 s).
 */
export function heartbeatThrottle(options: Pick<WorkerOptions, 'maxHeartbeatThrottleInterval' | 'defaultHeartbeatThrottleInterval'>): Pick<WorkerOptions, 'maxHeartbeatThrottleInterval' | 'defaultHeartbeatThrottleInterval'> {
  return {
    ...(options.maxHeartbeatThrottleInterval !== undefined ? { maxHeartbeatThrottleInterval: options.maxHeartbeatThrottleInterval } : {}),
    ...(options.defaultHeartbeatThrottleInterval !== undefined ? { defaultHeartbeatThrottleInterval: options.defaultHeartbeatThrottleInterval } : {}),
  };
}
