/**
 * Built-in tools every worker offers. Deliberately harmless: tools with side effects
 * (files, shell, network) belong in a deployment's own registry.
 */
import { z } from 'zod';
import { describeZodError } from '../../common';
import { sleep } from '../util/sleep';
import type { ToolDefinition } from './types';

export const currentTimeTool: ToolDefinition = {
  spec: {
    name: 'get_current_time',
    description: 'Returns the current date and time as an ISO-8601 string (UTC).',
    parameters: { type: 'object', properties: {}, additionalProperties: false },
  },
  idempotent: true,
  execute: () => Promise.resolve(new Date().toISOString()),
};

const WaitArgs = z.object({ seconds: z.number().min(0).max(3600) });

export const waitTool: ToolDefinition = {
  spec: {
    name: 'wait',
    description: 'Waits the given number of seconds, reporting progress each second. Useful for pacing.',
    parameters: {
      type: 'object',
      properties: { seconds: { type: 'number', minimum: 0, maximum: 3600 } },
      required: ['seconds'],
      additionalProperties: false,
    },
  },
  idempotent: true,
  async execute(args, { signal, progress }) {
    const parsed = WaitArgs.safeParse(args);
    if (!parsed.success) throw new Error(`invalid arguments: ${describeZodError(parsed.error)}`);
    for (let s = 1; s <= Math.ceil(parsed.data.seconds); s++) {
      await sleep(1000, signal);
      progress(`waited ${s}s`);
    }
    return `waited ${parsed.data.seconds} seconds`;
  },
};

export const BUILTIN_TOOLS: ToolDefinition[] = [currentTimeTool, waitTool];
