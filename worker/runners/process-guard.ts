/**
 * Ends an agent's process group if the worker dies without ending it itself.
 *
 * A SIGKILLed (or OOM-killed) worker runs none of its cleanup, and the agent leads its own
 * group, so nothing would stop it. The one thing that always happens when a process dies is
 * that the kernel closes its file descriptors. So a tiny shell, outside the agent's group,
 * blocks reading a pipe whose only write end is in the worker: a line on it means the runner
 * has ended the group itself (the guard just exits); EOF means the worker is gone, and the
 * guard sends the group SIGTERM, then SIGKILL after the grace period.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/** `$1` is the group, `$2` the grace period in whole seconds. */
const GUARD_SCRIPT = `
trap '' INT TERM HUP
read -r line && exit 0
kill -s TERM -- "-$1" || exit 0
i=0
while [ "$i" -lt "$2" ] && kill -s 0 -- "-$1"; do sleep 1; i=$((i + 1)); done
kill -s KILL -- "-$1"
exit 0
`;

export interface ProcessGroupGuard {
  /** The run is over and the runner has ended the group: the guard exits, killing nothing. */
  release(): void;
}

/** Best effort: if the guard cannot start, the run goes on unguarded. */
export function guardProcessGroup(pgid: number, graceSecs: number): ProcessGroupGuard {
  try {
    const guard = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'bamboo-agent-guard', String(pgid), String(Math.ceil(graceSecs))], {
      // Not detached: it must not be in the agent's group. It ignores the terminal's Ctrl-C
      // (trap) so a worker that dies on it still gets its agents ended.
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    guard.on('error', () => undefined);
    guard.stdin.on('error', () => undefined); // EPIPE if the guard is already gone
    // The guard never keeps the worker alive.
    guard.unref();
    (guard.stdin as Socket).unref();
    return { release: () => guard.stdin.end('done\n') };
  } catch {
    return { release: () => undefined };
  }
}
