import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * For a command that runs workflow code in its own process (a replay, a replay worker): the SDK
 * and its core log only errors, so the command's output (its `--json` above all) stays its own.
 */
export function quietRuntime(): void {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
}
