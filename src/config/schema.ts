/**
 * The worker's configuration file (zod-validated): providers, the default provider,
 * external-agent profiles and routing by subagent type. It names environment variables
 * that hold secrets; it never holds a secret itself.
 */
import { z } from 'zod';
import { ProviderConfigSchema } from '../providers/configured';
import { A2AProfileSchema } from '../runners/a2a';
import { SubprocessProfileSchema } from '../runners/subprocess';

export const BambooConfigSchema = z
  .object({
    /** Default: `scripted` when no provider is configured, else the first configured provider. */
    defaultProvider: z.string().min(1).optional(),
    providers: z.array(ProviderConfigSchema).default([]),
    externalAgents: z.array(z.discriminatedUnion('protocol', [A2AProfileSchema, SubprocessProfileSchema])).default([]),
    /** subagent_type → provider (and model) for children spawned without an explicit model. */
    subagents: z.record(z.string(), z.object({ provider: z.string().min(1), model: z.string().min(1).optional() })).default({}),
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
