/** Process-level settings read from the environment, validated once. */
import type { Duration } from '@temporalio/common';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE, describeZodError } from '../../common';

const EnvSchema = z.object({
  BAMBOO_TASK_QUEUE: z.string().trim().min(1).default(DEFAULT_TASK_QUEUE),
  /** Optional prebuilt workflow bundle (`npm run bundle-workflows`); speeds up worker start. */
  BAMBOO_WORKFLOW_BUNDLE: z.string().trim().min(1).optional(),
  /**
   * Worker sizing (docs/operations.md#sizing-a-worker, measured in bench/RESULTS.md): workflows
   * kept in memory between tasks, activities run at once, workflow threads. Unset: the SDK's defaults.
   */
  BAMBOO_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  BAMBOO_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(100_000).optional(),
  BAMBOO_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * How often a running activity's heartbeats reach the server, at most (docs/benchmarks.md#billable-actions):
   * unset, the SDK's 80 % of the heartbeat timeout (24 s for a model call); `2s` delivers a
   * cancel to a streaming call within 2 s, at one billable heartbeat per 2 s of streaming.
   */
  BAMBOO_HEARTBEAT_THROTTLE: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?(ms|s|m)$/, 'must be a duration such as 2s, 500ms or 1m')
    .refine((v) => Number.parseFloat(v) > 0, 'must be more than 0 (0 would send every heartbeat, each a billable action)')
    .transform((v) => v as Duration)
    .optional(),
  /**
   * Worker Versioning (docs/operations.md#deploying-under-running-sessions): on, the worker joins
   * the worker deployment BAMBOO_DEPLOYMENT_NAME as the version BAMBOO_BUILD_ID (default: the
   * package version and a hash of its workflow bundle). Off by default (the embedded dev server).
   */
  BAMBOO_WORKER_VERSIONING: z
    .enum(['on', 'off', 'true', 'false', '1', '0'], 'must be on or off')
    .default('off')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  BAMBOO_DEPLOYMENT_NAME: z.string().trim().min(1).max(255).regex(/^[^.]+$/, 'must not contain "."').optional(),
  BAMBOO_BUILD_ID: z.string().trim().min(1).max(255).optional(),
});

export type BambooEnv = z.infer<typeof EnvSchema>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): BambooEnv {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid environment: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return readEnv(env).BAMBOO_TASK_QUEUE;
}

/** The worker options the sizing variables set (only those given). */
export function workerSizing(env: BambooEnv): {
  maxCachedWorkflows?: number;
  maxConcurrentActivityTaskExecutions?: number;
  workflowThreadPoolSize?: number;
  maxHeartbeatThrottleInterval?: Duration;
  defaultHeartbeatThrottleInterval?: Duration;
} {
  const throttle = env.BAMBOO_HEARTBEAT_THROTTLE;
  return {
    ...(throttle ? { maxHeartbeatThrottleInterval: throttle, defaultHeartbeatThrottleInterval: throttle } : {}),
    ...(env.BAMBOO_MAX_CACHED_WORKFLOWS !== undefined ? { maxCachedWorkflows: env.BAMBOO_MAX_CACHED_WORKFLOWS } : {}),
    ...(env.BAMBOO_MAX_CONCURRENT_ACTIVITIES !== undefined ? { maxConcurrentActivityTaskExecutions: env.BAMBOO_MAX_CONCURRENT_ACTIVITIES } : {}),
    ...(env.BAMBOO_WORKFLOW_THREADS !== undefined ? { workflowThreadPoolSize: env.BAMBOO_WORKFLOW_THREADS } : {}),
  };
}
