/**
 * Workflow interceptor module (bundled into every Bamboo workflow bundle; see
 * worker-data-converter.ts `WORKFLOW_INTERCEPTOR_MODULES`): flags the arguments of each
 * signal in an activation for lenient decoding, before the SDK decodes them.
 *
 * The SDK decodes a signal's arguments with the payload converter before any inbound
 * interceptor or handler runs (`handleSignal` receives decoded args), and the converter sees
 * the same serialization context for a signal argument as for a workflow input. The internals
 * `activate` interceptor is the one place that sees the activation jobs themselves: only
 * `signalWorkflow` jobs' inputs are flagged, so a workflow input, an activity result or a child
 * result that cannot be decoded still fails the workflow task (retried), while an undecodable
 * signal reaches its handler as an `UndecodablePayload` that the handler's schema rejects.
 *
 * Deterministic: it only adds a metadata entry to payloads already in the activation.
 */
import type { WorkflowInterceptors } from '@temporalio/workflow';
// The module itself, not the `common` barrel: this interceptor is evaluated for every workflow run,
// and the barrel would evaluate every module of `common/` with it.
import { markForLenientDecoding } from '../../common/payload-converter';

export const interceptors = (): WorkflowInterceptors => ({
  internals: [
    {
      activate(input, next) {
        for (const job of input.activation.jobs ?? []) {
          for (const payload of job.signalWorkflow?.input ?? []) markForLenientDecoding(payload);
        }
        next(input);
      },
    },
  ],
});
