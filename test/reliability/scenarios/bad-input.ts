/**
 * 6 · Bad input: about a thousand generated invalid or hostile inputs through every door —
 * the client API (a zod error naming the field, thrown before anything reaches the server),
 * raw workflow starts that bypass the client (the workflow fails at once with
 * `invalid SpawnJob:` / `invalid session input:` and no failed workflow task), signals with bad
 * payloads (ignored; the session keeps working), the CLI (exit 2 or 3 with a message), payloads
 * over Temporal's 2 MB limit (a clear error, no workflow left behind), and valid-but-hostile
 * values (injection strings, unknown providers, bad watchdog values: the run completes).
 * Healthy sessions run meanwhile and must finish. Product bugs it found have `FIXED ·` tests.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { injectIntoSession, startChildRun } from '../../../client/child-runs';
import { sendUserMessage, startSession } from '../../../client/root-sessions';
import { errorMessage, MESSAGE_MAX_CHARS, sessionIdFromWorkflowId, sessionWorkflowId, type ChildRunResult, type RunStatus, type Session, type SpawnJob, injectMessageSignal, stateQuery, subSessionCompletedSignal, userMessageSignal } from '../../../common';
import { receivedCompletionsQuery } from '../../workflows/recording-parent';
import { bamboo, type CliResult } from '../../helpers/cli';
import { sessionState, sessionTranscript } from '../../helpers/root';
import { childSession, rootSession, spawnJobFor } from '../../helpers/session-fixtures';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../../helpers/temporal';
import { HOSTILE_STRINGS, invalidSessionInput, invalidSpawnJob, namesPath, type GeneratedInput } from '../support/bad-inputs';
import { mainServer, useQueue } from '../support/context';
import { recordOutput } from '../support/processes';
import { beginScenario, finishScenario, recordBug } from '../support/summary';
import { auditFindings, checkTrees, historyCounts, startTrees, summarizeReport, terminateRoots, type StartedTree } from '../support/trees';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { mapLimit, sleep, within } from '../support/util';

const CLIENT_CHILD = 330;
const CLIENT_ROOT = 250;
const RAW_CHILD = 100;
const RAW_ROOT = 50;
const MB = 1024 * 1024;

/** Workflow task failures in a workflow's history (a task that fails is retried without end). */
async function workflowTaskFailures(client: Client, workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.filter((e) => e.workflowTaskFailedEventAttributes).length ?? 0;
}

async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') return false;
    throw error;
  }
}

