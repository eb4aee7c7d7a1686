/**
 * Loading the configuration: BAMBOO_CONFIG names a JSON file; else ./bamboo.config.json if
 * present; else the built-in default (only the `scripted` provider). Errors name the file
 * and the bad field (`providers[0].baseURL: …`), or the unknown key (`providers[0].apiKeyENV:
 * unknown key`).
 */
import { createContextWindows } from '../providers/context-windows';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { errorMessage } from '../../common';
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
    throw new Error(`cannot read config ${path}: ${errorMessage(error)}`);
  }
  const parsed = BambooConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid config ${path}: ${describeConfigError(parsed.error)}`);
  return parsed.data;
}

/** `providers[0].apiKeyEnv` from `['providers', 0, 'apiKeyEnv']`. */
function keyPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i > 0 ? '.' : ''}${String(segment)}`)).join('');
}

/** Each problem on its own `path: message`, an unknown key as `path.key: unknown key`. */
export function describeConfigError(error: z.ZodError): string {
  return error.issues
    .flatMap((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys.map((key) => `${keyPath([...issue.path, key])}: unknown key`) : [`${keyPath(issue.path)}: ${issue.message}`],
    )
    .join('; ');
}

/** Providers of a configuration: `scripted` always, then the configured ones; with the configured prices. */
export function providersFromConfig(config: BambooConfig): ProviderRegistry {
  const configured = config.providers.map(createConfiguredProvider);
  const fallback = config.defaultProvider ?? configured[0]?.name ?? 'scripted';
  return createProviderRegistry([createScriptedProvider(), ...configured], fallback, config.subagents, config.prices, createContextWindows(config.models, config.compaction));
}

export function runnersFromConfig(config: BambooConfig): ExternalRunner[] {
  return config.externalAgents.map((profile) => (profile.protocol === 'a2a_jsonrpc' ? createA2ARunner(profile) : createSubprocessRunner(profile)));
}
