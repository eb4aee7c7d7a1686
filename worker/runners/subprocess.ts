/**
 * The subprocess runner: runs a child's pending turn as a local agent program.
 *
 * The command comes only from the worker's runner profile, never from session data, and is
 * spawned without a shell. The agent reads one JSON line on stdin —
 * `{ sessionId, messages, metadata }` — and writes JSON lines on stdout:
 *
 *   {"type":"token","text":"…"}                  streamed text (accumulated, shown as progress)
 *   {"type":"progress","note":"…"}               a status note
 *   {"type":"complete","content":"…"}            the final answer (content defaults to the tokens)
 *   {"type":"error","message":"…","retryable":false}   failure; retryable lets the activity retry
 *   {"type":"need_clarification","question":"…"}      the agent needs the user's input
 *   {"type":"usage","inputTokens":N,"outputTokens":N,"cachedInputTokens":N}   tokens used
 *
 * One process is one call: stdin closes after the brief, and the process ends after its
 * terminal event. So a follow-up — the answer to its `need_clarification` (a person's, through
 * the root: workflows/external-conversation.ts), or a message injected while it ran — cannot
 * reach a running agent: it is a new process whose brief holds the whole transcript, the
 * follow-up last, with `metadata.need_clarification = "true"` when it answers the question.
 *
 * Every stdout line is progress for the idle watchdog; lines that are not such events are
 * ignored. Usage lines add up (one per model call, say; cachedInputTokens optional and part
 * of inputTokens; snake_case names accepted too, see usage.ts); an invalid one is ignored
 * with a warning, never fatal. Lines read until stdout closes count, also after `complete`. An exit without a terminal event is a non-retryable error that names the exit
 * code or signal and the tail of stderr. The agent leads its own process
 * group; whatever way the run ends, the runner returns only after that whole group is gone
 * (SIGTERM, then SIGKILL after `killGraceSecs`), so no agent process outlives its run.
 *
 * If the worker itself dies (SIGKILL, OOM) none of that runs, so each agent also gets a
 * guard process (process-guard.ts) that ends the group when the worker's end of a pipe
 * closes, which the kernel does for any death. Left open: a worker killed in the moment
 * between spawning the agent and spawning its guard orphans that agent.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { addUsage, errorMessage, type Session, type Usage } from '../../common';
import { guardProcessGroup } from './process-guard';
import { restrictedEnv, stopProcessGroup } from './process-group';
import { ExternalRunnerError, type ExternalRunContext, type ExternalRunner, type ExternalRunResult } from './types';
import { parseReportedUsage } from './usage';

export const SubprocessProfileSchema = z.object({
  agentId: z.string().min(1),
  protocol: z.literal('subprocess'),
  /** Executable path; run directly (no shell), so nothing in it is interpreted. */
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  cwd: z.string().optional(),
  /** Extra environment variables, literal values (put no secrets in config files). */
  env: z.record(z.string(), z.string()).optional(),
  /** Names of worker environment variables passed through (e.g. the API key the agent needs). */
  inheritEnv: z.array(z.string()).default([]),
  killGraceSecs: z.number().positive().default(5),
  /** The model the agent runs on: prices the usage it reports (a key of the config's `prices`). */
  model: z.string().trim().min(1).optional(),
});
export type SubprocessProfile = z.input<typeof SubprocessProfileSchema>;

// The worker's own environment holds credentials (provider keys, TEMPORAL_API_KEY): an agent
// gets only the basics, `inheritEnv` by name and the profile's `env` (process-group.ts).
const STDERR_TAIL_CHARS = 4096;
/** After SIGKILL nothing can keep running; this only bounds the wait for the kernel. */
const AFTER_KILL_WAIT_MS = 5000;

const AgentLineSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('token'), text: z.string() }),
  z.object({ type: z.literal('progress'), note: z.string() }),
  z.object({ type: z.literal('complete'), content: z.string().optional() }),
  z.object({ type: z.literal('error'), message: z.string(), retryable: z.boolean().default(false) }),
  z.object({ type: z.literal('need_clarification'), question: z.string() }),
]);

type Outcome = { result: ExternalRunResult } | { error: ExternalRunnerError };

export function createSubprocessRunner(profileInput: SubprocessProfile): ExternalRunner {
  const profile = SubprocessProfileSchema.parse(profileInput);
  return {
    agentId: profile.agentId,
    protocol: profile.protocol,
    model: profile.model,
    run: (session, context) => runAgent(profile, session, context),
  };
}

