/**
 * Processes the worker starts for others (subprocess agents, stdio MCP servers): the
 * environment they get, and how their process group is ended. One place, so both keep the
 * same rules: the worker's own environment holds credentials, and nothing outlives a stop.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** The basics every child process gets; anything else only when named in `inheritEnv`. */
const BASE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR'];
const POLL_MS = 50;

/** The base list and the `inheritEnv` names from the worker's environment, then `env`. */
export function restrictedEnv(spec: { env?: Record<string, string>; inheritEnv: readonly string[] }, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of [...BASE_ENV, ...spec.inheritEnv]) {
    if (from[key] !== undefined) env[key] = from[key];
  }
  return { ...env, ...spec.env };
}

/**
 * Ends the process group `pgid`: optionally waits `graceMs` for it to exit on its own, then
 * SIGTERM, then SIGKILL after `graceMs`, and waits up to `afterKillMs` for it to be gone (a
 * zombie still counts until its parent reaps it; SIGKILL is harmless to it).
 */
export async function stopProcessGroup(pgid: number, options: { graceMs: number; waitFirst?: boolean; afterKillMs?: number }): Promise<void> {
  const { graceMs, waitFirst = false, afterKillMs = graceMs } = options;
  if (waitFirst && (await groupGoneWithin(pgid, graceMs))) return;
  if (!signalGroup(pgid, 'SIGTERM') || (await groupGoneWithin(pgid, graceMs))) return;
  if (signalGroup(pgid, 'SIGKILL')) await groupGoneWithin(pgid, afterKillMs);
}

/** False when the group is gone (ESRCH), or cannot be signalled by us at all (EPERM). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function groupGoneWithin(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= deadline) return false;
    await delay(POLL_MS);
  }
  return true;
}
