/**
 * The subprocess runner on a real dev server and a real worker, with real agent processes
 * (test/fixtures/agents): completion with live progress, the idle watchdog, cancellation,
 * SIGKILL escalation, a crashing agent, that session data cannot choose what runs, and the
 * usage an agent reports, priced from its profile's model.
 * After every ending, no process of the agent's tree is left running, not even when the
 * worker running it is SIGKILLed.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cancelSession, startChildRun } from '../../client/child-runs';
import type { ChildCompletion, RunStatus, ProgressDetails } from '../../common';
import type { ExternalRunOutcome } from '../../worker/activities/external';
import { PriceTableSchema } from '../../worker/pricing';
import { createProviderRegistry } from '../../worker/providers/router';
import { createScriptedProvider } from '../../worker/providers/scripted';
import { FailureTypes, sessionIdFromWorkflowId } from '../../common';
import { createSubprocessRunner, type SubprocessProfile } from '../../worker/runners/subprocess';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startRecordingParent, startTestWorker, uniqueId, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';
import { isRunning } from '../helpers/processes';
import { activityOutcomes, activityResults } from '../helpers/history-text';
import { watchdogSeconds } from '../helpers/watchdog-text';

const ROOT = resolve(__dirname, '..', '..');
const AGENTS = resolve(__dirname, '..', 'fixtures', 'agents');
/** Fixture agents append `<role> <pid>` lines here, one file per session. */
const pidDir = mkdtempSync(join(tmpdir(), 'bamboo-agents-'));

let tw: TestWorker;
let parent: RecordingParentHandle;
let parentSessionId: string;

function profile(agentId: string, script: string, extra: Partial<SubprocessProfile> = {}): SubprocessProfile {
  return {
    agentId,
    protocol: 'subprocess',
    command: join(AGENTS, script),
    killGraceSecs: 2,
    ...extra,
    env: { AGENT_PID_DIR: pidDir, ...extra.env },
  };
}

beforeAll(async () => {
  process.env.BAMBOO_TEST_PASSED_THROUGH = 'visible';
  process.env.BAMBOO_TEST_WORKER_SECRET = 'must-not-leak';
  tw = await startTestWorker({
    deps: {
      runners: [
        profile('echo', 'echo-agent.mjs', { args: ['--delay-ms', '500'], env: { ECHO_PREFIX: 'subprocess echo' } }),
        profile('echo-env', 'echo-agent.mjs', {
          args: ['--delay-ms', '0'],
          env: { ECHO_SHOW_ENV: 'BAMBOO_TEST_PASSED_THROUGH,BAMBOO_TEST_WORKER_SECRET,AGENT_FLAVOUR', AGENT_FLAVOUR: 'mint' },
          inheritEnv: ['BAMBOO_TEST_PASSED_THROUGH'],
        }),
        profile('stalling', 'stalling-agent.mjs'),
        profile('tree', 'sleepy-tree-agent.mjs'),
        profile('crashing', 'crashing-agent.mjs'),
        profile('flooding', 'flooding-agent.mjs'),
        profile('progress-bar', 'progress-bar-agent.mjs'),
        profile('stubborn', 'term-ignoring-agent.mjs'),
        profile('usage', 'usage-agent.mjs', { model: 'agent-model' }),
        profile('usage-unpriced', 'usage-agent.mjs'),
      ].map(createSubprocessRunner),
      providers: createProviderRegistry([createScriptedProvider()], 'scripted', {}, PriceTableSchema.parse({ 'agent-model': { inputPerMTok: '0.15', outputPerMTok: '0.6', cachedInputPerMTok: '0.075' } })),
    },
  });
  parent = await startRecordingParent(tw.client, tw.taskQueue);
  parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
});

afterAll(async () => {
  await parent?.terminate().catch(() => undefined);
  await tw?.stop();
  // Only if a test failed midway: end the agent processes this suite started, by pid.
  for (const { pid } of allRecordedPids()) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  rmSync(pidDir, { recursive: true, force: true });
});

function externalChild(agentId: string, prompt: string, metadata: Record<string, string> = {}) {
  return childSession(prompt, {
    parentSessionId,
    metadata: { 'runtime.kind': 'external', 'external.protocol': 'subprocess', 'external.agent_id': agentId, ...metadata },
  });
}

