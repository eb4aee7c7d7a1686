/**
 * How long-running commands (dev server, `bamboo dev`, worker, codec server, the demo) wait
 * for Ctrl-C or SIGTERM. A signal listener does not keep Node running: each command holds a
 * real handle (a server process, a listening socket, a worker) while it waits.
 *
 * Ctrl-C under `npm run` reaches the command's process twice (from the terminal, and
 * forwarded by npm): the second must not cut a graceful shutdown short.
 */
import { constants } from 'node:os';

export const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Resolves with the first SIGINT or SIGTERM; later ones are absorbed while the command shuts down. */
export function untilShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) return;
      received = true;
      resolve(signal);
    };
    for (const s of SHUTDOWN_SIGNALS) process.on(s, onSignal);
  });
}

/**
 * For commands whose Temporal worker stops by itself on the first signal (the SDK's runtime
 * listens for it): absorbs the repeats while the worker drains, and exits at once on a signal
 * that nothing else handles yet (before the worker is up).
 */
export function guardWorkerShutdown(): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) return;
    if (process.listenerCount(signal) > 1) {
      draining = true; // the worker's runtime has it
      return;
    }
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  // First in line, so the runtime's listener (which removes itself) is still counted.
  for (const s of SHUTDOWN_SIGNALS) process.prependListener(s, onSignal);
}
