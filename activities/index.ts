/**
 * All activities, built from their dependencies. The worker wires real ones; tests wire
 * the same factories with test providers or runners. Workflows type their proxies from
 * `BambooActivities` with `import type` only.
 */
import type { Client } from '@temporalio/client';
import type { ProviderRegistry } from '../src/providers/router';
import type { ExternalRunner } from '../src/runners/types';
import type { ToolPolicy } from '../src/tools/policy';
import type { ToolRegistry } from '../src/tools/types';
import type { CloseWatchOptions } from './close-watches';
import { createExternalActivities } from './external';
import { createModelActivities } from './model';
import { createSessionActivities } from './session-runs';
import { createToolActivities } from './tools';

export interface ActivityDeps {
  client: Client;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  runners: readonly ExternalRunner[];
  /** The configuration file's `toolPolicy`; absent: every tool allowed (but `ask_user`). */
  toolPolicy?: ToolPolicy;
  /** How close watches heartbeat (tests shorten it). */
  closeWatches?: CloseWatchOptions;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createModelActivities(deps),
    ...createToolActivities(deps),
    ...createSessionActivities(deps),
    ...createExternalActivities(deps),
  };
}

export type BambooActivities = ReturnType<typeof createActivities>;
