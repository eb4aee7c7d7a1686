/**
 * 5 · External runner death: the A2A agent process SIGKILLed mid-task (and unreachable from
 * the start), a subprocess agent that crashes, one that hangs — each must end with a clear
 * terminal status (no hang) and leave no agent process behind. Also: the worker SIGKILLed
 * while a subprocess agent runs: its guard ends the agent's process group.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ProgressDetails } from '../../../common';
import { startChildRun } from '../../../client/child-runs';
import { sessionIdFromWorkflowId, type ChildRunResult, type RunStatus } from '../../../common';
import { createA2ARunner } from '../../../worker/runners/a2a';
import { createSubprocessRunner } from '../../../worker/runners/subprocess';
import type { ExternalRunner } from '../../../worker/runners/types';
import { receivedCompletionsQuery } from '../../workflows/recording-parent';
import { childSession, spawnJobFor } from '../../helpers/session-fixtures';
import { startRecordingParent, startTestWorker, uniqueId, type RecordingParentHandle, type TestWorker } from '../../helpers/temporal';
import { clientFor, mainServer, useQueue } from '../support/context';
import { A2A_TOKEN_ENV, RELIABILITY_OUT, ROOT } from '../support/paths';
import { startWorkerProcess } from '../../helpers/worker-process';
import { startA2AAgentProcess } from '../support/processes';
import { beginScenario, finishScenario, recordBug } from '../support/summary';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { sleep, within } from '../support/util';
import { isRunning, type ManagedProcess } from '../../helpers/processes';

const AGENTS = resolve(ROOT, 'test', 'fixtures', 'agents');
const PID_DIR = join(RELIABILITY_OUT, 'agent-pids');

function recordedPids(sessionId: string): { role: string; pid: number }[] {
  const file = join(PID_DIR, sessionId);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [role, pid] = line.split(' ');
    return { role, pid: Number(pid) };
  });
}


/** Agent processes of a session still running after `graceMs`. */
async function leftovers(sessionId: string, graceMs = 15_000): Promise<number[]> {
  const pids = recordedPids(sessionId).map((r) => r.pid);
  await eventuallyOrUndefined(async () => pids.every((p) => !isRunning(p)), { timeoutMs: graceMs, intervalMs: 500 });
  return pids.filter(isRunning);
}

function externalMetadata(agentId: string, protocol: 'a2a_jsonrpc' | 'subprocess', extra: Record<string, string> = {}) {
  return { 'runtime.kind': 'external', 'external.protocol': protocol, 'external.agent_id': agentId, ...extra };
}