async function startExternalChild(agentId: string, prompt: string, metadata: Record<string, string> = {}) {
  const session = externalChild(agentId, prompt, metadata);
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  return { session, handle };
}

/** Waits for the run's completion at the parent, then makes sure no second one follows. */
async function expectOneCompletion(childSessionId: string, status: RunStatus): Promise<ChildCompletion> {
  const forChild = async () => (await parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === childSessionId);
  await eventually(async () => (await forChild()).length > 0, { timeoutMs: 10_000, what: 'the parent to receive the completion' });
  await new Promise((r) => setTimeout(r, 1000));
  const completions = await forChild();
  expect(completions).toEqual([expect.objectContaining({ status })]);
  return completions[0];
}

/** The runner activity's latest heartbeat details, while the run is in it. */
async function runnerProgress(workflowId: string): Promise<ProgressDetails | undefined> {
  const description = await tw.client.workflow.getHandle(workflowId).describe();
  const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'runExternalChild');
  const payload = activity?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<ProgressDetails>(payload) : undefined;
}

function recordedPids(sessionId: string): { role: string; pid: number }[] {
  const file = join(pidDir, sessionId);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [role, pid] = line.split(' ');
      return { role, pid: Number(pid) };
    });
}

function allRecordedPids() {
  return existsSync(pidDir) ? readdirSync(pidDir).flatMap((sessionId) => recordedPids(sessionId)) : [];
}

function pidsOf(sessionId: string, role: string): number[] {
  return recordedPids(sessionId)
    .filter((r) => r.role === role)
    .map((r) => r.pid);
}


async function expectAllGone(pids: number[], what: string, timeoutMs = 30_000): Promise<void> {
  expect(pids.length).toBeGreaterThan(0);
  await eventually(async () => pids.every((pid) => !isRunning(pid)), { timeoutMs, what: `${what} (pids ${pids.join(', ')}) to be gone` });
}

/** Pids of the guard processes watching the agent group `pgid` (see worker/runners/process-guard.ts). */
function guardsOf(pgid: number): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => new RegExp(`bamboo-agent-guard ${pgid} \\d+$`).test(line.trim()))
    .map((line) => Number(line.trim().split(' ')[0]));
}

test('an agent that completes streams progress into heartbeats and its answer ends the run', async () => {
  const prompt = 'please summarise the quarterly report for the board today';
  const { session, handle } = await startExternalChild('echo', prompt);

  // Live progress, as the Web UI's pending-activity view shows it.
  const progress = await eventually(async () => {
    const details = await runnerProgress(handle.workflowId);
    return details && details.events > 0 && details.tail.includes('please') ? details : undefined;
  }, { timeoutMs: 30_000, what: 'heartbeat details with the streamed tokens' });
  expect(progress.phase).toBe('external subprocess:echo');

  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.error).toBeUndefined();
  const answer = `subprocess echo: ${prompt}`;
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: answer, metadata: { runner: 'echo' } });
  expect(result.session?.metadata.last_run_status).toBe('completed');
  expect(await expectOneCompletion(session.id, 'completed')).toMatchObject({ finalResponse: answer, runId: handle.firstExecutionRunId });
  // Its own answer ended the run: one agent process, one attempt, no watchdog or retry.
  expect(pidsOf(session.id, 'agent')).toHaveLength(1);
  await expectAllGone(pidsOf(session.id, 'agent'), 'the agent');
  const history = await handle.fetchHistory();
  expect(activityOutcomes(history, 'runExternalChild')).toEqual([{ outcome: 'completed', attempt: 1 }]);
  // It reported no usage: the run has none.
  const [run] = activityResults<ExternalRunOutcome>(history, 'runExternalChild');
  expect(run).not.toHaveProperty('usage');
});

