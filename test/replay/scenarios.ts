/** The workflow paths recorded as replay fixtures: each starts a workflow and drives it to its end. */
import { promote } from '../../cli/deploy';
import { WorkflowUpdateStage, type Client, type Connection, type WorkflowHandle } from '@temporalio/client';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cancelSession, injectIntoSession, startChildRun } from '../../client/child-runs';
import { sendUserMessage, sessionState, startSession } from '../../client/root-sessions';
import { sessionWorkflowId, type RespondInput, type Session, type SessionOptionsInput, type SpawnJob, respondUpdate, stateQuery, steerUpdate, transcriptQuery } from '../../common';
import { buildWorkflowBundle } from '../../worker/bundle';
import { createBambooWorker } from '../../worker/create-worker';
import type { ToolPolicy } from '../../worker/tools/policy';
import { NativeConnection } from '@temporalio/worker';
import { startA2ATestServer, type A2ATestServer } from '../helpers/a2a-server';
import { childSession, rootSession, spawnJobFor, withEarlierTurns } from '../helpers/session-fixtures';
import { eventually, type EventuallyOptions } from '../helpers/eventually';
import { lateReport } from '../helpers/late-report';
import type { ManagedProcess } from '../helpers/processes';
import { startWorkerProcess, TEST_TOOLS } from '../helpers/worker-process';
import { LATE_CLOSE_TITLE } from '../workflows/late-close';

export interface Scenario {
  name: string;
  start(client: Client, taskQueue: string): Promise<WorkflowHandle>;
  /** Drives the run while it is in flight (cancel, inject, follow up). */
  during?(client: Client, handle: WorkflowHandle): Promise<void>;
  /** A root scenario whose children's runs are recorded too (their paths are what it is about). */
  withChildren?: boolean;
}

export const RECORDING_PARENT = 'recording-parent';

const child = (prompt: string, metadata: Record<string, string> = {}, extra: Partial<Session> = {}) =>
  spawnJobFor(childSession(prompt, { parentSessionId: RECORDING_PARENT, metadata, ...extra }));

const childScenario = (name: string, job: () => SpawnJob, during?: Scenario['during']): Scenario => ({
  name: `child-${name}`,
  start: (client, taskQueue) => startChildRun(client, job(), { taskQueue }),
  during,
});

const rawChildScenario = (name: string, job: Record<string, unknown>): Scenario => ({
  name: `child-${name}`,
  start: (client, taskQueue) =>
    client.workflow.start('childSessionWorkflow', { taskQueue, workflowId: sessionWorkflowId(String(job.childSessionId)), args: [job] }),
});

/** Root scenarios end by their idle time-to-live, so every history is complete. */
const rootScenario = (name: string, prompt: string, options: SessionOptionsInput = {}, during?: Scenario['during'], metadata: Record<string, string> = {}): Scenario => ({
  name: `root-${name}`,
  start: (client, taskQueue) => startSession(client, { session: rootSession(prompt, metadata), options: { idleTtlSecs: 2, ...options } }, { taskQueue }),
  during,
});

const idOf = (h: WorkflowHandle) => h.workflowId.replace(/^bamboo-session-/, '');

/** How the recordings wait for a workflow to reach a point: checked every 100 ms, for 30 s at most. */
const waitOptions = (what: string): EventuallyOptions => ({ timeoutMs: 30_000, intervalMs: 100, what });

/** The one child of `count` still running once the others have finished (the long one). */
async function theLongChild(client: Client, rootId: string, count: number): Promise<string> {
  let id: string | undefined;
  await eventually(async () => {
    const { children } = await sessionState(client, rootId);
    const running = children.filter((c) => c.status === 'running');
    id = running[0]?.childSessionId;
    return children.length === count && running.length === 1 && children.every((c) => c.status !== 'pending');
  }, waitOptions('the long child alone running'));
  return id!;
}

const afterStreaming = (act: (client: Client, handle: WorkflowHandle) => Promise<void>) => async (client: Client, handle: WorkflowHandle) => {
  await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.heartbeatDetails), waitOptions('streaming'));
  await act(client, handle);
};

/** One workflow bundle for every tool worker process the scenarios start. */
let bundlePath: Promise<string> | undefined;
function sharedBundle(): Promise<string> {
  bundlePath ??= buildWorkflowBundle({ workflowsPath: require.resolve('../workflows'), encodeFailures: false }).then((code) => {
    const path = join(__dirname, '..', '..', 'test-output', 'record-workflow-bundle.js');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, code);
    return path;
  });
  return bundlePath;
}

/**
 * A child calling one of the test tools (test/fixtures/test-tools.ts) on its own task queue,
 * served by tool worker processes: the worker running the call is SIGKILLed `kills` times, each
 * time once the tool has run again (a line added to its file), with the next worker already up.
 */
