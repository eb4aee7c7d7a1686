/** Session commands: run, spawn, send, cancel, show, watch, ls. */
import { WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { StartRootSessionSchema, type BambooClient, type StartRootSession } from '../../client/bamboo-client';
import { startChildRun } from '../../client/child-runs';
import { taskQueue } from '../../worker/config/env';
import { SearchAttributesModeSchema, SessionOptionsSchema, sessionWorkflowId, SpawnJobSchema, WaitPolicySchema, type Budget, type FullTranscriptEntry, type Session, type SessionOptionsInput } from '../../common';
import { bambooClient, CliError, ExitCode, print, validated, withBamboo, withClient, type GlobalOptions } from '../context';
import { describeState, table, truncate } from '../format';
import { describeSession, viewSession } from '../sessions-api';
import { followPosition, followSession, FROM_START, type FollowFrom } from './follow';
import { listSessions } from './list';
import { watchSession } from './watch';

type Globals = () => GlobalOptions;

export function registerSessionCommands(program: Command, globals: Globals): void {
  program
    .command('run')
    .description('start a root session with a prompt (or send it to the running session --session-id) and follow it until it is idle')
    .argument('<prompt>', 'the first user message')
    .option('--session-id <id>', 'session id (default: generated); if that session is running, the prompt goes to it as a user message')
    .option('--model <model>', 'model name', 'scripted-model')
    .option('--provider <name>', 'provider name (default: routing, then the default provider)')
    .option('--wait-policy <policy>', 'all | any | first_error', 'all')
    .option('--max-running-children <n>', 'children running at once', parsePositive)
    .option('--max-spawn-depth <n>', 'deepest spawn depth (root = 0; 1: children cannot spawn)', numberFlag('--max-spawn-depth'))
    .option('--max-tokens <n>', 'tree budget: input plus output tokens of every model call in the tree', numberFlag('--max-tokens'))
    .option('--max-cost-usd <usd>', "tree budget: dollars of the tree's priced model calls", numberFlag('--max-cost-usd'))
    .option('--max-sessions <n>', 'tree budget: child runs the tree may start, at every depth', numberFlag('--max-sessions'))
    .option('--search-attributes <mode>', "upserted | at-start (runs keep their start attributes: one billable action less per child run; status from Temporal's)")
    .option('--metadata <key=value...>', 'session metadata (repeatable)', collectMetadata, {})
    .option('--no-follow', 'start and return at once')
    .action(async (prompt: string, opts) => {
      const options = sessionOptionsFrom(opts);
      const start = rootSessionStart(prompt, opts, options);
      // Checked before connecting, as startRootSession will: a bad value is bad usage (exit 2).
      const { sessionId } = validated(StartRootSessionSchema, start, 'session');
      await withBamboo(
        globals(),
        async (bamboo) => {
          // A running session gets the prompt as a user message; anything else starts a run.
          const delivered = sessionId === undefined ? undefined : await sendToRunningRoot(bamboo, sessionId, prompt, opts.follow);
          if (delivered) {
            if (optionFlagsGiven(opts)) console.error(`bamboo: session ${delivered.sessionId} is running: its options stay as they are (the --max-… and --search-attributes flags apply to new sessions)`);
            if (opts.follow) await followSession(bamboo, delivered.sessionId, globals(), delivered.from);
            else print(globals(), { sessionId: delivered.sessionId, workflowId: delivered.workflowId, runId: delivered.runId, sent: true }, () => `sent to running session ${delivered.sessionId} (${delivered.workflowId})`);
            return;
          }
          const session = await bamboo.startRootSession(start);
          if (opts.follow) await followSession(bamboo, session.sessionId, globals(), FROM_START);
          else print(globals(), { sessionId: session.sessionId, workflowId: session.workflowId, runId: session.runId }, () => `started ${session.sessionId} (${session.workflowId})`);
        },
        { startsRuns: true },
      );
    });

  program
    .command('spawn')
    .description('start a child session run under a parent session')
    .requiredOption('--parent <id>', 'parent session id')
    .requiredOption('--prompt <text>', 'the task brief')
    .option('--title <title>', 'child title', 'child')
    .option('--child-id <id>', 'child session id (default: generated)')
    .option('--model <model>', 'model name', 'scripted-model')
    .option('--metadata <key=value...>', 'child metadata (repeatable)', collectMetadata, {})
    .option('--wait', 'wait for the run to end and print its result')
    .action(async (opts) => {
      const id = opts.childId ?? `${opts.parent}-${randomUUID().slice(0, 8)}`;
      const session: Session = {
        id,
        kind: 'child',
        parentSessionId: opts.parent,
        rootSessionId: opts.parent,
        spawnDepth: 1,
        title: opts.title,
        model: opts.model,
        metadata: opts.metadata,
        messages: [{ id: randomUUID(), role: 'user', content: opts.prompt, createdAt: new Date().toISOString() }],
      };
      const job = validated(SpawnJobSchema, { parentSessionId: opts.parent, childSessionId: id, model: opts.model, session }, 'child run');
      await withClient(globals(), async (client) => {
        const handle = await startChildRun(client, job, { taskQueue: taskQueue() });
        if (!opts.wait) {
          print(globals(), { sessionId: id, workflowId: handle.workflowId, runId: handle.firstExecutionRunId }, () => `started child ${id} (${handle.workflowId})`);
          return;
        }
        const result = await handle.result();
        print(globals(), result, () => `${id}  ${result.status}${result.error ? `  ${result.error}` : ''}\n${result.session?.messages.at(-1)?.content ?? ''}`);
        if (result.status !== 'completed') process.exitCode = ExitCode.failed;
      });
    });

  program
    .command('send')
    .description("send a message: a user message to a running root; to a child, injected into its running run, or (finished) its next run starts from its latest snapshot plus the message")
    .argument('<id>', 'session id')
    .argument('<message>', 'message text')
    .action(async (id: string, message: string) => {
      await withClient(globals(), async (client) => {
        const description = await describeSession(client, id);
        const child = description.type === 'childSessionWorkflow';
        // A root takes a user message only while it runs; a finished child's next run starts with the message.
        if (!child && description.status.name !== 'RUNNING') throw new CliError(`session ${id} is not running (${description.status.name.toLowerCase()})`, ExitCode.failed);
        const sent = await bambooClient(client, { startsRuns: child }).getSession(id).send(message);
        if (sent.delivery === 'user-message') {
          print(globals(), { sessionId: id, sent: true }, () => `sent to ${id}`);
          return;
        }
        print(globals(), { sessionId: id, sent: true, ...sent }, () =>
          sent.delivery === 'injected' ? `sent to ${id}` : `sent to ${id}: its next run started from its latest snapshot (${sent.workflowId}, run ${sent.runId})`,
        );
      });
    });

  program
    .command('cancel')
    .description('cancel a running session (a root session cancels its children too)')
    .argument('<id>', 'session id')
    .action(async (id: string) => {
      await withBamboo(globals(), async (bamboo) => {
        const description = await describeSession(bamboo.client, id);
        if (description.status.name !== 'RUNNING') throw new CliError(`session ${id} is not running (${description.status.name.toLowerCase()})`, ExitCode.failed);
        await bamboo.getSession(id).cancel();
        print(globals(), { sessionId: id, cancelRequested: true }, () => `cancellation of ${id} requested`);
      });
    });

  program
    .command('show')
    .description('show a session: state, children, result')
    .argument('<id>', 'session id')
    .action(async (id: string) => {
      await withClient(globals(), async (client) => {
        const view = await viewSession(client, id);
        print(globals(), view, () => {
          const lines = [`${view.workflowId}  ${view.executionStatus.toLowerCase()}  (${view.kind})`, view.summary ?? ''];
          if (view.state) lines.push(describeState(view.state));
          if (view.result) {
            const result = view.result;
            lines.push(`result    ${result.status}${'error' in result && result.error ? ` · ${result.error}` : ''}`);
            const last = result.session?.messages.at(-1);
            if (last) lines.push(`last      ${last.role}: ${truncate(last.content, 200)}`);
          }
          for (const live of view.live ?? []) lines.push(`live      ${live.activity} (attempt ${live.attempt}) ${live.details ? `${live.details.phase} · ${live.details.textChars} chars · "${truncate(live.details.tail, 80)}"` : ''}`);
          return lines.filter(Boolean).join('\n');
        });
      });
    });

  program
    .command('watch')
    .description('follow a session live: status, children, token progress from heartbeats')
    .argument('<id>', 'session id')
    .option('--tree', 'also follow its children')
    .option('--interval <ms>', 'poll interval', parsePositive, 1000)
    .action(async (id: string, opts) => {
      await withClient(globals(), (client) => watchSession(client, id, { tree: Boolean(opts.tree), intervalMs: opts.interval }, globals()));
    });

  program
    .command('ls')
    .description('list sessions through visibility (search attributes)')
    .option('--status <status>', 'BambooRunStatus: pending | running | completed | error | cancelled | timeout | skipped')
    .option('--parent <id>', 'children of this session')
    .option('--kind <kind>', 'root | child')
    .option('--limit <n>', 'at most this many', parsePositive, 50)
    .action(async (opts) => {
      await withClient(globals(), async (client) => {
        const rows = await listSessions(client, opts);
        print(globals(), rows, () =>
          rows.length === 0
            ? 'no sessions'
            : table([
                ['SESSION', 'KIND', 'STATUS', 'PARENT', 'TOKENS', 'STARTED'],
                ...rows.map((r) => [r.sessionId, r.kind, r.status, r.parentSessionId ?? '-', r.tokens === undefined ? '-' : String(r.tokens), r.startTime]),
              ]),
        );
      });
    });

  program
    .command('state')
    .description('print the live state query of a running session')
    .argument('<id>', 'session id')
    .action(async (id: string) => {
      await withBamboo(globals(), async (bamboo) => {
        await describeSession(bamboo.client, id);
        const s = await bamboo.getSession(id).state();
        print(globals(), s, () => describeState(s));
      });
    });

  program
    .command('transcript')
    .description('print the transcript of a session: what its model reads now, or with --full every message it ever held')
    .argument('<id>', 'session id')
    .option('--full', 'every original message across summaries, runs and continue-as-new, each summary marked where it replaced them (read from histories)')
    .action(async (id: string, options: { full?: boolean }) => {
      await withBamboo(globals(), async (bamboo) => {
        await describeSession(bamboo.client, id);
        if (options.full) {
          const entries = await bamboo.getSession(id).fullTranscript();
          print(globals(), entries, () => entries.map(fullTranscriptLine).join('\n'));
          return;
        }
        const messages = await bamboo.getSession(id).transcript();
        print(globals(), messages, () => messages.map((m) => `${m.role.padEnd(9)} ${m.content}`).join('\n'));
      });
    });
}

/**
 * `run --session-id` of a session that is running: sends the prompt as a `userMessage` (the
 * session's options stay as they are) and returns where to follow from; undefined when the
 * session is not running (then the caller starts it).
 */
async function sendToRunningRoot(
  bamboo: BambooClient,
  sessionId: string,
  prompt: string,
  follow: boolean,
): Promise<{ sessionId: string; workflowId: string; runId: string; from: FollowFrom } | undefined> {
  let description: WorkflowExecutionDescription;
  try {
    description = await bamboo.client.workflow.getHandle(sessionWorkflowId(sessionId)).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  if (description.status.name !== 'RUNNING') return undefined;
  if (description.type !== 'sessionWorkflow') {
    throw new CliError(`session ${sessionId} is a child session run, not a root session: send it a message with \`bamboo send ${sessionId} "…"\``, ExitCode.usage);
  }
  const from = follow ? await followPosition(bamboo, sessionId) : FROM_START;
  try {
    await bamboo.getSession(sessionId).send(prompt);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined; // it closed meanwhile: start it anew
    throw error;
  }
  return { sessionId, workflowId: description.workflowId, runId: description.runId, from };
}

/** What `run` starts: the prompt as the first user message, titled by its first 60 characters. */
function rootSessionStart(
  prompt: string,
  opts: { sessionId?: string; model: string; provider?: string; metadata: Record<string, string> },
  options: SessionOptionsInput,
): StartRootSession {
  return {
    prompt,
    model: opts.model,
    ...(opts.provider ? { provider: opts.provider } : {}),
    ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}),
    title: truncate(prompt, 60),
    metadata: opts.metadata,
    options,
  };
}

