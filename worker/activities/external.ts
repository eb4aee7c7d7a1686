/**
 * The external-runner activity: hands a child's pending turn to a configured runner.
 * The two "no runner" cases fail non-retryably with the reference's exact texts (docs/architecture.md#statuses).
 * When the agent reported usage and its profile names a `model` with a configured price, the
 * result carries the run's cost in whole micro-dollars (worker/pricing.ts); else no `costMicroUsd`.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { z } from 'zod';
import {
  EXTERNAL_RUNNER_NOT_CONFIGURED,
  FailureTypes,
  fitText,
  noExternalRunnerMatchedMessage,
  SessionSchema,
} from '../../common';
import { costMicroUsd } from '../pricing';
import type { ProviderRegistry } from '../providers/router';
import { ExternalRunnerError, findExternalRunner, type ExternalRunner, type ExternalRunResult } from '../runners/types';
import { parseActivityInput } from './input';
import { withProgressWatchdog } from './progress';

const ExternalRunInputSchema = z.object({ session: SessionSchema, maxIdleSecs: z.number().int().positive(), runDeadline: z.iso.datetime().optional() });
/** A child's session with its pending turn, the idle limit the runner's events must keep, and when the run's total budget runs out. */
export type ExternalRunInput = z.input<typeof ExternalRunInputSchema>;

/** What the workflow gets: the runner's result, which runner ran it, and the cost when priced. */
export type ExternalRunOutcome = ExternalRunResult & { runner: string; costMicroUsd?: number };

/** `providers` holds the configured prices (ProviderRegistry.priceOf); without it, no run is priced. */
export function createExternalActivities({ runners, providers }: { runners: readonly ExternalRunner[]; providers?: ProviderRegistry }) {
  return {
    async runExternalChild(request: ExternalRunInput): Promise<ExternalRunOutcome> {
      const { session, maxIdleSecs, runDeadline } = parseActivityInput(ExternalRunInputSchema, request, 'external run input');
      if (runners.length === 0) {
        throw ApplicationFailure.create({ message: EXTERNAL_RUNNER_NOT_CONFIGURED, type: FailureTypes.externalRunner, nonRetryable: true });
      }
      const runner = findExternalRunner(runners, session.metadata);
      if (!runner) {
        const message = noExternalRunnerMatchedMessage(session.metadata['external.agent_id'], session.metadata['external.protocol']);
        throw ApplicationFailure.create({ message, type: FailureTypes.externalRunner, nonRetryable: true });
      }
      const phase = `external ${runner.protocol}:${runner.agentId}`;
      const result = await withProgressWatchdog({ phase, maxIdleSecs, runDeadline }, async (progress) => {
        try {
          return await runner.run(session, {
            signal: progress.signal,
            progress: (event) => progress.record(event),
            attempt: Context.current().info.attempt,
            warn: (message) => log.warn(message, { sessionId: session.id, agentId: runner.agentId }),
          });
        } catch (error) {
          if (error instanceof ExternalRunnerError) {
            throw ApplicationFailure.create({ message: error.message, type: FailureTypes.externalRunner, nonRetryable: !error.retryable });
          }
          throw error;
        }
      });
      const price = result.usage && runner.model !== undefined ? providers?.priceOf(runner.model) : undefined;
      const cost = price && result.usage ? { costMicroUsd: costMicroUsd(price, result.usage) } : {};
      return { ...result, content: fitText(result.content), runner: runner.agentId, ...cost };
    },
  };
}