test('usage lines add up (an invalid one is ignored), and the run is priced from the profile\'s model', async () => {
  const { session, handle } = await startExternalChild('usage', 'count me');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('usage-agent: count me');
  const [run] = activityResults<ExternalRunOutcome>(await handle.fetchHistory(), 'runExternalChild');
  expect(run.usage).toEqual({ inputTokens: 1235, outputTokens: 68, cachedInputTokens: 800 });
  // 435 × 0.15 + 800 × 0.075 + 68 × 0.6 = 65.25 + 60 + 40.8 = 166.05 µUSD → 166.
  expect(run.costMicroUsd).toBe(166);
  await expectOneCompletion(session.id, 'completed');

  // The same agent on a profile without a model: its usage, no cost. An agent that reports nothing: no usage.
  const unpriced = await startExternalChild('usage-unpriced', 'count me too');
  expect((await unpriced.handle.result()).status).toBe('completed');
  const [free] = activityResults<ExternalRunOutcome>(await unpriced.handle.fetchHistory(), 'runExternalChild');
  expect(free).toMatchObject({ runner: 'usage-unpriced', usage: { inputTokens: 1235, outputTokens: 68, cachedInputTokens: 800 } });
  expect(free).not.toHaveProperty('costMicroUsd');
});

test('a silent agent trips the idle watchdog, and its process is gone', async () => {
  const { session, handle } = await startExternalChild('stalling', 'take your time', { 'child_watchdog.max_idle_secs': '2' });
  const result = await handle.result();
  expect(result.status).toBe('timeout');
  expect(watchdogSeconds(result.error, 'idle', 2)).toBeGreaterThanOrEqual(2);
  await expectOneCompletion(session.id, 'timeout');
  // The watchdog ended it (the agent would have stalled for 300 s): the one attempt failed as
  // idle, and the agent it started was stopped.
  expect(activityOutcomes(await handle.fetchHistory(), 'runExternalChild')).toEqual([{ outcome: 'failed', failureType: FailureTypes.idleTimeout, attempt: 1 }]);
  expect(pidsOf(session.id, 'agent')).toHaveLength(1);
  await expectAllGone(pidsOf(session.id, 'agent'), 'the stalled agent');
});

test('cancelling a run mid-way ends it cancelled and kills the agent and its grandchild', async () => {
  const { session, handle } = await startExternalChild('tree', 'start a background job');
  // The agent reports its grandchild's pid as a progress note, visible in heartbeat details.
  const note = await eventually(
    async () => (await runnerProgress(handle.workflowId))?.note?.match(/grandchild pid (\d+)/) ?? undefined,
    { timeoutMs: 30_000, what: 'the grandchild pid note' },
  );
  const grandchild = Number(note[1]);
  expect(pidsOf(session.id, 'grandchild')).toEqual([grandchild]);
  const agent = pidsOf(session.id, 'agent');
  expect([...agent, grandchild].every(isRunning)).toBe(true);

  await cancelSession(tw.client, session.id);
  const result = await handle.result();
  expect(result.status).toBe('cancelled');
  expect(result.error).toContain('cancelled');
  await expectOneCompletion(session.id, 'cancelled');
  await expectAllGone([...agent, grandchild], 'the agent and its grandchild');
});

test('an agent that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
  const { session, handle } = await startExternalChild('stubborn', 'never stop');
  await eventually(async () => pidsOf(session.id, 'agent').length > 0, { timeoutMs: 30_000, what: 'the agent to start' });
  const agent = pidsOf(session.id, 'agent');

  await cancelSession(tw.client, session.id);
  expect((await handle.result()).status).toBe('cancelled');
  await expectOneCompletion(session.id, 'cancelled');
  // It got SIGTERM and survived it; it is gone all the same.
  await eventually(async () => pidsOf(session.id, 'ignored-sigterm').length > 0, { timeoutMs: 30_000, what: 'the agent to see SIGTERM' });
  await expectAllGone(agent, 'the SIGTERM-ignoring agent');
});

test('an agent that crashes ends the run as error with its exit code and stderr', async () => {
  const { session, handle } = await startExternalChild('crashing', 'do the thing');
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toContain('exited with code 3');
  expect(result.error).toContain('fatal: the widget index is corrupt');
  expect(await expectOneCompletion(session.id, 'error')).toMatchObject({ error: result.error });
  // Not retried: one process was started for the run.
  expect(pidsOf(session.id, 'agent')).toHaveLength(1);
});