async function runAgent(profile: z.output<typeof SubprocessProfileSchema>, session: Session, ctx: ExternalRunContext): Promise<ExternalRunResult> {
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const name = `subprocess agent ${profile.agentId}`;
  const child = spawn(profile.command, profile.args, {
    cwd: profile.cwd,
    env: restrictedEnv(profile),
    shell: false,
    detached: true, // its own process group, so the whole tree can be signalled at once
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // At once (a pid means it started), to keep the unguarded moment as short as can be.
  const guard = child.pid === undefined ? undefined : guardProcessGroup(child.pid, profile.killGraceSecs);
  try {
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  } catch (error) {
    guard?.release();
    throw new ExternalRunnerError(`${name} could not start ${profile.command}: ${errorMessage(error)}`, false);
  }
  const pgid = child.pid!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  // An agent may exit without reading its brief; its exit status then says what happened.
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${JSON.stringify({ sessionId: session.id, messages: session.messages, metadata: session.metadata })}\n`);

  let stderrTail = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS)));

  const events = readAgentEvents(child.stdout, ctx, name);

  const aborted = whenAborted(ctx.signal);
  try {
    await Promise.race([exited, events.decided, aborted.promise]);
    // After a terminal event the agent may exit by itself; on abort or exit, end what is left.
    await stopProcessGroup(pgid, { graceMs: profile.killGraceSecs * 1000, waitFirst: events.outcome() !== undefined && !events.overflowed() && !ctx.signal.aborted, afterKillMs: AFTER_KILL_WAIT_MS });
    // Read stdout to its end (a complete line may follow the exit); bounded, in case a
    // process that left the group still holds the pipe.
    await settledWithin(closed, 2000);
  } finally {
    aborted.dispose();
    guard?.release();
  }

  if (ctx.signal.aborted) throw ctx.signal.reason;
  const outcome = events.outcome();
  const usage = events.usage();
  if (outcome && 'result' in outcome) return usage ? { ...outcome.result, usage } : outcome.result;
  if (outcome) throw outcome.error;
  const { code, signal } = await exited;
  const how = signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
  const stderr = stderrTail.trim();
  throw new ExternalRunnerError(`${name} ${how} before completing${stderr ? `; stderr: ${stderr}` : ''}`, false);
}

/**
 * Follows the agent's stdout: every line is progress; the first terminal event (complete,
 * error, need_clarification) decides the outcome; usage lines add up.
 */
function readAgentEvents(
  stdout: Readable,
  ctx: ExternalRunContext,
  name: string,
): { decided: Promise<void>; outcome(): Outcome | undefined; usage(): Usage | undefined; overflowed(): boolean } {
  let text = '';
  let outcome: Outcome | undefined;
  let usage: Usage | undefined;
  let onOutcome: () => void = () => undefined;
  const decided = new Promise<void>((resolve) => (onOutcome = resolve));
  const onLine = (line: string) => {
    if (ctx.signal.aborted) return;
    const parsed = parseLine(line);
    if (!parsed) {
      // Not our protocol (a library's log line, a stray print): the agent is alive, so it
      // counts as progress, but it is no part of the answer.
      ctx.progress({ note: `ignored stdout line: ${line.slice(0, 80)}` });
      return;
    }
    if ('usage' in parsed) {
      usage = usage ? addUsage(usage, parsed.usage) : parsed.usage;
      ctx.progress({ note: 'usage' });
      return;
    }
    if ('problem' in parsed) {
      ctx.warn?.(`ignored an invalid usage line from the agent (${parsed.problem}): ${line.slice(0, 200)}`);
      ctx.progress({ note: `ignored invalid usage line: ${parsed.problem}`.slice(0, 120) });
      return;
    }
    const { event } = parsed;
    if (event.type === 'token') {
      text += event.text;
      ctx.progress({ text: event.text });
      return;
    }
    ctx.progress({ note: event.type === 'progress' ? event.note : event.type });
    if (event.type === 'progress' || outcome) return;
    if (event.type === 'complete') outcome = { result: { content: event.content ?? text } };
    else if (event.type === 'need_clarification') outcome = { result: { content: event.question, needsClarification: true } };
    else outcome = { error: new ExternalRunnerError(event.message, event.retryable) };
    onOutcome();
  };
  let overflowed = false;
  readLines(stdout, onLine, (held) => {
    overflowed = true;
    if (outcome) return;
    outcome = { error: new ExternalRunnerError(`${name} wrote a line over the stdout limit of ${MAX_LINE_CHARS} characters (10 MiB) (${held} held unended); the agent is stopped`, false) };
    onOutcome();
  });
  return { decided, outcome: () => outcome, usage: () => usage, overflowed: () => overflowed };
}

/** The longest stdout line an agent may write; a longer one would be held in memory whole. */
const MAX_LINE_CHARS = 10 * 1024 * 1024;

/**
 * Splits `stdout` into lines as readline does (`\n`, `\r\n` or a lone `\r` ends one: a progress
 * bar's updates are lines) without holding more than MAX_LINE_CHARS of an unended one: past
 * that, `onOverflow` is told once and the rest of the stream is dropped (the caller stops the agent).
 */
function readLines(stdout: Readable, onLine: (line: string) => void, onOverflow: (held: number) => void): void {
  let parts: string[] = [];
  let held = 0;
  let overflowed = false;
  let afterCr = false; // the last chunk ended in \r: a \n that starts the next one belongs to it
  const take = (text: string) => {
    const line = parts.join('') + text;
    parts = [];
    held = 0;
    onLine(line);
  };
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    if (overflowed) return;
    let start = afterCr && chunk.startsWith('\n') ? 1 : 0;
    afterCr = false;
    const ends = /\r\n|\r|\n/g;
    ends.lastIndex = start;
    for (let m = ends.exec(chunk); m; m = ends.exec(chunk)) {
      if (m[0] === '\r' && m.index === chunk.length - 1) afterCr = true;
      take(chunk.slice(start, m.index));
      start = m.index + m[0].length;
    }
    const rest = chunk.slice(start);
    if (!rest) return;
    parts.push(rest);
    held += rest.length;
    if (held > MAX_LINE_CHARS) {
      overflowed = true;
      parts = [];
      onOverflow(held);
    }
  });
  stdout.on('end', () => {
    if (!overflowed && held > 0) take('');
  });
}

/** Resolves when `signal` aborts, at once if it already has (e.g. while the agent started). */
function whenAborted(signal: AbortSignal): { promise: Promise<void>; dispose(): void } {
  let onAbort: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (onAbort = resolve));
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

type ParsedLine = { event: z.output<typeof AgentLineSchema> } | { usage: Usage } | { problem: string };

function parseLine(line: string): ParsedLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'usage') return parseReportedUsage(value);
  const parsed = AgentLineSchema.safeParse(value);
  return parsed.success ? { event: parsed.data } : undefined;
}

async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

