/**
 * The external-runner activity: hands a child's pending turn to a configured runner.
 * The two "no runner" cases fail non-retryably with the reference's exact texts (docs/architecture.md#statuses).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import {
  EXTERNAL_RUNNER_NOT_CONFIGURED,
  FailureTypes,
  fitText,
  noExternalRunnerMatchedMessage,
  SessionSchema,
} from '../common';
import { ExternalRunnerError, findExternalRunner, type ExternalRunner, type ExternalRunResult } from '../src/runners/types';
import { parseActivityInput } from './input';
import { withProgressWatchdog } from './progress';

const ExternalRunInputSchema = z.object({ session: SessionSchema, maxIdleSecs: z.number().int().positive() });
/** A child's session with its pending turn, and the idle limit the runner's events must keep. */
export type ExternalRunInput = z.input<typeof ExternalRunInputSchema>;

export function createExternalActivities({ runners }: { runners: readonly ExternalRunner[] }) {
  return {
    async runExternalChild(request: ExternalRunInput): Promise<ExternalRunResult & { runner: string }> {
      const { session, maxIdleSecs } = parseActivityInput(ExternalRunInputSchema, request, 'external run input');
      if (runners.length === 0) {
        throw ApplicationFailure.create({ message: EXTERNAL_RUNNER_NOT_CONFIGURED, type: FailureTypes.externalRunner, nonRetryable: true });
      }
      const runner = findExternalRunner(runners, session.metadata);
      if (!runner) {
        const message = noExternalRunnerMatchedMessage(session.metadata['external.agent_id'], session.metadata['external.protocol']);
        throw ApplicationFailure.create({ message, type: FailureTypes.externalRunner, nonRetryable: true });
      }
      const phase = `external ${runner.protocol}:${runner.agentId}`;
      const result = await withProgressWatchdog({ phase, maxIdleSecs }, async (progress) => {
        try {
          return await runner.run(session, {
            signal: progress.signal,
            progress: (event) => progress.record(event),
            attempt: Context.current().info.attempt,
          });
        } catch (error) {
          if (error instanceof ExternalRunnerError) {
            throw ApplicationFailure.create({ message: error.message, type: FailureTypes.externalRunner, nonRetryable: !error.retryable });
          }
          throw error;
        }
      });
      return { ...result, content: fitText(result.content), runner: runner.agentId };
    },
  };
}
