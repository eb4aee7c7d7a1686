/** Process-level settings read from the environment, validated once. */
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE, describeZodError } from '../../common';

const EnvSchema = z.object({
  BAMBOO_TASK_QUEUE: z.string().trim().min(1).default(DEFAULT_TASK_QUEUE),
  /** Optional prebuilt workflow bundle (`npm run bundle-workflows`); speeds up worker start. */
  BAMBOO_WORKFLOW_BUNDLE: z.string().trim().min(1).optional(),
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
