/**
 * Loading the configuration: BAMBOO_CONFIG names a JSON file; else ./bamboo.config.json if
 * present; else the built-in default (only the `scripted` provider). Errors name the file
 * and the bad field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeZodError } from '../domain';
import { createConfiguredProvider } from '../providers/configured';
import { createProviderRegistry, type ProviderRegistry } from '../providers/router';
import { createScriptedProvider } from '../providers/scripted';
import { createA2ARunner } from '../runners/a2a';
import { createSubprocessRunner } from '../runners/subprocess';
import type { ExternalRunner } from '../runners/types';
import { BambooConfigSchema, type BambooConfig } from './schema';

export function configPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.BAMBOO_CONFIG) return resolve(env.BAMBOO_CONFIG);
  const local = resolve('bamboo.config.json');
  return existsSync(local) ? local : undefined;
}

export function loadConfig(path = configPath()): BambooConfig {
  if (!path) return BambooConfigSchema.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read config ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = BambooConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid config ${path}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Providers of a configuration: `scripted` always, then the configured ones. */
export function providersFromConfig(config: BambooConfig): ProviderRegistry {
  const configured = config.providers.map(createConfiguredProvider);
  const fallback = config.defaultProvider ?? configured[0]?.name ?? 'scripted';
  return createProviderRegistry([createScriptedProvider(), ...configured], fallback, config.subagents);
}

export function runnersFromConfig(config: BambooConfig): ExternalRunner[] {
  return config.externalAgents.map((profile) => (profile.protocol === 'a2a_jsonrpc' ? createA2ARunner(profile) : createSubprocessRunner(profile)));
}
