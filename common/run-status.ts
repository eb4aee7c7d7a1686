/** The statuses of a run (docs/architecture.md#statuses); a terminal one ends it. */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';

export const RUN_STATUSES = ['pending', 'running', 'completed', 'error', 'cancelled', 'timeout', 'skipped'] as const;
export const RunStatusSchema = sharedSchema('run-status.RunStatusSchema', () => z.enum(RUN_STATUSES));
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const TerminalRunStatusSchema = sharedSchema('run-status.TerminalRunStatusSchema', () => z.enum(['completed', 'error', 'cancelled', 'timeout', 'skipped']));
export type TerminalRunStatus = z.infer<typeof TerminalRunStatusSchema>;