const toolWorkerScenario = (name: string, tool: string, kills: number): Scenario => {
  const queue = `record-${name}`;
  let dir = '';
  let file = '';
  const workers: ManagedProcess[] = [];
  let server: { address: string; namespace: string; bundlePath: string } | undefined;
  const startWorker = async () => workers[workers.push(await startWorkerProcess({ ...server!, taskQueue: queue, toolsModule: TEST_TOOLS })) - 1];
  return {
    name: `child-${name}`,
    async start(client) {
      server = { address: (client.connection as Connection).options.address, namespace: client.options.namespace, bundlePath: await sharedBundle() };
      dir = mkdtempSync(join(tmpdir(), 'bamboo-record-tool-'));
      file = join(dir, 'side-effect.txt');
      writeFileSync(file, '');
      writeFileSync(`${file}.hold`, ''); // the append tools keep working while it exists
      await startWorker();
      const job = child(`[[tool:${tool}|${JSON.stringify(tool === 'hang' ? {} : { file })}]] done?`, { 'child_watchdog.max_idle_secs': '5' });
      return startChildRun(client, job, { taskQueue: queue });
    },
    async during(_client, handle) {
      try {
        for (let kill = 1; kill <= kills; kill++) {
          await eventually(async () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length >= kill, waitOptions(`run ${kill} of ${tool}`));
          const doomed = workers.at(-1)!;
          await startWorker();
          await doomed.kill('SIGKILL');
        }
        await handle.result();
      } finally {
        await Promise.all(workers.map((w) => w.kill('SIGKILL')));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
};

/**
 * A root whose child's first run closes LATE_CLOSE_SECS after reporting (test/workflows/late-close.ts,
 * in a worker process of its own): the model's follow-up finds that run still open, waits for its
 * close and then starts the next run (issue 25, patch `bamboo-start-after-open-run-closes`).
 */
const followUpToClosingRunScenario = (): Scenario => {
  let worker: ManagedProcess | undefined;
  return {
    name: 'root-follow-up-to-closing-run',
    async start(client) {
      const server = { address: (client.connection as Connection).options.address, namespace: client.options.namespace };
      const code = await buildWorkflowBundle({ workflowsPath: require.resolve('../workflows/late-close'), encodeFailures: false });
      const bundle = join(__dirname, '..', '..', 'test-output', 'record-late-close-bundle.js');
      writeFileSync(bundle, code);
      const queue = 'record-late-close';
      worker = await startWorkerProcess({ ...server, bundlePath: bundle, taskQueue: queue });
      return startSession(client, { session: rootSession(`[[spawn:${LATE_CLOSE_TITLE}|draft]]`), options: { idleTtlSecs: 4 } }, { taskQueue: queue });
    },
    async during(client, handle) {
      try {
        const id = idOf(handle);
        const writer = await eventually(async () => {
          const s = await sessionState(client, id);
          return s.phase === 'idle' && s.children[0]?.status === 'completed' ? s.children[0].childSessionId : undefined;
        }, waitOptions('the first child run to report'));
        const send = JSON.stringify({ action: 'send_message', child_session_id: writer, message: 'the follow-up' });
        await sendUserMessage(client, id, `[[tool:manage_children|${send}]]`);
        await handle.result();
      } finally {
        await worker?.kill('SIGKILL');
      }
    },
  };
};

/** Answers the first request pending at the root once it is listed. */
type Answer = { decision: 'approve' | 'deny'; reason?: string } | { decision: 'answer'; text: string };
const answerFirstRequest = (input: Answer, before?: (client: Client, handle: WorkflowHandle) => Promise<void>): Scenario['during'] =>
  async (client, handle) => {
    const requestId = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0]?.requestId, waitOptions('a pending request'));
    await before?.(client, handle);
    await handle.executeUpdate(respondUpdate, { args: [{ ...input, requestId } as RespondInput] });
  };

const DEEP_ASK = '[[spawn:Lead|[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] organise]] plan';

/**
 * An external A2A agent for the scenarios below: a real one on loopback in this process
 * (test/helpers/a2a-server.ts), and a worker process on a task queue of its own whose
 * configuration names it (the recording worker has no external runners).
 */
const RECORD_A2A_AGENT = 'record-a2a';
const A2A_CHILD = { 'runtime.kind': 'external', 'external.protocol': 'a2a_jsonrpc', 'external.agent_id': RECORD_A2A_AGENT };

async function startA2AWorker(client: Client, name: string): Promise<{ queue: string; agent: A2ATestServer; stop(): Promise<void> }> {
  const agent = await startA2ATestServer();
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-record-a2a-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ externalAgents: [{ agentId: RECORD_A2A_AGENT, protocol: 'a2a_jsonrpc', agentCardUrl: agent.agentCardUrl }] }));
  const queue = `record-${name}`;
  const server = { address: (client.connection as Connection).options.address, namespace: client.options.namespace, bundlePath: await sharedBundle() };
  const worker = await startWorkerProcess({ ...server, taskQueue: queue, env: { BAMBOO_CONFIG: config } });
  return {
    queue,
    agent,
    async stop() {
      await worker.kill('SIGKILL');
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A root whose tree holds an A2A child that asks (`input-required`): the question is a request
 * at the root, answered (`answer`) or left to expire (the child's requestTimeoutSecs: 1).
 */
const externalQuestionScenario = (name: string, answer?: Answer, spawnOptions?: SessionOptionsInput): Scenario => {
  let agentWorker: Awaited<ReturnType<typeof startA2AWorker>> | undefined;
  return {
    name: `root-${name}`,
    withChildren: true,
    async start(client, taskQueue) {
      agentWorker = await startA2AWorker(client, name);
      return startSession(client, { session: rootSession('hello'), options: { idleTtlSecs: 10 } }, { taskQueue });
    },
    async during(client, handle) {
      try {
        const job = spawnJobFor(childSession('ask', { parentSessionId: idOf(handle), metadata: A2A_CHILD }), spawnOptions ? { spawnOptions } : {});
        const run = await startChildRun(client, job, { taskQueue: agentWorker!.queue });
        if (answer) await answerFirstRequest(answer)!(client, handle);
        await run.result();
      } finally {
        await agentWorker?.stop();
      }
    },
  };
};

/** A worker of this process on `queue` that runs only workflows or only activities (the other kind stops on its own). */
/**
 * A root on a versioned worker whose deployment gets a new current version while it waits for
 * its child: at its next turn it continues-as-new onto that version (patch
 * bamboo-upgrade-at-turn-boundary; test/integration/deploy.test.ts has the whole story).
 */
const upgradeScenario = (): Scenario => {
  const queue = 'record-upgrade';
  const deployment = `record-${Date.now().toString(36)}`;
  let workers: { stop(): Promise<void> }[] = [];
  return {
    name: 'root-upgraded-at-turn',
    async start(client) {
      workers = [await oneKindWorker(client, queue, 'both', { name: deployment, buildId: 'one' }), await oneKindWorker(client, queue, 'both', { name: deployment, buildId: 'two' })];
      await eventually(async () => promote(client, deployment, 'one').then(() => true, () => undefined), waitOptions('version one to be known'));
      return startSession(client, { session: rootSession('[[spawn:Helper|[[sleep:3]] work]] plan'), options: { idleTtlSecs: 3 } }, { taskQueue: queue });
    },
    async during(client, handle) {
      try {
        await eventually(async () => (await sessionState(client, idOf(handle))).children[0]?.status === 'running' || undefined, waitOptions('the child'));
        await promote(client, deployment, 'two');
        await handle.result();
      } finally {
        for (const w of workers) await w.stop();
      }
    },
  };
};

/** A worker of one kind (or both), of a worker deployment's version when given. */
async function oneKindWorker(client: Client, queue: string, only: 'workflows' | 'activities' | 'both', deployment?: { name: string; buildId: string }, toolPolicy?: ToolPolicy): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: (client.connection as Connection).options.address });
  const worker = await createBambooWorker({
    connection,
    client,
    namespace: client.options.namespace,
    taskQueue: queue,
    workflowBundlePath: await sharedBundle(),
    ...(deployment ? { deployment } : {}),
    ...(toolPolicy ? { deps: { toolPolicy } } : {}),
    tuning: only === 'workflows' ? { activities: undefined } : only === 'activities' ? { workflowBundle: undefined } : {},
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/**
 * A message that reaches a child run while its report is on its way: the run reports again with
 * it counted, and the root starts the child's next run for it (LATE_MESSAGES_PATCH, both sides).
 * The order is made as test/integration/interleavings.test.ts makes it: no workflow worker while
 * the child's model call ends, 1,000 ignored signals that make its next task slow, and the
 * message sent once that task has started. (histories/child-completed-message-after-report.json
 * is the child side alone, recorded first under the recording parent.)
 */
const lateMessageScenario = (): Scenario => {
  const queue = 'record-late-message';
  let activities: { stop(): Promise<void> } | undefined;
  let workflows: { stop(): Promise<void> } | undefined;
  return {
    name: 'root-message-after-child-report',
    withChildren: true,
    async start(client) {
      activities = await oneKindWorker(client, queue, 'activities');
      workflows = await oneKindWorker(client, queue, 'workflows');
      return startSession(client, { session: rootSession('[[spawn:Helper|[[sleep:2]] work]] plan'), options: { idleTtlSecs: 4 } }, { taskQueue: queue });
    },
    async during(client, handle) {
      try {
        const childId = await eventually(async () => (await sessionState(client, idOf(handle))).children[0]?.childSessionId, waitOptions('the child'));
        const child = client.workflow.getHandle(sessionWorkflowId(childId));
        await eventually(async () => ((await child.describe()).raw.pendingActivities?.length ?? 0) > 0, { ...waitOptions('the model call'), intervalMs: 50 });
        await workflows!.stop();
        await eventually(async () => (await child.fetchHistory()).events!.some((e) => e.activityTaskCompletedEventAttributes), waitOptions('the model call to end'));
        for (let i = 0; i < 1000; i++) await child.signal('subSessionCompleted', { padding: i });
        const { historyLength, runId } = await child.describe();
        workflows = await oneKindWorker(client, queue, 'workflows');
        await eventually(async () => (await child.fetchHistory()).events!.some((e) => Number(e.eventId) > historyLength && e.workflowTaskStartedEventAttributes), { ...waitOptions('the last task'), intervalMs: 10 });
        await injectIntoSession(client, childId, 'also say goodbye');
        await client.workflow.getHandle(sessionWorkflowId(childId), runId).result();
        const { events } = await client.workflow.getHandle(sessionWorkflowId(childId), runId).fetchHistory();
        if (events!.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes).length !== 2) throw new Error('the message reached the run before its report: record again');
        await handle.result();
      } finally {
        await workflows?.stop();
        await activities?.stop();
      }
    },
  };
};

/**
 * A child at the round boundary where it would continue-as-new while its notice to the root of
 * a grandchild that closed unreported is on its way, and a steer arrives then: the run waits for
 * the notice in its loop, merges the steer and continues-as-new at a later boundary (patch
 * bamboo-notices-before-continue). The order is made as test/integration/interleavings.test.ts
 * makes it: no workflow worker while the grandchild is terminated and the tool call ends, 1,000
 * ignored signals take the child past its history budget, the steer sent once that task started.
 */
const steerWhileNoticeScenario = (): Scenario => {
  const queue = 'record-steer-notice';
  let activities: { stop(): Promise<void> } | undefined;
  let workflows: { stop(): Promise<void> } | undefined;
  return {
    name: 'root-steer-while-notice-in-flight',
    withChildren: true,
    async start(client) {
      activities = await oneKindWorker(client, queue, 'activities');
      workflows = await oneKindWorker(client, queue, 'workflows');
      const prompt = '[[spawn:Worker|[[spawn:Digger|[[sleep:600]] dig]] [[rounds:3|wait|{"seconds":5}]] long work]] plan';
      return startSession(client, { session: rootSession(prompt), options: { idleTtlSecs: 4, maxSpawnDepth: 2, historyEventBudget: 400 } }, { taskQueue: queue });
    },
    async during(client, handle) {
      try {
        const childId = await eventually(async () => (await sessionState(client, idOf(handle))).children[0]?.childSessionId, waitOptions('the child'));
        const child = client.workflow.getHandle(sessionWorkflowId(childId));
        const digger = await eventually(async () => (await child.query(stateQuery)).children[0]?.childSessionId, waitOptions('the grandchild'));
        const toolCall = async () => ((await child.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'runTool');
        await eventually(toolCall, { ...waitOptions('the wait tool call'), intervalMs: 50 });
        await workflows!.stop();
        await client.workflow.getHandle(sessionWorkflowId(digger)).terminate('gone');
        await eventually(async () => !(await toolCall()), waitOptions('the tool call to end'));
        for (let i = 0; i < 1000; i++) await child.signal('subSessionCompleted', { padding: i });
        const { historyLength, runId } = await child.describe();
        workflows = await oneKindWorker(client, queue, 'workflows');
        await eventually(async () => (await child.fetchHistory()).events!.some((e) => Number(e.eventId) > historyLength && e.workflowTaskStartedEventAttributes), { ...waitOptions('the next task'), intervalMs: 10 });
        await client.workflow.getHandle(sessionWorkflowId(childId), runId).executeUpdate(steerUpdate, { args: [{ content: 'also list the tools' }] });
        const { events } = await client.workflow.getHandle(sessionWorkflowId(childId), runId).fetchHistory();
        const accepted = events!.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
        const recorded = events!.find((e) => Number(e.eventId) > historyLength && e.externalWorkflowExecutionSignaledEventAttributes);
        if (!accepted || !recorded || Number(accepted.eventId) > Number(recorded.eventId)) throw new Error('the steer did not meet the notice in flight: record again');
        await handle.result();
      } finally {
        await workflows?.stop();
        await activities?.stop();
      }
    },
  };
};

/**
 * A late report that asks for a child's next run while the root waits to continue-as-new (its
 * respond handler still signalling the child that asked): the run holds the start and carries
 * it; the next run starts it (patch bamboo-hold-starts-at-continue). Or a steer then (issue 25
 * item 2): a turn merges it first, and the run continues-as-new after. The order is made as
 * test/integration/interleavings.test.ts makes it: no worker while 400 ignored signals and the
 * respond update queue up; the late report sent once that task has started.
 */
const holdStartsScenario = (arrives: 'late report' | 'steer' = 'late report'): Scenario => {
  const queue = arrives === 'steer' ? 'record-steer-at-continue' : 'record-hold-starts';
  const askFirst: ToolPolicy = { tools: {}, subagents: { general: { get_current_time: 'ask' } } };
  let worker: { stop(): Promise<void> } | undefined;
  return {
    name: arrives === 'steer' ? 'root-steer-while-waiting-to-continue' : 'root-restart-held-at-continue',
    withChildren: true,
    async start(client) {
      worker = await oneKindWorker(client, queue, 'both', undefined, askFirst);
      const prompt = '[[spawn:Quick|quick]] [[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] plan';
      return startSession(client, { session: rootSession(prompt), options: { idleTtlSecs: 4, historyEventBudget: 300 } }, { taskQueue: queue });
    },
    async during(client, handle) {
      try {
        const rootId = idOf(handle);
        const requestId = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0]?.requestId, waitOptions('Helper’s request'));
        const quick = await eventually(async () => (await sessionState(client, rootId)).children.find((c) => c.title === 'Quick' && c.status === 'completed'), waitOptions('Quick to report'));
        const quickRun = await client.workflow.getHandle(sessionWorkflowId(quick.childSessionId)).describe();
        await worker!.stop();
        for (let i = 0; i < 400; i++) await handle.signal('subSessionCompleted', { padding: i });
        const respond = handle.startUpdate(respondUpdate, { args: [{ requestId, decision: 'approve' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
        await new Promise((r) => setTimeout(r, 500));
        const { historyLength, runId } = await handle.describe();
        worker = await oneKindWorker(client, queue, 'both', undefined, askFirst);
        await eventually(async () => (await handle.fetchHistory()).events!.some((e) => Number(e.eventId) > historyLength && e.workflowTaskStartedEventAttributes), { ...waitOptions('the next task'), intervalMs: 10 });
        const run = client.workflow.getHandle(sessionWorkflowId(rootId), runId);
        // A steer then is merged by a turn that runs first; the run continues-as-new after it.
        const steered = arrives === 'steer' ? run.executeUpdate(steerUpdate, { args: [{ content: 'also mention the date' }] }) : undefined;
        if (arrives === 'late report') {
          await run.signal('subSessionCompleted', lateReport(rootId, quick.childSessionId, quickRun.runId));
        }
        await respond;
        await steered;
        const { events } = await run.fetchHistory();
        const late = events!.find((e) => Number(e.eventId) > historyLength && (e.workflowExecutionSignaledEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'steer'));
        const decided = events!.find((e) => Number(e.eventId) > historyLength && e.workflowTaskCompletedEventAttributes);
        if (!late || !decided || Number(late.eventId) < Number(decided.eventId)) throw new Error(`the ${arrives} did not reach the root while it waited to continue-as-new: record again`);
        await handle.result();
      } finally {
        await worker?.stop();
      }
    },
  };
};

/** An A2A child that gets a message while its agent works: the agent gets it in the same context once the task ends. */
const externalInjectedScenario = (): Scenario => {
  let agentWorker: Awaited<ReturnType<typeof startA2AWorker>> | undefined;
  return {
    name: 'child-external-injected-message',
    async start(client) {
      agentWorker = await startA2AWorker(client, 'external-injected-message');
      return startChildRun(client, child('stream:6', A2A_CHILD), { taskQueue: agentWorker.queue });
    },
    async during(client, handle) {
      try {
        await eventually(async () => agentWorker!.agent.received.some((m) => m.text === 'stream:6'), waitOptions('the agent to start the task'));
        await injectIntoSession(client, idOf(handle), 'and add a title');
        await handle.result();
      } finally {
        await agentWorker?.stop();
      }
    },
  };
};

/** The window the recording worker (record-histories.ts) gives the model `small-window`. */
export const SUMMARY_WINDOW = 400;
const words = (label: string, n: number) => `${label}: ${Array.from({ length: n - 1 }, (_, i) => `w${i}`).join(' ')}`;

/** A root on `small-window` whose transcript starts with `messages` (user, assistant, user, …). */
const summaryScenario = (name: string, messages: string[], during?: Scenario['during']): Scenario => ({
  name: `root-${name}`,
  start: (client, taskQueue) => startSession(client, { session: withEarlierTurns(messages, 'small-window'), options: { idleTtlSecs: 2 } }, { taskQueue }),
  during,
});

/** Sends `text` to a root and waits until it answered it. */
async function answered(client: Client, handle: WorkflowHandle, text: string): Promise<void> {
  await sendUserMessage(client, idOf(handle), text);
  await eventually(async () => {
    const s = await sessionState(client, idOf(handle));
    return s.phase === 'idle' && s.pendingInjectedMessages === 0 && (await lastAnswer(handle)).includes(text.slice(0, 12));
  }, waitOptions('the answer'));
}

async function lastAnswer(handle: WorkflowHandle): Promise<string> {
  const { messageCount } = await handle.query(stateQuery);
  const [last] = await handle.query(transcriptQuery, { from: Math.max(0, messageCount - 1), count: messageCount });
  return last?.role === 'assistant' ? last.content : '';
}

export const SCENARIOS: Scenario[] = [
  childScenario('completed', () => child('hello')),
  childScenario('completed-tool-call', () => child('[[tool:get_current_time|{}]] what time is it')),
  childScenario('completed-after-retry', () => child('[[flaky:1]] try again')),
  childScenario('error-model-failure', () => child('[[fail:the model refused]]')),
  rawChildScenario('error-not-found', { parentSessionId: RECORDING_PARENT, childSessionId: `missing-${Date.now()}`, model: 'm' }),
  childScenario('error-not-kind-child', () => child('hi', {}, { kind: 'root' })),
  childScenario('error-external-not-configured', () =>
    child('hi', { 'runtime.kind': 'external', 'external.agent_id': 'a', 'external.protocol': 'a2a_jsonrpc' }),
  ),
  childScenario('skipped', () => {
    const job = child('asked');
    job.session!.messages.push({ id: 'a', role: 'assistant', content: 'answered', createdAt: new Date().toISOString() });
    return job;
  }),
  childScenario('timeout-idle', () => child('[[stall:30]]', { 'child_watchdog.max_idle_secs': '2' })),
  childScenario('timeout-total', () => child('[[sleep:30]]', { 'child_watchdog.max_total_secs': '3' })),
  childScenario('cancelled', () => child('[[sleep:30]]'), afterStreaming((client, h) => cancelSession(client, idOf(h)))),
  childScenario('completed-injected-message', () => child('[[sleep:2]] first'), afterStreaming((client, h) => injectIntoSession(client, idOf(h), 'a follow-up'))),
  childScenario('completed-with-own-child', () => ({ ...child('[[spawn:Helper|deep work]] delegate'), spawnOptions: { maxSpawnDepth: 2 } })),
  // A small transcript budget, so compaction runs on a small history: 40 KB echoed back.
  childScenario('completed-compacted', () => ({ ...child(`BEGIN ${'long brief '.repeat(4000)} END`), spawnOptions: { transcriptBudgetBytes: 16 * 1024 } })),
  rawChildScenario('failed-invalid-input', { parentSessionId: RECORDING_PARENT, childSessionId: 'bad-input', model: '' }),
  // Tool calls as the reference has them: a timeout is an error result (the hang tool's limit is 2 s)…
  toolWorkerScenario('completed-tool-timeout', 'hang', 0),
  // …a non-idempotent tool whose worker died mid-call is not run again ("outcome unknown")…
  toolWorkerScenario('completed-tool-outcome-unknown', 'append_line', 1),
  // …and a tool activity that fails (workers dead on all 3 attempts) is an error result (patched).
  // histories/child-error-tool-worker-lost-before-patch.json is this scenario recorded before
  // the patch (the run ended `error`): it is not re-recorded, it proves the old path replays.
  toolWorkerScenario('completed-tool-worker-lost', 'append_line_idempotent', 3),

  rootScenario('wait-all', 'Plan. [[spawn:Alpha|write it]] [[spawn:Beta|[[fail:disk full]]]] [[spawn:Gamma|[[stall:30]]]]', {}, undefined, {
    'child_watchdog.max_idle_secs': '2',
  }),
  rootScenario('wait-any', '[[spawn:Fast|[[sleep:1]] quick]] [[spawn:Slow|[[sleep:4]] slow]]', { waitPolicy: 'any' }),
  rootScenario('wait-first-error', '[[spawn:Steady|[[sleep:3]] fine]] [[spawn:Shaky|[[fail:bad input]]]]', { waitPolicy: 'first_error' }),
  rootScenario('wait-lease-expired', '[[spawn:Slow|[[sleep:4]] slow]]', { waitLeaseSecs: 1 }),
  rootScenario('running-cap', '[[spawn:A|[[sleep:1]] a]] [[spawn:B|[[sleep:1]] b]] [[spawn:C|[[sleep:1]] c]]', { maxRunningChildren: 1 }),
  rootScenario('continue-as-new', '[[spawn:One|[[sleep:3]] one]] [[spawn:Two|[[fail:nope]]]]', { historyEventBudget: 20 }),
  rootScenario('cancelled', '[[spawn:A|[[sleep:30]]]] [[spawn:B|[[sleep:30]]]]', {}, async (client, handle) => {
    await eventually(async () => (await sessionState(client, idOf(handle))).children.filter((c) => c.status === 'running').length === 2, waitOptions('running children'));
    await handle.cancel();
  }),
  // The same, recorded since a cancelled root closes its children's queue first (patch
  // bamboo-root-closed-at-cancel); root-cancelled.json is kept as recorded before it.
  rootScenario('cancelled-closed-first', '[[spawn:A|[[sleep:30]]]] [[spawn:B|[[sleep:30]]]]', {}, async (client, handle) => {
    await eventually(async () => (await sessionState(client, idOf(handle))).children.filter((c) => c.status === 'running').length === 2, waitOptions('running children'));
    await handle.cancel();
  }),
  rootScenario('follow-up-and-manage', '[[spawn:Writer|draft]] [[tool:wait|{"seconds":1}]]', { idleTtlSecs: 4 }, async (client, handle) => {
    const id = idOf(handle);
    await eventually(async () => {
      const s = await sessionState(client, id);
      return s.phase === 'idle' && s.children.every((c) => c.status === 'completed');
    }, waitOptions('the first turn'));
    const [writer] = (await sessionState(client, id)).children;
    const send = JSON.stringify({ action: 'send_message', child_session_id: writer.childSessionId, message: 'add a summary' });
    await sendUserMessage(client, id, `[[tool:manage_children|{"action":"list"}]] [[tool:manage_children|${send}]]`);
  }),
  rootScenario('compacted', `BEGIN ${'long question '.repeat(3000)} END`, { transcriptBudgetBytes: 16 * 1024 }, async (client, handle) => {
    const id = idOf(handle);
    await eventually(async () => (await sessionState(client, id)).lastRunStatus === 'completed', waitOptions('the first turn'));
    await sendUserMessage(client, id, 'after compaction');
  }),
  rootScenario('undecodable-signal', 'hello', { idleTtlSecs: 3 }, async (client, handle) => {
    const id = idOf(handle);
    await eventually(async () => (await sessionState(client, id)).lastRunStatus === 'completed', waitOptions('the first turn'));
    // A payload no worker can decode, then a valid message: the first is rejected, the second answered.
    await client.workflowService.signalWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId: handle.workflowId },
      signalName: 'userMessage',
      input: { payloads: [{ metadata: { encoding: new TextEncoder().encode('binary/unknown') }, data: new TextEncoder().encode('?') }] },
    });
    await sendUserMessage(client, id, 'and a readable one');
  }),
  // Reconciliation: children that could not report, and follow-ups that missed a closing run.
  rootScenario('child-terminated', '[[spawn:Long|[[sleep:60]] long]] [[spawn:Quick|quick]]', {}, async (client, handle) => {
    const long = await theLongChild(client, idOf(handle), 2);
    await client.workflow.getHandle(sessionWorkflowId(long)).terminate('operator');
  }),
  rootScenario('adopted-child-terminated', '[[spawn:Long|[[sleep:60]] long]] [[spawn:Quick|[[sleep:1]] q]] [[spawn:Later|[[sleep:3]] l]]', { historyEventBudget: 20 }, async (client, handle) => {
    const long = await theLongChild(client, idOf(handle), 3);
    await eventually(async () => {
      const runs: string[] = [];
      for await (const run of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(run.runId);
      return runs.length > 1;
    }, waitOptions('continue-as-new'));
    await client.workflow.getHandle(sessionWorkflowId(long)).terminate('operator');
  }),
  rootScenario('follow-up-to-open-run', '[[spawn:Writer|draft]]', { idleTtlSecs: 6 }, async (client, handle) => {
    const id = idOf(handle);
    await eventually(async () => (await sessionState(client, id)).children[0]?.status === 'completed', waitOptions('the first child run'));
    const writer = (await sessionState(client, id)).children[0].childSessionId;
    await startChildRun(client, { parentSessionId: id, childSessionId: writer, model: 'scripted-model', appendMessages: ['[[sleep:2]] outside'] }, { taskQueue: (await handle.describe()).taskQueue });
    const send = JSON.stringify({ action: 'send_message', child_session_id: writer, message: 'the follow-up' });
    await sendUserMessage(client, id, `[[tool:manage_children|${send}]]`);
  }),
  followUpToClosingRunScenario(),
  childScenario('continued-as-new', () => ({ ...child('[[rounds:4|get_current_time|{}]] long run'), spawnOptions: { historyEventBudget: 20 } })),
  // A child whose grandchild reports early continues-as-new once it is quiet, carrying the
  // grandchild (patch bamboo-child-with-children-continue-as-new). Rounds of 1 s outlast the
  // grandchild. histories/child-continued-as-new-with-grandchild-before-patch.json is the same
  // scenario recorded before the patch (one run): it is not re-recorded, it proves the old path replays.
  childScenario('continued-as-new-with-grandchild', () => ({
    ...child('[[spawn:Digger|dig]] [[rounds:6|wait|{"seconds":1}]] long run'),
    spawnOptions: { maxSpawnDepth: 2, historyEventBudget: 40 },
  })),
  // A continuation carried before bamboo-hold-starts-at-continue: a grandchild pending with no job
  // to start it. It ends with an error at once and the child finishes (patch bamboo-repair-orphaned-pending).
  childScenario('continued-with-orphaned-grandchild', () => {
    const job = child('write it up');
    const lost = { childSessionId: `${job.childSessionId}-lost`, title: 'Lost', status: 'pending' as const, reported: false, awaited: true, model: 'scripted-model' };
    const continuation = { round: 2, toolFailures: {}, startedAt: new Date().toISOString(), usage: { inputTokens: 0, outputTokens: 0 }, lastEventSeq: 0, injected: [], children: { children: [lost], seenCompletions: [], waiting: null } };
    return { ...job, spawnOptions: { maxSpawnDepth: 2 }, continuation };
  }),
  // Lean turns (patch bamboo-root-lean-turns): no deadline timer per turn, a turn's end in one
  // upsert, no upsert at the start of what the start set. Two turns and a child between them.
  rootScenario('lean-turns', '[[spawn:Helper|[[sleep:1]] work]] plan', { idleTtlSecs: 3 }, async (client, handle) => {
    const id = idOf(handle);
    await eventually(async () => (await sessionState(client, id)).children[0]?.status === 'completed', waitOptions('the child'));
    await eventually(async () => (await sessionState(client, id)).phase === 'idle', waitOptions('the resumed turn'));
    await sendUserMessage(client, id, 'and one more thing');
  }),
  // Summaries (patch bamboo-summarising-compaction; the recording worker gives `small-window` a
  // window of SUMMARY_WINDOW words): one at the threshold as turns add up; one after the model
  // refused a call for its length; and a call refused again after its summary (a clear error).
  summaryScenario('summary-at-threshold', [words('first', 40)], async (client, handle) => {
    for (let i = 1; i <= 5; i++) await answered(client, handle, words(`turn ${i}`, 40));
  }),
  summaryScenario('summary-after-refusal', [words('one', 120), 'noted one', words('two', 120), 'noted two', words('three', 120), 'noted three', words('four', 80)]),
  summaryScenario('summary-refused-again', [words('one', 60), 'noted one', words('huge', SUMMARY_WINDOW + 10)]),
  // The usage ledger: spend in completions and results, the usage search attributes (patched).
  childScenario('completed-with-usage', () => child('count my tokens')),
  rootScenario('usage-depth-2', '[[spawn:Lead|[[spawn:Helper|dig]] organise]] plan', { maxSpawnDepth: 2 }),
  // searchAttributes 'at-start' (issue 30): no run of the tree upserts its status or spend.
  { ...rootScenario('search-attributes-at-start', '[[spawn:Lead|[[spawn:Helper|dig]] organise]] [[spawn:Broken|[[fail:no call made]]]] plan', { maxSpawnDepth: 2, searchAttributes: 'at-start' }), withChildren: true },
  // Budgets: a spawn refused for want of child runs; a tree that runs out of tokens mid-way
  // (the root's next call and a child's are not made); a child that runs out of its share.
  rootScenario('budget-spawn-refused', '[[spawn:A|a]] [[spawn:B|b]] go', { budget: { maxSessions: 1 } }),
  rootScenario('budget-exhausted', '[[spawn:Lead|[[spawn:Helper|dig deep]] organise the work]] plan it all', { maxSpawnDepth: 2, budget: { maxTokens: 45 } }),
  // Requests for a person (the recording worker's policy: get_current_time is `ask` in spawned
  // children, ask_user allowed) and steering.
  { ...rootScenario('approval-approved', DEEP_ASK, { maxSpawnDepth: 2 }, answerFirstRequest({ decision: 'approve', reason: 'go ahead' })), withChildren: true },
  rootScenario('approval-denied', '[[spawn:Helper|[[tool:get_current_time|{}]] now]] go', {}, answerFirstRequest({ decision: 'deny', reason: 'not today' })),
  { ...rootScenario('approval-expired', '[[spawn:Helper|[[tool:get_current_time|{}]] now]] go', { requestTimeoutSecs: 1 }), withChildren: true },
  // A request left past its expiry by a grandchild whose run, and its parent's, were terminated:
  // the root expires it itself (patch bamboo-root-expires-stale-requests).
  rootScenario('stale-request-expired-by-root', DEEP_ASK, { maxSpawnDepth: 2, requestTimeoutSecs: 2, idleTtlSecs: 20 }, async (client, handle) => {
    const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], waitOptions('a pending request'));
    const lead = (await handle.query(stateQuery)).children[0]!.childSessionId;
    await client.workflow.getHandle(sessionWorkflowId(lead)).terminate('gone');
    await client.workflow.getHandle(sessionWorkflowId(request.sessionId)).terminate('gone');
    await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.length === 0, { ...waitOptions('the root to expire the request'), timeoutMs: 60_000 });
  }),
  { ...rootScenario('ask-user-answered', '[[spawn:Asker|[[tool:ask_user|{"question":"Which colour?"}]] pick]] go', {}, answerFirstRequest({ decision: 'answer', text: 'blue' })), withChildren: true },
  rootScenario(
    'approval-across-continue-as-new',
    DEEP_ASK,
    { maxSpawnDepth: 2, historyEventBudget: 20 },
    answerFirstRequest({ decision: 'approve' }, async (client, handle) => {
      await eventually(async () => {
        let runs = 0;
        for await (const run of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs += run ? 1 : 0;
        return runs > 1;
      }, waitOptions('continue-as-new'));
    }),
  ),
  {
    ...rootScenario('steered', '[[spawn:Writer|[[sleep:3]] draft]] go', { idleTtlSecs: 4 }, async (client, handle) => {
    const writer = await eventually(async () => (await handle.query(stateQuery)).children.find((c) => c.status === 'running'), waitOptions('the child to run'));
    await client.workflow.getHandle(sessionWorkflowId(writer.childSessionId)).executeUpdate(steerUpdate, { args: [{ content: 'add a title' }] });
    await handle.executeUpdate(steerUpdate, { args: [{ content: 'and a summary' }] });
  }),
    withChildren: true,
  },
  // MCP tools (server-everything over stdio in the recording worker): a round trip, progress,
  // a denied tool called anyway, an `ask` tool approved at the root, a cancel mid-call.
  childScenario('completed-mcp-echo', () => child('[[tool:mcp__everything__echo|{"message":"hi"}]] echo it')),
  childScenario('completed-mcp-progress', () => child('[[tool:mcp__everything__trigger-long-running-operation|{"duration":2,"steps":4}]] wait for it')),
  childScenario('completed-mcp-denied', () => child('[[tool:mcp__everything__get-env|{}]] env?')),
  childScenario('cancelled-mcp-call', () => child('[[tool:mcp__everything__trigger-long-running-operation|{"duration":30,"steps":30}]] slow'), async (client, handle) => {
    await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'runTool'), waitOptions('the MCP call'));
    await cancelSession(client, idOf(handle));
  }),
  { ...rootScenario('mcp-ask-approved', '[[spawn:Adder|[[tool:mcp__everything__get-sum|{"a":1,"b":2}]] add]] go', {}, answerFirstRequest({ decision: 'approve' })), withChildren: true },
  // Issue 25: a spawn queued in the round that ended the run is cancelled, not started after the
  // report (its model called a denied tool three times in that round); a grandchild whose run
  // was terminated leaves no request pending at the root; a message that reached a run after its
  // report is counted in a report again.
  childScenario('error-queued-grandchild-cancelled', () => {
    const denied = '[[tool:mcp__everything__get-env|{}]]';
    return { ...child(`[[spawn:Helper|hello]] ${denied} ${denied} ${denied} work`), spawnOptions: { maxSpawnDepth: 2 } };
  }),
  {
    ...rootScenario('grandchild-terminated-with-request', DEEP_ASK, { maxSpawnDepth: 2 }, async (client, handle) => {
      const request = await eventually(async () => (await handle.query(stateQuery)).pendingRequests?.[0], waitOptions('a pending request'));
      await client.workflow.getHandle(sessionWorkflowId(request.sessionId)).terminate('stuck');
    }),
    withChildren: true,
  },
  lateMessageScenario(),
  steerWhileNoticeScenario(),
  holdStartsScenario(),
  holdStartsScenario('steer'),
  upgradeScenario(),
  // A request that expired, carried across continue-as-new with its reason (a later respond is
  // refused as expired, not as answered).
  {
    ...rootScenario('approval-expired-then-continue-as-new', '[[spawn:Helper|[[tool:get_current_time|{}]] now]] go', { requestTimeoutSecs: 1, historyEventBudget: 20, idleTtlSecs: 4 }, async (client, handle) => {
      const id = idOf(handle);
      await eventually(async () => (await sessionState(client, id)).children[0]?.status === 'completed', waitOptions('the child to end'));
      await sendUserMessage(client, id, 'after the expiry');
    }),
    withChildren: true,
  },
  childScenario('error-budget-exceeded', () => ({ ...child('[[rounds:3|get_current_time|{}]] keep going'), spawnOptions: { budget: { maxTokens: 20 } } })),
  {
    name: 'root-failed-invalid-input',
    start: (client, taskQueue) =>
      client.workflow.start('sessionWorkflow', {
        taskQueue,
        workflowId: sessionWorkflowId('bad-root'),
        args: [{ session: { ...rootSession('x'), kind: 'child' } }],
      }),
  },
  // External agents and the person behind the root (patched: bamboo-external-questions,
  // bamboo-external-follow-ups). Recorded before those patches and not re-recorded, to prove
  // the old paths replay: histories/child-external-question-before-patch.json (the agent's
  // question ended the run) and child-external-injected-message-before-patch.json (the
  // injected message was left unanswered for the parent).
  externalQuestionScenario('external-question-answered', { decision: 'answer', text: 'Paris' }),
  externalQuestionScenario('external-question-expired', undefined, { requestTimeoutSecs: 1 }),
  externalInjectedScenario(),
];