export function externalRunnersScenario(): void {
  describe('5 · external runner death', () => {
    let record: ReturnType<typeof beginScenario>;
    let tw: TestWorker;
    let parent: RecordingParentHandle;
    let parentSessionId: string;
    let agent: { agentCardUrl: string; process: ManagedProcess };
    const outcomes: Record<string, string> = {};
    let failures = 0;
    let expected = 0;

    beforeAll(async () => {
      record = beginScenario('5-external-runners', 'external runner death: A2A killed, agent crash/hang');
      mkdirSync(PID_DIR, { recursive: true });
      agent = await startA2AAgentProcess(process.env[A2A_TOKEN_ENV]);
      const subprocess = (agentId: string, script: string) =>
        createSubprocessRunner({ agentId, protocol: 'subprocess', command: join(AGENTS, script), killGraceSecs: 2, env: { AGENT_PID_DIR: PID_DIR } });
      const runners: ExternalRunner[] = [
        createA2ARunner({ agentId: 'rel-a2a', protocol: 'a2a_jsonrpc', agentCardUrl: agent.agentCardUrl, authTokenEnv: A2A_TOKEN_ENV, requestTimeoutSecs: 10 }),
        subprocess('crashing', 'crashing-agent.mjs'),
        subprocess('stalling', 'stalling-agent.mjs'),
      ];
      tw = await startTestWorker({ deps: { runners } });
      useQueue(mainServer(), tw.taskQueue, record.id);
      parent = await startRecordingParent(tw.client, tw.taskQueue);
      parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
    });
    afterAll(async () => {
      record.details.outcomes = outcomes;
      finishScenario(record, failures === 0 && Object.keys(outcomes).length === expected);
      await parent?.terminate().catch(() => undefined);
      await tw?.stop();
      await agent?.process.kill('SIGKILL');
    });

    /** Runs a child to its end (or reports a hang), checks one completion at the parent. */
    async function run(name: string, prompt: string, metadata: Record<string, string>, during?: (workflowId: string) => Promise<void>) {
      const session = childSession(prompt, { parentSessionId, metadata });
      const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
      record.runs += 1;
      await during?.(handle.workflowId);
      const ended = await within(handle.result(), 150_000);
      if (!ended || 'error' in ended) {
        record.lost += 1;
        outcomes[name] = ended ? `workflow failed: ${String(ended.error)}` : 'HUNG (no result within 150 s)';
        throw new Error(`${name}: ${outcomes[name]}`);
      }
      const result: ChildRunResult = ended.value;
      outcomes[name] = `${result.status}: ${result.error ?? ''}`;
      const got = await eventuallyOrUndefined(async () => {
        const c = (await parent.query(receivedCompletionsQuery)).filter((x) => x.childSessionId === session.id);
        return c.length ? c : undefined;
      }, { timeoutMs: 20_000, intervalMs: 500 });
      await sleep(500);
      const all = (await parent.query(receivedCompletionsQuery)).filter((x) => x.childSessionId === session.id);
      if (!got) record.lost += 1;
      if (all.length > 1) record.duplicated += all.length - 1;
      expect(all).toHaveLength(1);
      return { session, result };
    }

    async function runnerEvents(workflowId: string): Promise<number> {
      const description = await tw.client.workflow.getHandle(workflowId).describe();
      const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'runExternalChild');
      const payload = activity?.heartbeatDetails?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload<ProgressDetails>(payload).events : 0;
    }

    const terminal = (status: RunStatus) => ['timeout', 'error'].includes(status);

    const guarded = (name: string, body: () => Promise<void>) =>
      test(`5 · ${name}`, async () => {
        expected += 1;
        try {
          await body();
        } catch (error) {
          failures += 1;
          throw error;
        }
      }, 240_000);

    guarded('the A2A agent process SIGKILLed mid-task → timeout or error, no hang', async () => {
      const { result } = await run('A2A agent killed mid-task', 'hang', externalMetadata('rel-a2a', 'a2a_jsonrpc', { 'child_watchdog.max_idle_secs': '5' }), async (workflowId) => {
        await eventuallyOrUndefined(async () => (await runnerEvents(workflowId)) >= 3, { timeoutMs: 60_000, intervalMs: 500 });
        await agent.process.kill('SIGKILL');
        record.faults += 1;
      });
      expect(terminal(result.status)).toBe(true);
      expect(result.error).toBeTruthy();
    });

    guarded('the A2A agent unreachable from the start → timeout or error, no hang', async () => {
      const { result } = await run('A2A agent unreachable', 'stream:2', externalMetadata('rel-a2a', 'a2a_jsonrpc', { 'child_watchdog.max_total_secs': '20', 'child_watchdog.max_idle_secs': '5' }));
      record.faults += 1;
      expect(terminal(result.status)).toBe(true);
      expect(result.error).toBeTruthy();
    });

    guarded('a subprocess agent that crashes → error with its exit code, no process left', async () => {
      const { session, result } = await run('subprocess agent crashes', 'do it', externalMetadata('crashing', 'subprocess'));
      record.faults += 1;
      expect(result.status).toBe('error');
      expect(result.error).toContain('exited with code 3');
      expect(recordedPids(session.id)).toHaveLength(1);
      expect(await leftovers(session.id)).toEqual([]);
    });

    guarded('a subprocess agent that hangs (max_idle 2 s) → idle timeout, no process left', async () => {
      const { session, result } = await run('subprocess agent hangs', 'take your time', externalMetadata('stalling', 'subprocess', { 'child_watchdog.max_idle_secs': '2' }));
      record.faults += 1;
      expect(result.status).toBe('timeout');
      expect(result.error).toMatch(/^Child session idle timeout after \d+ seconds without events \(max_idle_secs=2\)$/);
      expect(await leftovers(session.id)).toEqual([]);
    });

    // SIGKILL of the worker cannot run the runner's cleanup, and the agent leads its own
    // process group (detached); the agent's guard process ends the group when the worker dies
    // (worker/runners/process-guard.ts). The run is retried on the new worker and ends clearly.
    guarded('the worker SIGKILLed while a subprocess agent runs leaves no agent process behind', async () => {
      const config = join(RELIABILITY_OUT, 'external-worker.config.json');
      writeFileSync(config, JSON.stringify({
        externalAgents: [{ protocol: 'subprocess', agentId: 'tree', command: join(AGENTS, 'sleepy-tree-agent.mjs'), killGraceSecs: 2, env: { AGENT_PID_DIR: PID_DIR } }],
      }));
      const server = mainServer();
      const taskQueue = useQueue(server, uniqueId('rel-orphan'), record.id);
      const client = await clientFor(server.address, server.namespace);
      const workers: ManagedProcess[] = [];
      let orphans: number[] = [];
      try {
        workers.push(await startWorkerProcess({ address: server.address, taskQueue, env: { BAMBOO_CONFIG: config }, label: 'orphan-worker-1' }));
        const parentHandle = await startRecordingParent(client, taskQueue);
        const session = childSession('start a background job', {
          parentSessionId: sessionIdFromWorkflowId(parentHandle.workflowId)!,
          metadata: externalMetadata('tree', 'subprocess', { 'child_watchdog.max_idle_secs': '3' }),
        });
        const handle = await startChildRun(client, spawnJobFor(session), { taskQueue });
        record.runs += 1;
        await eventuallyOrUndefined(async () => recordedPids(session.id).some((r) => r.role === 'grandchild'), { timeoutMs: 60_000, intervalMs: 500 });
        const firstAttempt = recordedPids(session.id).map((r) => r.pid);
        await workers[0].kill('SIGKILL');
        record.faults += 1;
        workers.push(await startWorkerProcess({ address: server.address, taskQueue, env: { BAMBOO_CONFIG: config }, label: 'orphan-worker-2' }));
        const ended = await within(handle.result(), 150_000);
        const result = ended && 'value' in ended ? ended.value : undefined;
        outcomes['worker SIGKILLed during a subprocess agent'] = result ? `${result.status}: ${result.error ?? ''}` : 'no result';
        await parentHandle.terminate().catch(() => undefined);
        await sleep(3000);
        orphans = firstAttempt.filter(isRunning);
        recordBug({
          id: 'orphaned-agent-on-worker-kill',
          title: 'a SIGKILLed worker left its subprocess agent (and the agent\'s children) running; fixed: a guard process ends the group when the worker dies',
          where: 'worker/runners/subprocess.ts runAgent, worker/runners/process-guard.ts',
          reproduced: orphans.length > 0,
          evidence: `run ended ${result?.status ?? '?'}; ${orphans.length} of ${firstAttempt.length} processes of the killed worker's attempt still running`,
        });
        expect(result && terminal(result.status)).toBe(true);
        expect(orphans).toEqual([]);
      } finally {
        // End what the killed worker left behind: processes this test started, by pid.
        for (const pid of orphans) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      }
    });
  });
}

/** Every agent pid any test recorded (for the suite's final check). */
export function allAgentPids(): number[] {
  if (!existsSync(PID_DIR)) return [];
  return readdirSync(PID_DIR).flatMap((sessionId) => recordedPids(sessionId).map((r) => r.pid));
}