test('an agent that writes a line over 10 MiB ends the run as error naming the limit, and its process is gone; the worker lives on', async () => {
  const { session, handle } = await startExternalChild('flooding', 'flood');
  const result = await handle.result();
  expect(result.status).toBe('error');
  expect(result.error).toMatch(/wrote a line over the stdout limit of 10485760 characters \(10 MiB\)/);
  expect(await expectOneCompletion(session.id, 'error')).toMatchObject({ error: result.error });
  const [agent] = pidsOf(session.id, 'agent');
  await eventually(async () => !isRunning(agent!), { timeoutMs: 10_000, what: 'the flooding agent to be killed' });
  expect(tw.worker.getState()).toBe('RUNNING');
});

test('an agent that draws a progress bar with carriage returns still completes: \\r, \\r\\n and \\n each end a line', async () => {
  const { session, handle } = await startExternalChild('progress-bar', 'draw');
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'completed' });
  expect(result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'bar drawn' });
  await expectOneCompletion(session.id, 'completed');
});

test('session metadata cannot choose the command: the profile\'s command runs', async () => {
  const { session, handle } = await startExternalChild('echo', 'who runs here', {
    'external.command': join(AGENTS, 'crashing-agent.mjs'),
    'external.args': '["--delay-ms","0"]',
    command: join(AGENTS, 'crashing-agent.mjs'),
  });
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe('subprocess echo: who runs here');
  await expectOneCompletion(session.id, 'completed');
});

test('the agent sees only a basic environment, the profile\'s env and the variables it inherits by name', async () => {
  const { session, handle } = await startExternalChild('echo-env', 'env check');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.session?.messages.at(-1)?.content).toBe(
    'echo-agent: env check [BAMBOO_TEST_PASSED_THROUGH=visible BAMBOO_TEST_WORKER_SECRET=<unset> AGENT_FLAVOUR=mint]',
  );
  await expectOneCompletion(session.id, 'completed');
});

test('a worker SIGKILLed while its agent runs leaves no agent process behind', async () => {
  // The runner in a process of its own, standing in for the worker.
  const sessionId = uniqueId('orphan');
  const runner = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/run-subprocess-agent.ts', join(AGENTS, 'sleepy-tree-agent.mjs'), pidDir, sessionId], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  const runnerExited = new Promise((r) => runner.once('exit', r));
  try {
    await eventually(async () => pidsOf(sessionId, 'grandchild').length > 0, { timeoutMs: 60_000, what: 'the agent and its grandchild to start' });
    const [agent] = pidsOf(sessionId, 'agent');
    const tree = [agent, ...pidsOf(sessionId, 'grandchild')];
    expect(tree.every(isRunning)).toBe(true);
    expect(guardsOf(agent)).toHaveLength(1);

    runner.kill('SIGKILL');
    await runnerExited;
    // No cleanup code of the runner ran; the agent answers the guard's SIGTERM at once.
    await expectAllGone(tree, 'the agent and its grandchild', 5000);
    await eventually(async () => guardsOf(agent).length === 0, { timeoutMs: 5000, what: 'the guard to exit' });
  } finally {
    runner.kill('SIGKILL');
  }
});

test('a run that ends normally leaves no guard process behind', async () => {
  const session = externalChild('echo-direct', 'hello there');
  let guardsSeen: number[] = [];
  const runner = createSubprocessRunner(profile('echo-direct', 'echo-agent.mjs', { args: ['--delay-ms', '0'] }));
  const result = await runner.run(session, {
    signal: new AbortController().signal,
    progress: () => {
      const [agent] = pidsOf(session.id, 'agent');
      if (agent && !guardsSeen.length) guardsSeen = guardsOf(agent);
    },
    attempt: 1,
  });
  expect(result.content).toBe('echo-agent: hello there');
  const [agent] = pidsOf(session.id, 'agent');
  expect(guardsSeen).toHaveLength(1);
  expect(isRunning(agent)).toBe(false);
  await eventually(async () => guardsOf(agent).length === 0, { timeoutMs: 5000, what: 'the guard to exit' });
});
