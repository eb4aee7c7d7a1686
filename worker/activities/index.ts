/**
 * All activities, built from their dependencies. The worker wires real ones; tests wire
 * the same factories with test providers or runners. Workflows type their proxies from
 * `BambooActivities` with `import type` only.
 */
import type { Client } from '@temporalio/client';
import type { ProviderRegistry } from '../providers/router';
import type { ExternalRunner } from '../runners/types';
import type { ToolPolicy } from '../tools/policy';
import type { ToolRegistry } from '../tools/types';
import type { CloseWatchOptions } from './close-watches';
import { clientSource } from './client';
import { createExternalActivities } from './external';
import { createModelActivities } from './model';
import { createSessionActivities } from './session-runs';
import { createSummaryActivities } from './summary';
import { createToolActivities } from './tools';

export interface ActivityDeps {
  /** The client activities read sessions through; absent: the activity context's (client.ts). */
  client?: Client;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  runners: readonly ExternalRunner[];
  /** The configuration file's `toolPolicy`; absent: every tool allowed (but `ask_user`). */
  toolPolicy?: ToolPolicy;
  /** How close watches heartbeat (tests shorten it). */
  closeWatches?: CloseWatchOptions;
}

export function createActivities(deps: ActivityDeps) {
  const client = clientSource(deps.client);
  return {
    ...createModelActivities({ ...deps, client }),
    ...createSummaryActivities(deps),
    ...createToolActivities(deps),
    ...createSessionActivities({ client, closeWatches: deps.closeWatches }),
    ...createExternalActivities(deps),
  };
}

export type BambooActivities = ReturnType<typeof createActivities>;
