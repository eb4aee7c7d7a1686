/**
 * The worker's configuration file (zod-validated): providers, the default provider,
 * external-agent profiles, routing by subagent type, prices per model (worker/pricing.ts), the
 * tool policy (worker/tools/policy.ts) and MCP servers (worker/tools/mcp/config.ts). It names environment variables
 * that hold secrets; it never holds a secret itself. Every object in it is strict: an unknown
 * (say, misspelled) key is an error naming it, never silently dropped.
 */
import { z } from 'zod';
import { PriceTableSchema } from '../pricing';
import { ProviderConfigSchema } from '../providers/configured';
import { CompactionSettingsSchema, ModelSettingsSchema } from '../providers/context-windows';
import { A2AProfileSchema } from '../runners/a2a';
import { SubprocessProfileSchema } from '../runners/subprocess';
import { McpServersSchema } from '../tools/mcp/config';
import { ToolPolicySchema } from '../tools/policy';

const [OpenAICompatibleSchema, AnthropicSchema] = ProviderConfigSchema.options;
const StrictProviderConfigSchema = z.discriminatedUnion('type', [OpenAICompatibleSchema.strict(), AnthropicSchema.strict()]);

export const BambooConfigSchema = z
  .strictObject({
    /** Default: `scripted` when no provider is configured, else the first configured provider. */
    defaultProvider: z.string().min(1).optional(),
    providers: z.array(StrictProviderConfigSchema).default([]),
    externalAgents: z.array(z.discriminatedUnion('protocol', [A2AProfileSchema.strict(), SubprocessProfileSchema.strict()])).default([]),
    /** subagent_type → provider (and model) for children spawned without an explicit model. */
    subagents: z.record(z.string(), z.strictObject({ provider: z.string().min(1), model: z.string().min(1).optional() })).default({}),
    /**
     * `<model>` or `<provider>/<model>` → `{ inputPerMTok, outputPerMTok, cachedInputPerMTok? }`,
     * USD per million tokens (decimal strings or numbers), parsed to exact integers.
     */
    prices: PriceTableSchema.default({}),
    /** `<model>` or `<provider>/<model>` → `{ contextWindowTokens, compactAtPercent? }` (defaults exist for known models). */
    models: ModelSettingsSchema.default({}),
    /** Summaries of older turns: the model that writes them, its prompt, the threshold and what stays whole. */
    compaction: CompactionSettingsSchema.prefault({}),
    /** Per tool `allow` | `deny` | `ask`, overridden per subagent_type; default: allow all (but `ask_user`). */
    toolPolicy: ToolPolicySchema.prefault({}),
    /** MCP servers whose tools the worker offers as `mcp__<server>__<tool>` (worker/tools/mcp/config.ts). */
    mcpServers: McpServersSchema,
  })
  .superRefine((config, ctx) => {
    const names = new Set(['scripted', ...config.providers.map((p) => p.name)]);
    if (config.providers.length + 1 !== names.size) {
      ctx.addIssue({ code: 'custom', path: ['providers'], message: 'provider names must be unique (and not "scripted")' });
    }
    if (config.defaultProvider && !names.has(config.defaultProvider)) {
      ctx.addIssue({ code: 'custom', path: ['defaultProvider'], message: `unknown provider ${JSON.stringify(config.defaultProvider)}` });
    }
    for (const [type, route] of Object.entries(config.subagents)) {
      if (!names.has(route.provider)) {
        ctx.addIssue({ code: 'custom', path: ['subagents', type, 'provider'], message: `unknown provider ${JSON.stringify(route.provider)}` });
      }
    }
  });
export type BambooConfig = z.infer<typeof BambooConfigSchema>;