interface RunOptionFlags {
  waitPolicy: string;
  maxRunningChildren?: number;
  maxSpawnDepth?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  maxSessions?: number;
  searchAttributes?: string;
}

/**
 * The session options `run` starts a root with, checked by the workflow's own schema before
 * connecting, so a bad value exits 2 with the message the workflow would give
 * (e.g. `budget.maxTokens: Too small: expected number to be >0`).
 */
function sessionOptionsFrom(opts: RunOptionFlags): SessionOptionsInput {
  const waitPolicy = WaitPolicySchema.safeParse(opts.waitPolicy);
  if (!waitPolicy.success) throw new CliError(`--wait-policy must be all, any or first_error (got ${opts.waitPolicy})`, ExitCode.usage);
  const budget: Budget = definedOnly({ maxTokens: opts.maxTokens, maxCostUsd: opts.maxCostUsd, maxSessions: opts.maxSessions });
  const options: SessionOptionsInput = {
    waitPolicy: waitPolicy.data,
    ...definedOnly({ maxRunningChildren: opts.maxRunningChildren, maxSpawnDepth: opts.maxSpawnDepth }),
    ...(Object.keys(budget).length > 0 ? { budget } : {}),
  };
  if (opts.searchAttributes !== undefined) {
    const mode = SearchAttributesModeSchema.safeParse(opts.searchAttributes);
    if (!mode.success) throw new CliError(`--search-attributes must be upserted or at-start (got ${opts.searchAttributes})`, ExitCode.usage);
    options.searchAttributes = mode.data;
  }
  validated(SessionOptionsSchema, options, 'session options');
  return options;
}

function optionFlagsGiven(opts: RunOptionFlags): boolean {
  return [opts.maxRunningChildren, opts.maxSpawnDepth, opts.maxTokens, opts.maxCostUsd, opts.maxSessions, opts.searchAttributes].some((v) => v !== undefined);
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A flag's number, as typed; its range is the schema's to check (and to explain). */
function numberFlag(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`${flag} expects a number, got ${JSON.stringify(value)}`, ExitCode.usage);
    return n;
  };
}

export function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`expected a positive integer, got ${JSON.stringify(value)}`, ExitCode.usage);
  return n;
}

function collectMetadata(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new CliError(`--metadata expects key=value, got ${JSON.stringify(value)}`, ExitCode.usage);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function fullTranscriptLine(entry: FullTranscriptEntry): string {
  if (entry.kind === 'message') return `${entry.message.role.padEnd(9)} ${entry.message.content}`;
  return `── ${entry.summaryId}: the model read this summary in place of the ${entry.replaced} message(s) above ──\nsummary   ${entry.message.content}`;
}
