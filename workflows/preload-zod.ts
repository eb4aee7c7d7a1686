/**
 * Preloaded into the worker's reusable workflow context (bundle.ts, PRELOADED_WORKFLOW_MODULES):
 * zod's module scope then runs once per worker instead of once per workflow run. It exports
 * nothing, so the SDK's deep freeze of shared modules reaches nothing of zod's but its global
 * config, which is why that is filled in here, before the freeze.
 */
import { z } from 'zod';

// zod sets its default locale and memoizer in its global config when the first schema is built,
// and the bundler cannot drop a use (zod declares itself free of side effects).
if (!z.object({ items: z.array(z.string()) }).safeParse({ items: [] }).success) throw new Error('zod did not load in the workflow context');