export function badInputScenario(): void {
  describe('6 · bad input', () => {
    let record: ReturnType<typeof beginScenario>;
    let tw: TestWorker;
    let client: Client;
    let parent: RecordingParentHandle;
    let parentSessionId: string;
    let healthy: StartedTree;
    /** Roots waiting on one long child each: the targets of bad signals. */
    const targets: { rootId: string; childId: string }[] = [];
    const problems: string[] = [];
    const inputsByChannel: Record<string, number> = {};
    const count = (channel: string, n = 1) => {
      inputsByChannel[channel] = (inputsByChannel[channel] ?? 0) + n;
      record.inputs += n;
    };
    let failures = 0;
    const guarded = (name: string, body: () => Promise<void>, timeout = 300_000) =>
      test(`6 · ${name}`, async () => {
        try {
          await body();
        } catch (error) {
          failures += 1;
          throw error;
        }
      }, timeout);

    interface CliCase { args: string[]; code: number }
    /** The CLI cases run as real processes from the start of the scenario, alongside the other groups. */
    function startCliCases(): Promise<{ c: CliCase; result: CliResult }[]> {
      const missing = `no-such-session-${randomUUID().slice(0, 8)}`;
      const cases: CliCase[] = [
        { args: [], code: 2 },
        { args: ['frobnicate'], code: 2 },
        { args: ['run'], code: 2 },
        { args: ['run', 'x', '--wait-policy', 'sometimes'], code: 2 },
        { args: ['run', 'x', '--wait-policy', HOSTILE_STRINGS[0]], code: 2 },
        { args: ['run', 'x', '--max-running-children', '0'], code: 2 },
        { args: ['run', 'x', '--max-running-children', '-3'], code: 2 },
        { args: ['run', 'x', '--max-running-children', 'many'], code: 2 },
        { args: ['run', 'x', '--metadata', 'noequals'], code: 2 },
        { args: ['run', 'x', '--metadata', '=value'], code: 2 },
        { args: ['run', 'x', '--no-such-flag'], code: 2 },
        { args: ['spawn', '--prompt', 'x'], code: 2 },
        { args: ['spawn', '--parent', 'p'], code: 2 },
        { args: ['spawn', '--parent', 'p', '--prompt', 'x', '--metadata', 'bad'], code: 2 },
        { args: ['ls', '--status', 'bogus'], code: 2 },
        { args: ['ls', '--kind', 'grandchild'], code: 2 },
        { args: ['ls', '--parent', 'a"b'], code: 2 },
        { args: ['ls', '--parent', "x' OR '1'='1"], code: 2 },
        { args: ['ls', '--limit', '0'], code: 2 },
        { args: ['ls', '--limit', '1.5'], code: 2 },
        { args: ['watch', 'x', '--interval', 'fast'], code: 2 },
        { args: ['show'], code: 2 },
        { args: ['send', 'x'], code: 2 },
        { args: ['dev', '--port', 'abc'], code: 2 },
        { args: ['codec-server'], code: 2 },
        { args: ['replay', '--limit', '-1'], code: 2 },
        { args: ['show', missing], code: 3 },
        { args: ['state', missing], code: 3 },
        { args: ['transcript', missing], code: 3 },
        { args: ['cancel', missing], code: 3 },
        { args: ['send', missing, 'hello'], code: 3 },
        { args: ['show', '../../etc/passwd'], code: 3 },
        { args: ['show', HOSTILE_STRINGS[0]], code: 3 },
        { args: ['show', HOSTILE_STRINGS[2]], code: 3 },
      ];
      return mapLimit(cases, 4, async (c) => ({ c, result: await bamboo(c.args, { BAMBOO_TASK_QUEUE: tw.taskQueue }) }));
    }
    let cliRuns: Promise<{ c: CliCase; result: CliResult }[]>;

    beforeAll(async () => {
      record = beginScenario('6-bad-input', 'bad input: client API, raw starts, signals, CLI, 2 MB, hostile');
      tw = await startTestWorker();
      client = tw.client;
      useQueue(mainServer(), tw.taskQueue, record.id);
      parent = await startRecordingParent(client, tw.taskQueue);
      parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
      // Healthy sessions that run through the whole scenario.
      healthy = await startTrees(client, tw.taskQueue, { roots: 3, childrenPerRoot: 2, sleepSecs: [3, 6] }, 'healthy');
      // Signal targets: a root waiting on a child that streams for a while.
      for (let i = 0; i < 2; i++) {
        const session = rootSession(`[[spawn:Target${i}|[[sleep:45]] long task ${i}]] plan`);
        await startSession(client, { session }, { taskQueue: tw.taskQueue });
        const state = await eventuallyOrUndefined(async () => {
          const s = await sessionState(client, session.id);
          return s.phase === 'waiting' && s.children[0]?.status === 'running' ? s : undefined;
        }, { timeoutMs: 60_000, intervalMs: 500 });
        if (!state) throw new Error('signal target did not start waiting');
        targets.push({ rootId: session.id, childId: state.children[0].childSessionId });
      }
      record.runs += 3 * 3 + 2 * 2;
      cliRuns = startCliCases();
      cliRuns.catch(() => undefined);
    });

    afterAll(async () => {
      record.details = { ...record.details, inputsByChannel, problems: problems.slice(0, 20) };
      finishScenario(record, failures === 0);
      await terminateRoots(client, [...(healthy?.rootIds ?? []), ...targets.map((t) => t.rootId)]);
      await parent?.terminate().catch(() => undefined);
      await tw?.stop();
    });

    guarded('signals with bad payloads are ignored; the sessions keep working', async () => {
      const badMessages: unknown[] = [
        undefined, null, 0, 42, true, 'a string', [], ['a'], {}, { content: '' }, { content: '   ' }, { content: '\n\t' },
        { content: 5 }, { content: null }, { content: {} }, { content: ['x'] }, { contents: 'typo' }, { content: true },
      ];
      const badCompletions = (rootId: string): unknown[] => {
        const base = { parentSessionId: rootId, childSessionId: 'c-1', runId: 'r-1', status: 'completed', completedAt: new Date().toISOString() };
        return [
          {}, null, 'x',
          { ...base, childSessionId: '' },
          { ...base, status: 'finished' },
          { ...base, runId: undefined },
          { ...base, usage: { inputTokens: -1, outputTokens: 0 } },
          { ...base, completedAt: 5 },
        ];
      };
      const sends: Promise<void>[] = [];
      for (const { rootId, childId } of targets) {
        const root = client.workflow.getHandle(sessionWorkflowId(rootId));
        const child = client.workflow.getHandle(sessionWorkflowId(childId));
        for (const payload of badMessages) {
          sends.push(root.signal(userMessageSignal, payload as never));
          sends.push(child.signal(injectMessageSignal, payload as never));
        }
        for (const payload of badCompletions(rootId)) sends.push(root.signal(subSessionCompletedSignal, payload as never));
        for (const payload of badCompletions(childId).slice(0, 4)) sends.push(child.signal(subSessionCompletedSignal, payload as never));
        sends.push(root.signal('noSuchSignal', { content: 'unknown signal' }), child.signal('noSuchSignal', { content: 'unknown signal' }));
      }
      await Promise.all(sends);
      count('signals', sends.length);

      // Still working: a valid message to each root is answered, a valid injection reaches each child.
      for (const { rootId, childId } of targets) {
        await sendUserMessage(client, rootId, `after the storm ${rootId}`);
        await injectIntoSession(client, childId, `after the storm too ${childId}`);
      }
      for (const { rootId } of targets) {
        const answered = await eventuallyOrUndefined(async () => {
          const messages = await sessionTranscript(client, rootId);
          return messages.some((m) => m.role === 'assistant' && m.content === `echo: after the storm ${rootId}`);
        }, { timeoutMs: 60_000, intervalMs: 500 });
        expect(answered).toBe(true);
        const s = await sessionState(client, rootId);
        expect(s.phase).toBe('waiting'); // still waiting on its child: the bad completions changed nothing
        expect(s.children.map((c) => c.status)).toEqual(['running']);
      }
      for (const { rootId, childId } of targets) {
        expect(await workflowTaskFailures(client, sessionWorkflowId(rootId))).toBe(0);
        expect(await workflowTaskFailures(client, sessionWorkflowId(childId))).toBe(0);
      }
    });

    guarded('the client API rejects generated invalid inputs with a zod error naming each bad field', async () => {
      const check = async (what: string, prefix: string, generated: GeneratedInput, call: () => Promise<unknown>) => {
        try {
          await call();
          problems.push(`${what} accepted: ${generated.description}`);
        } catch (error) {
          const message = (error as Error).message;
          if (!message.startsWith(prefix)) problems.push(`${what} (${generated.description}): unexpected error ${message.slice(0, 200)}`);
          const unnamed = generated.paths.filter((p) => !namesPath(message, p));
          if (unnamed.length > 0) problems.push(`${what} (${generated.description}): error does not name ${unnamed.join(', ')}: ${message.slice(0, 300)}`);
        }
      };
      const sampleIds: string[] = [];
      for (let i = 0; i < CLIENT_CHILD; i++) {
        const generated = invalidSpawnJob(parentSessionId);
        const id = (generated.input as { childSessionId?: unknown } | null)?.childSessionId;
        if (typeof id === 'string' && id.trim() && i % 10 === 0) sampleIds.push(id);
        await check('startChildRun', 'invalid SpawnJob: ', generated, () => startChildRun(client, generated.input as SpawnJob, { taskQueue: tw.taskQueue }));
      }
      count('client: startChildRun', CLIENT_CHILD);
      for (let i = 0; i < CLIENT_ROOT; i++) {
        const generated = invalidSessionInput();
        const id = (generated.input as { session?: { id?: unknown } } | null)?.session?.id;
        if (typeof id === 'string' && id.trim() && i % 10 === 0) sampleIds.push(id);
        await check('startSession', 'invalid session input: ', generated, () => startSession(client, generated.input as never, { taskQueue: tw.taskQueue }));
      }
      count('client: startSession', CLIENT_ROOT);
      const badContents: unknown[] = ['', '   ', '\n\t ', 5, null, undefined, {}, [], ['x'], true];
      for (const { rootId, childId } of targets) {
        for (const content of badContents) {
          const generated = { input: content, paths: ['content'], description: `content ${JSON.stringify(content) ?? 'undefined'}` };
          await check('sendUserMessage', 'invalid message: ', generated, () => sendUserMessage(client, rootId, content as string));
          await check('injectIntoSession', 'invalid message: ', generated, () => injectIntoSession(client, childId, content as string));
          await check('sendUserMessage (child)', 'invalid message: ', generated, () => sendUserMessage(client, childId, content as string));
          await check('injectIntoSession (root)', 'invalid message: ', generated, () => injectIntoSession(client, rootId, content as string));
        }
      }
      count('client: messages', targets.length * badContents.length * 4);
      // Nothing reached the server: no workflow under the sessions' ids.
      const created = (await mapLimit(sampleIds, 8, (id) => workflowExists(client, sessionWorkflowId(id)))).filter(Boolean).length;
      record.details.clientSampleChecked = sampleIds.length;
      expect(problems).toEqual([]);
      expect(created).toBe(0);
    });

    guarded('raw workflow starts that bypass the client fail at once, naming the field, with no failed workflow task', async () => {
      interface Raw { type: 'childSessionWorkflow' | 'sessionWorkflow'; args: unknown[]; paths: string[]; description: string; notifies?: string }
      const raws: Raw[] = [];
      const oddArgs: { args: unknown[]; description: string }[] = [
        { args: [], description: 'no argument' }, { args: [null], description: 'null' }, { args: ['x'], description: 'a string' },
        { args: [42], description: 'a number' }, { args: [[]], description: 'an array' },
      ];
      for (const odd of oddArgs) {
        raws.push({ type: 'childSessionWorkflow', args: odd.args, paths: ['(input)'], description: odd.description });
        raws.push({ type: 'sessionWorkflow', args: odd.args, paths: ['(input)'], description: odd.description });
      }
      while (raws.filter((r) => r.type === 'childSessionWorkflow').length < RAW_CHILD) {
        const g = invalidSpawnJob(parentSessionId);
        const job = g.input as { parentSessionId?: unknown; childSessionId?: unknown } | null;
        const notifies = typeof job?.parentSessionId === 'string' && job.parentSessionId.trim() && typeof job.childSessionId === 'string' && job.childSessionId.trim() ? job.childSessionId : undefined;
        raws.push({ type: 'childSessionWorkflow', args: [g.input], paths: g.paths, description: g.description, notifies });
      }
      while (raws.filter((r) => r.type === 'sessionWorkflow').length < RAW_ROOT) {
        const g = invalidSessionInput();
        raws.push({ type: 'sessionWorkflow', args: [g.input], paths: g.paths, description: g.description });
      }
      count('raw workflow starts', raws.length);
      record.runs += raws.length;
      const ids: string[] = [];
      await mapLimit(raws, 10, async (raw) => {
        const workflowId = `rel-raw-${randomUUID()}`;
        ids.push(workflowId);
        const handle = await client.workflow.start(raw.type, { taskQueue: tw.taskQueue, workflowId, args: raw.args });
        const prefix = raw.type === 'childSessionWorkflow' ? 'invalid SpawnJob: ' : 'invalid session input: ';
        const ended = await within(handle.result(), 60_000);
        if (!ended) return void problems.push(`${raw.type} (${raw.description}): still running after 60 s`);
        if ('value' in ended) return void problems.push(`${raw.type} (${raw.description}): completed`);
        const error = ended.error;
        const message = error instanceof WorkflowFailedError ? (error.cause?.message ?? '') : String(error);
        if (!message.startsWith(prefix)) problems.push(`${raw.type} (${raw.description}): ${message.slice(0, 200)}`);
        const unnamed = raw.paths.filter((p) => !namesPath(message, p));
        if (unnamed.length) problems.push(`${raw.type} (${raw.description}): does not name ${unnamed.join(', ')}: ${message.slice(0, 300)}`);
        const failedTasks = await workflowTaskFailures(client, workflowId);
        if (failedTasks > 0) problems.push(`${raw.type} (${raw.description}): ${failedTasks} failed workflow tasks`);
      });
      // A rejected job whose ids are readable tells its parent, once.
      const notified = raws.filter((r) => r.notifies).map((r) => r.notifies!);
      const completions = await eventuallyOrUndefined(async () => {
        const got = (await parent.query(receivedCompletionsQuery)).filter((c) => notified.includes(c.childSessionId));
        return got.length >= notified.length ? got : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      const got = completions ?? (await parent.query(receivedCompletionsQuery)).filter((c) => notified.includes(c.childSessionId));
      record.details.rawStartsNotifyingParent = `${got.length}/${notified.length}`;
      expect(problems).toEqual([]);
      expect(got).toHaveLength(notified.length);
      expect(got.every((c) => c.status === 'error' && c.error?.startsWith('invalid SpawnJob: '))).toBe(true);
      expect(new Set(got.map((c) => c.childSessionId)).size).toBe(notified.length);
    });

    guarded('payloads over the 2 MB limit get a clear error and leave no workflow behind', async () => {
      const huge = 'x'.repeat(2.5 * MB);
      const sizeError = /size|limit|exceed/i;
      const outcomes: Record<string, string> = {};
      const expectRejected = async (name: string, call: () => Promise<unknown>, workflowId?: string, pattern = sizeError) => {
        count('payload size');
        try {
          await call();
          outcomes[name] = 'ACCEPTED';
        } catch (error) {
          outcomes[name] = errorMessage(error, { causes: 3 }).slice(0, 200);
        }
        expect(outcomes[name]).toMatch(pattern);
        if (workflowId) expect(await workflowExists(client, workflowId)).toBe(false);
      };
      const child = childSession(huge, { parentSessionId });
      await expectRejected('child run, 2.5 MB prompt', () => startChildRun(client, spawnJobFor(child), { taskQueue: tw.taskQueue }), sessionWorkflowId(child.id));
      const root = rootSession(huge);
      await expectRejected('root session, 2.5 MB message', () => startSession(client, { session: root }, { taskQueue: tw.taskQueue }), sessionWorkflowId(root.id));
      // Messages are bounded by our own schema first (MESSAGE_MAX_CHARS), before Temporal's limit.
      const messageBound = new RegExp(`^invalid message: content: must be at most ${MESSAGE_MAX_CHARS} characters`);
      await expectRejected('userMessage, 2.5 MB', () => sendUserMessage(client, targets[0].rootId, huge), undefined, messageBound);
      await expectRejected('injectMessage, 2.5 MB', () => injectIntoSession(client, targets[0].childId, huge), undefined, messageBound);
      const longModel = childSession('hi', { parentSessionId, model: 'm'.repeat(3000) });
      // Long models and ids are refused by our own schemas, before Temporal's limits.
      await expectRejected('child run, 3000-character model', () => startChildRun(client, spawnJobFor(longModel), { taskQueue: tw.taskQueue }), sessionWorkflowId(longModel.id), /model: must be at most 200 characters/);
      const longId = childSession('hi', { parentSessionId, id: `c${'x'.repeat(1000)}` });
      await expectRejected('child run, 1001-character session id', () => startChildRun(client, spawnJobFor(longId), { taskQueue: tw.taskQueue }), undefined, /childSessionId: must be at most 200 characters/);

      // Near the limit but under it: accepted and completed.
      const bigMetadata = childSession('big metadata', { parentSessionId, metadata: { blob: 'y'.repeat(1 * MB) } });
      count('payload size');
      record.runs += 1;
      const big = await (await startChildRun(client, spawnJobFor(bigMetadata), { taskQueue: tw.taskQueue })).result();
      outcomes['child run, 1 MB metadata value'] = big.status;
      expect(big.status).toBe('completed');
      record.details.payloadSize = outcomes;
      // The signal target survived the oversized signals.
      expect(await workflowTaskFailures(client, sessionWorkflowId(targets[0].rootId))).toBe(0);
    });

    guarded('valid but hostile values (injection strings, unknown providers, bad watchdog values) run to a clear end', async () => {
      interface Hostile { name: string; session: Session; job?: Partial<SpawnJob>; status: RunStatus; error?: string; followUp?: boolean }
      const cases: Hostile[] = [];
      const child = (name: string, prompt: string, overrides: Partial<Session> = {}, status: RunStatus = 'completed', error?: string, followUp = false) =>
        cases.push({ name, session: childSession(prompt, { parentSessionId, ...overrides }), status, error, followUp });
      HOSTILE_STRINGS.forEach((s, i) => child(`metadata value #${i}`, 'metadata value', { metadata: { note: s, [`k${i}`]: s } }));
      HOSTILE_STRINGS.slice(0, 8).forEach((s, i) => child(`metadata key #${i}`, 'metadata key', { metadata: { [s]: 'v' } }));
      HOSTILE_STRINGS.slice(0, 8).forEach((s, i) => child(`prompt #${i}`, `please handle ${s}`));
      // Session ids with hostile characters (but none that JSON escapes — `"`, `\\`, control characters: see the
      // known-bug test), each followed by a second run.
      [...HOSTILE_STRINGS.slice(1, 4), '<script>', '🧨', 'a b c'].forEach((s, i) =>
        child(`session id #${i} ${JSON.stringify(s)} (+ follow-up run)`, 'first run', { id: `rel-h-${i}-${s}-${randomUUID().slice(0, 4)}` }, 'completed', undefined, true));
      child('unknown provider_name', 'provider', { metadata: { provider_name: 'no-such-provider' } });
      child('unknown modelRef provider', 'provider', { modelRef: { provider: 'ghost', model: 'x' } });
      child('empty modelRef', 'provider', { modelRef: { provider: '', model: '' } });
      child('unknown model', 'provider', { model: 'no-such-model-xyz' });
      const badWatchdog = ['-1', '0', 'abc', '1.5', '1e3', '', ' ', '99999999999999999999999', 'Infinity', 'NaN', '0x10', '５', HOSTILE_STRINGS[0]];
      const keys = ['child_watchdog.max_idle_secs', 'child_watchdog.max_total_secs', 'child_watchdog.check_interval_secs'];
      badWatchdog.forEach((v, i) => child(`watchdog ${keys[i % 3]}=${JSON.stringify(v)}`, 'watchdog', { metadata: { [keys[i % 3]]: v } }));
      child('all watchdog keys bad at once', 'watchdog', { metadata: Object.fromEntries(keys.map((k) => [k, '-7'])) });
      const proto = JSON.parse('{"__proto__": "polluted", "constructor": "c", "toString": "t", "hasOwnProperty": "h"}') as Record<string, string>;
      child('metadata keys __proto__/constructor/toString', 'prototype keys', { metadata: proto });
      child('a kind=root snapshot in a SpawnJob', 'wrong kind', { kind: 'root' }, 'error', 'spawn job child session is not kind=child');
      const noPending = childSession('x', { parentSessionId });
      noPending.messages = noPending.messages.slice(0, 1);
      cases.push({ name: 'no pending user message', session: noPending, status: 'skipped', error: 'No pending message to execute' });
      count('hostile but valid', cases.length + 2);

      const outcomes: Record<string, string> = {};
      const results = await mapLimit(cases, 8, async (c) => {
        const handle = await startChildRun(client, spawnJobFor(c.session, c.job), { taskQueue: tw.taskQueue });
        record.runs += 1;
        const ended = await within(handle.result(), 120_000);
        const result = ended && 'value' in ended ? ended.value : undefined;
        outcomes[c.name] = result ? `${result.status}${result.error ? `: ${result.error}` : ''}` : `no result: ${ended ? String((ended as { error: unknown }).error) : 'timeout'}`;
        return { c, result, runId: handle.firstExecutionRunId };
      });
      for (const { c, result } of results) {
        if (result?.status !== c.status || (c.error && result.error !== c.error)) problems.push(`${c.name}: ${outcomes[c.name]}`);
      }
      // A follow-up run of each session with a hostile id loads its snapshot (through visibility) and answers.
      for (const { c } of results.filter((r) => r.c.followUp)) {
        const handle = await startChildRun(client, { parentSessionId, childSessionId: c.session.id, model: c.session.model, appendMessages: ['second run'] }, { taskQueue: tw.taskQueue });
        record.runs += 1;
        const result: ChildRunResult = await handle.result();
        outcomes[`${c.name}: follow-up`] = `${result.status}${result.error ? `: ${result.error}` : ''}`;
        if (result.status !== 'completed' || result.session?.messages.at(-1)?.content !== 'echo: second run') problems.push(`${c.name} follow-up: ${outcomes[`${c.name}: follow-up`]}`);
      }
      // Two root sessions with hostile metadata and an unknown provider settle too.
      const roots = [
        rootSession('[[spawn:H|hostile child]] hostile root', { provider_name: 'nope', note: HOSTILE_STRINGS[0], [HOSTILE_STRINGS[2]]: HOSTILE_STRINGS[3], 'child_watchdog.max_idle_secs': 'abc' }),
        rootSession(`hostile prompt ${HOSTILE_STRINGS.join(' ')}`, { 'child_watchdog.max_total_secs': '-1' }),
      ];
      for (const r of roots) await startSession(client, { session: r }, { taskQueue: tw.taskQueue });
      record.runs += roots.length + 1;
      const tree = await checkTrees(client, { rootIds: [roots[0].id], childrenPerRoot: 1 }, 60_000);
      const plain = await eventuallyOrUndefined(async () => (await sessionState(client, roots[1].id)).lastRunStatus === 'completed', { timeoutMs: 60_000, intervalMs: 500 });
      outcomes['hostile root session with a child'] = JSON.stringify(summarizeReport(tree).statuses);
      outcomes['hostile root session'] = plain ? 'completed' : 'did not complete';
      await terminateRoots(client, roots.map((r) => r.id));
      // Every run reported to the parent exactly once.
      await sleep(1000);
      const completions = await parent.query(receivedCompletionsQuery);
      for (const { c, runId } of results) {
        const n = completions.filter((x) => x.childSessionId === c.session.id && x.runId === runId).length;
        if (n === 0) record.lost += 1;
        if (n > 1) record.duplicated += n - 1;
        if (n !== 1) problems.push(`${c.name}: ${n} completions`);
      }
      record.details.hostile = outcomes;
      expect(problems).toEqual([]);
      expect(tree.lost).toEqual([]);
      expect(plain).toBe(true);
    });

    guarded('the CLI: bad flags and unknown sessions exit 2 or 3 with a message', async () => {
      const results = await cliRuns;
      count('CLI', results.length);
      for (const { c, result } of results) recordOutput(`bamboo ${c.args.join(' ')}`, result.stdout + result.stderr);
      const wrong = results
        .filter(({ c, result }) => result.code !== c.code || (result.stderr + result.stdout).trim() === '')
        .map(({ c, result }) => `bamboo ${JSON.stringify(c.args)}: exit ${result.code} (expected ${c.code}) ${(result.stderr || result.stdout).trim().slice(0, 160)}`);
      record.details.cliExitCodes = results.reduce<Record<string, number>>((acc, { result }) => ((acc[`exit ${result.code}`] = (acc[`exit ${result.code}`] ?? 0) + 1), acc), {});
      record.details.cliWrong = wrong;
      expect(wrong).toEqual([]);
    });

    guarded('meanwhile, the healthy sessions and the signal targets finished: nothing lost, nothing doubled', async () => {
      const report = await checkTrees(client, healthy, 180_000);
      const targetReport = await checkTrees(client, { rootIds: targets.map((t) => t.rootId), childrenPerRoot: 1 }, 180_000);
      const ids = [...healthy.rootIds, ...report.childIds, ...targets.flatMap((t) => [t.rootId, t.childId])].map(sessionWorkflowId);
      const counts = await historyCounts(client, ids);
      record.lost += report.lost.length + targetReport.lost.length;
      record.duplicated += report.duplicated.length + targetReport.duplicated.length;
      record.serverErrors += counts.workflowTaskFailed;
      record.details.healthy = summarizeReport(report);
      record.details.signalTargets = summarizeReport(targetReport);
      // The children got the valid injection after the bad ones and answered it.
      for (const { childId } of targets) {
        const result: ChildRunResult = await client.workflow.getHandle(sessionWorkflowId(childId)).result();
        expect(result.session?.messages.filter((m) => m.role === 'assistant').at(-1)?.content).toBe(`echo: after the storm too ${childId}`);
      }
      const findings = [...auditFindings(report, record), ...auditFindings(targetReport, record)];
      expect(report.lost).toEqual([]);
      expect(report.duplicated).toEqual([]);
      expect(findings).toEqual([]); // Temporal's records agree with the engine's view
      expect(report.statuses).toEqual({ completed: 6 });
      expect(targetReport.lost).toEqual([]);
      expect(targetReport.duplicated).toEqual([]);
      expect(counts.workflowTaskFailed).toBe(0);
      record.notes.push('serverErrors = WorkflowTaskFailed events in the healthy sessions\' and signal targets\' histories');
    });

    // ── product bugs this suite found, now fixed (the tests assert the right behaviour) ──

    test('FIXED · a session id holding `"`, `\\`, a tab or NUL is rejected up front, naming the field (it could not be looked up later)', async () => {
      for (const id of [`rel-quote-"-${randomUUID().slice(0, 4)}`, `rel-backslash-\\-${randomUUID().slice(0, 4)}`, `rel-tab-\t-${randomUUID().slice(0, 4)}`, `rel-nul-\u0000-${randomUUID().slice(0, 4)}`]) {
        const session = childSession('first run', { parentSessionId, id });
        count('client API');
        await expect(startChildRun(client, spawnJobFor(session), { taskQueue: tw.taskQueue })).rejects.toThrow(
          /^invalid SpawnJob: childSessionId: must not contain quotes, backslashes or control characters/,
        );
      }
      recordBug({
        id: 'snapshot-lookup-quotes',
        title: 'session ids with `"`, `\\`, control characters could not find their previous snapshot; fixed: such ids are rejected by SessionIdSchema',
        where: 'common/session.ts SessionIdSchema',
        reproduced: false,
        evidence: 'all four ids rejected by the client with a message naming childSessionId',
      });
    }, 120_000);

    test('FIXED · CLI flag values that the client API rejects exit 2 (bad usage), not 1', async () => {
      const cases = [
        ['spawn', '--parent', '   ', '--prompt', 'x'],
        ['spawn', '--parent', 'p', '--prompt', 'x', '--model', '   '],
        ['run', '--no-follow', '--session-id', '   ', 'x'],
      ];
      const results = await mapLimit(cases, 3, (args) => bamboo(args, { BAMBOO_TASK_QUEUE: tw.taskQueue }));
      count('CLI', cases.length);
      results.forEach((r, i) => recordOutput(`bamboo ${cases[i].join(' ')}`, r.stdout + r.stderr));
      const evidence = results.map((r, i) => `${JSON.stringify(cases[i])} → exit ${r.code}: ${r.stderr.trim().slice(0, 90)}`);
      recordBug({
        id: 'cli-invalid-values-exit-1',
        title: 'CLI flag values the client API rejects (blank --parent, --model, --session-id) exit 1 ("failed") instead of 2 ("bad usage"), and only after connecting',
        where: 'cli/commands/sessions.ts run/spawn (no validation before withClient) + cli/main.ts (non-CliError → exit 1)',
        reproduced: results.some((r) => r.code === 1),
        evidence: evidence.join('; '),
      });
      expect(results.map((r) => r.code)).toEqual(cases.map(() => 2));
    }, 120_000);

    test('FIXED · a spawn_session `model` longer than 2 KB does not terminate the parent session', async () => {
      const args = JSON.stringify({ title: 't', responsibility: 'r', prompt: 'p', subagent_type: 'general', model: 'm'.repeat(3000) });
      const session = rootSession(`[[tool:spawn_session|${args}]] go`);
      const handle = await startSession(client, { session }, { taskQueue: tw.taskQueue });
      count('hostile but valid');
      record.runs += 1;
      try {
        const closed = await eventuallyOrUndefined(async () => {
          const d = await handle.describe();
          return d.status.name !== 'RUNNING' ? d.status.name : (await handle.query(stateQuery)).phase === 'idle' ? 'RUNNING (idle)' : undefined;
        }, { timeoutMs: 60_000, intervalMs: 500 });
        recordBug({
          id: 'spawn-model-search-attribute',
          title: 'a spawn_session `model` over 2 KB (model-controlled) gets the parent root session TERMINATED by the server',
          where: 'workflows/spawn-tools.ts SpawnArgsSchema (model unbounded) → workflows/children.ts startChild (BambooModel search attribute)',
          reproduced: closed === 'TERMINATED',
          evidence: `root session ended ${closed}`,
        });
        expect(closed).toBe('RUNNING (idle)');
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    }, 120_000);

    test('FIXED · a root session id near 1,000 characters is rejected up front (its children\'s workflow ids would pass Temporal\'s limit)', async () => {
      const session = rootSession('[[spawn:Long|hello]] go');
      session.id = `r${'x'.repeat(979)}`;
      session.rootSessionId = session.id;
      count('client API');
      await expect(startSession(client, { session }, { taskQueue: tw.taskQueue })).rejects.toThrow(/^invalid session input: session\.id: must be at most 200 characters/);
      recordBug({
        id: 'child-workflow-id-too-long',
        title: 'a root session id of 977+ characters made spawning fail its workflow task forever; fixed: ids are at most 200 characters and child ids fit',
        where: 'common/session.ts SessionIdSchema; workflows/spawn-tools.ts buildChildJob',
        reproduced: false,
        evidence: 'rejected by the client with a message naming session.id',
      });
    }, 120_000);

    test('FIXED · a child run whose transcript passes 2 MB (1.9 MB prompt, echoed) completes with a compacted snapshot the next run continues from', async () => {
      const session = childSession('z'.repeat(1.9 * MB), { parentSessionId });
      const handle = await startChildRun(client, spawnJobFor(session), { taskQueue: tw.taskQueue });
      count('payload size');
      record.runs += 1;
      const ended = await within(handle.result(), 120_000);
      const status = (await handle.describe()).status.name;
      const completions = (await parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === session.id);
      const followUp = await (await startChildRun(client, { parentSessionId, childSessionId: session.id, model: session.model, appendMessages: ['again'] }, { taskQueue: tw.taskQueue })).result();
      record.runs += 1;
      recordBug({
        id: 'child-result-over-2mb',
        title: 'a child run whose ChildRunResult passed 2 MB was TERMINATED by the server after it told its parent, losing its snapshot; fixed: snapshots are compacted to 1 MiB',
        where: 'common/compaction.ts, called by workflows/snapshot-size.ts',
        reproduced: status !== 'COMPLETED' || followUp.status !== 'completed',
        evidence: `execution ${status} (${ended && 'error' in ended ? errorMessage(ended.error, { causes: 3 }).slice(0, 120) : 'result ok'}); parent got ${completions.length} completion(s); follow-up run: ${followUp.status} ${followUp.error ?? ''}`,
      });
      expect(completions).toHaveLength(1);
      expect(status).toBe('COMPLETED');
      expect(followUp.status).toBe('completed');
    }, 180_000);

    test('FIXED · a signal whose payload cannot be decoded is dropped: no workflow task fails and the session answers the next message', async () => {
      const session = rootSession('hello');
      const handle = await startSession(client, { session }, { taskQueue: tw.taskQueue });
      count('signals');
      record.runs += 1;
      try {
        await eventuallyOrUndefined(async () => (await sessionState(client, session.id)).lastRunStatus === 'completed', { timeoutMs: 60_000, intervalMs: 500 });
        await client.workflowService.signalWorkflowExecution({
          namespace: client.options.namespace,
          workflowExecution: { workflowId: handle.workflowId },
          signalName: 'userMessage',
          input: { payloads: [{ metadata: { encoding: Buffer.from('binary/unknown') }, data: Buffer.from('not decodable') }] },
        });
        await sendUserMessage(client, session.id, 'after the undecodable one');
        const answered = (await eventuallyOrUndefined(async () => {
          const messages = await sessionTranscript(client, session.id);
          return messages.some((m) => m.role === 'assistant' && m.content.includes('after the undecodable one'));
        }, { timeoutMs: 60_000, intervalMs: 500 })) ?? false;
        const failed = await workflowTaskFailures(client, handle.workflowId);
        recordBug({
          id: 'undecodable-signal-payload',
          title: 'a signal with an undecodable payload (unknown encoding, or encrypted with another key) failed the session\'s workflow task forever; fixed: workers decode leniently and the handler rejects it',
          where: 'common/payload-converter.ts, worker/codec/worker-data-converter.ts',
          reproduced: failed > 0 || !answered,
          evidence: `${failed} WorkflowTaskFailed events; next message answered: ${answered}`,
        });
        expect(failed).toBe(0);
        expect(answered).toBe(true);
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    }, 120_000);
  });
}
