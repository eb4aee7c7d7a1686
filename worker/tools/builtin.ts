/**
 * Built-in tools every worker offers. Deliberately harmless: tools with side effects
 * (files, shell, network) belong in a deployment's own registry. Each tool's spec is derived
 * from the zod schema its `execute` parses the arguments with.
 */
import { z } from 'zod';
import { describeZodError, toolSpec } from '../../common';
import { sleep } from '../sleep';
import type { ToolDefinition } from './types';

export const currentTimeTool: ToolDefinition = {
  spec: toolSpec({
    name: 'get_current_time',
    description: 'Returns the current date and time as an ISO-8601 string (UTC).',
    args: z.object({}),
  }),
  idempotent: true,
  execute: () => Promise.resolve(new Date().toISOString()),
};

export const WaitArgsSchema = z.object({ seconds: z.number().min(0).max(3600) });

export const waitTool: ToolDefinition = {
  spec: toolSpec({
    name: 'wait',
    description: 'Waits the given number of seconds, reporting progress each second. Useful for pacing.',
    args: WaitArgsSchema,
  }),
  idempotent: true,
  async execute(args, { signal, progress }) {
    const parsed = WaitArgsSchema.safeParse(args);
    if (!parsed.success) throw new Error(`invalid arguments: ${describeZodError(parsed.error)}`);
    for (let s = 1; s <= Math.ceil(parsed.data.seconds); s++) {
      await sleep(1000, signal);
      progress(`waited ${s}s`);
    }
    return `waited ${parsed.data.seconds} seconds`;
  },
};

export const BUILTIN_TOOLS: ToolDefinition[] = [currentTimeTool, waitTool];
