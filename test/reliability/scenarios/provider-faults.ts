/**
 * 4 · Provider faults through a local server speaking the OpenAI wire format (SSE), with the
 * API key read from the environment by name: 429 with retry-after, 500/503 bursts, connection
 * resets mid-stream, a stalled stream, 401, 400, and a 400 for length with nothing to summarise. Each run must end retried-then-completed
 * or with a clear terminal status; the idle watchdog must fire on the stall.
 */
import { startChildRun } from '../../../client/child-runs';
import { startSession } from '../../../client/root-sessions';
import { sessionIdFromWorkflowId, type RunStatus } from '../../../common';
import { createConfiguredProvider } from '../../../worker/providers/configured';
import { createProviderRegistry } from '../../../worker/providers/router';
import { createScriptedProvider } from '../../../worker/providers/scripted';
import { receivedCompletionsQuery } from '../../workflows/recording-parent';
import { sessionState } from '../../helpers/root';
import { startLlmServer, type LlmServer, type Step } from '../../helpers/llm-server';
import { childSession, rootSession, spawnJobFor } from '../../helpers/session-fixtures';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../../helpers/temporal';
import { mainServer, useQueue } from '../support/context';
import { PROVIDER_KEY_ENV } from '../support/paths';
import { beginScenario, finishScenario } from '../support/summary';
import { eventuallyOrUndefined } from '../../helpers/eventually';
import { sleep, within } from '../support/util';

const PROVIDER = 'rel-openai';
const MODEL = 'gpt-rel';

interface FaultCase {
  name: string;
  steps: Step[];
  faults: number;
  metadata?: Record<string, string>;
  status: RunStatus;
  /** Expected error (exact string or pattern) for a non-completed run. */
  error?: string | RegExp;
  /** Expected model requests for the run. */
  requests: number;
  answer?: string;
}

const CASES: FaultCase[] = [
  {
    name: '429 with retry-after: 1',
    steps: [{ kind: 'status', status: 429, message: 'rate limited', headers: { 'retry-after': '1' } }, { kind: 'text', chunks: ['after ', '429'] }],
    faults: 1, status: 'completed', requests: 2, answer: 'after 429',
  },
  {
    name: '500',
    steps: [{ kind: 'status', status: 500, message: 'internal error' }, { kind: 'text', chunks: ['after 500'] }],
    faults: 1, status: 'completed', requests: 2, answer: 'after 500',
  },
  {
    name: 'a burst: 500, 503, 429 (retry-after-ms: 300), 502',
    steps: [
      { kind: 'status', status: 500, message: 'internal error' },
      { kind: 'status', status: 503, message: 'overloaded' },
      { kind: 'status', status: 429, message: 'slow down', headers: { 'retry-after-ms': '300' } },
      { kind: 'status', status: 502, message: 'bad gateway' },
      { kind: 'text', chunks: ['after the burst'] },
    ],
    faults: 4, status: 'completed', requests: 5, answer: 'after the burst',
  },
  {
    name: 'connection reset mid-stream',
    steps: [{ kind: 'disconnect', chunks: ['partial '] }, { kind: 'text', chunks: ['after reset'] }],
    faults: 1, status: 'completed', requests: 2, answer: 'after reset',
  },
  {
    name: 'two connection resets in a row',
    steps: [{ kind: 'disconnect', chunks: ['a '] }, { kind: 'disconnect', chunks: [] }, { kind: 'text', chunks: ['after two resets'] }],
    faults: 2, status: 'completed', requests: 3, answer: 'after two resets',
  },
  {
    name: 'a stream that stalls (max_idle 2 s)',
    steps: [{ kind: 'stall', first: 'thinking' }],
    metadata: { 'child_watchdog.max_idle_secs': '2' },
    faults: 1, status: 'timeout', requests: 1,
    error: /^Child session idle timeout after \d+ seconds without events \(max_idle_secs=2\)$/,
  },
  {
    name: '401',
    steps: [{ kind: 'status', status: 401, message: 'Incorrect API key provided' }],
    faults: 1, status: 'error', requests: 1, error: `${PROVIDER} returned HTTP 401: Incorrect API key provided`,
  },
  {
    name: '400',
    steps: [{ kind: 'status', status: 400, message: "Invalid value for 'temperature': must be at most 2" }],
    faults: 1, status: 'error', requests: 1, error: `${PROVIDER} returned HTTP 400: Invalid value for 'temperature': must be at most 2`,
  },
  {
    // Refused for length with nothing older to summarise (the brief alone): the clear error, no retry.
    name: '400 context length, one message',
    steps: [{ kind: 'status', status: 400, message: 'context length exceeded', code: 'context_length_exceeded' }],
    faults: 1, status: 'error', requests: 1,
    error: `The transcript does not fit the model's context window: ${PROVIDER} returned HTTP 400: context length exceeded; nothing older is left to summarise`,
  },
];

export function providerFaultsScenario(): void {
  describe('4 · provider faults', () => {
    let llm: LlmServer;
    let tw: TestWorker;
    let parent: RecordingParentHandle;
    let parentSessionId: string;
    let record: ReturnType<typeof beginScenario>;
    const outcomes: Record<string, string> = {};
    let failures = 0;

    beforeAll(async () => {
      record = beginScenario('4-provider-faults', 'provider faults: 429, 5xx, resets, stall, 401, 400');
      llm = await startLlmServer();
      const provider = createConfiguredProvider({ type: 'openai-compatible', name: PROVIDER, baseURL: `${llm.url}/v1`, apiKeyEnv: PROVIDER_KEY_ENV, models: [MODEL] });
      tw = await startTestWorker({ deps: { providers: createProviderRegistry([createScriptedProvider(), provider], 'scripted') } });
      useQueue(mainServer(), tw.taskQueue, record.id);
      parent = await startRecordingParent(tw.client, tw.taskQueue);
      parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
    });
    afterAll(async () => {
      record.details.outcomes = outcomes;
      record.details.modelRequests = llm?.requests.length;
      record.notes.push('lost = runs that did not end in time or whose completion never reached the recording parent');
      finishScenario(record, failures === 0 && Object.keys(outcomes).length === CASES.length + 1);
      await parent?.terminate().catch(() => undefined);
      await tw?.stop();
      await llm?.stop();
    });

    for (const c of CASES) {
      test(`4 · ${c.name} → ${c.status}`, async () => {
        try {
          llm.script(...c.steps);
          const before = llm.requests.length;
          const session = childSession(`provider fault: ${c.name}`, { parentSessionId, model: MODEL, metadata: c.metadata ?? {} });
          const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
          record.runs += 1;
          record.faults += c.faults;
          const ended = await within(handle.result(), 180_000);
          if (!ended || 'error' in ended) {
            record.lost += 1;
            throw new Error(`run did not end cleanly: ${ended ? String(ended.error) : 'no result within 180 s'}`);
          }
          const result = ended.value;
          outcomes[c.name] = `${result.status}${result.error ? ` (${result.error})` : ''}, ${llm.requests.length - before} requests`;
          const completions = await eventuallyOrUndefined(async () => {
            const got = (await parent.query(receivedCompletionsQuery)).filter((x) => x.childSessionId === session.id);
            return got.length > 0 ? got : undefined;
          }, { timeoutMs: 20_000, intervalMs: 500 });
          await sleep(500);
          const all = (await parent.query(receivedCompletionsQuery)).filter((x) => x.childSessionId === session.id);
          if (!completions) record.lost += 1;
          if (all.length > 1) record.duplicated += all.length - 1;

          expect(result.status).toBe(c.status);
          if (c.error instanceof RegExp) expect(result.error).toMatch(c.error);
          else if (c.error) expect(result.error).toBe(c.error);
          if (c.answer) expect(result.session?.messages.at(-1)?.content).toBe(c.answer);
          expect(llm.requests.length - before).toBe(c.requests);
          // The key really went out (so the secrets scenario checks something real).
          expect(llm.requests[before].headers.authorization).toBe(`Bearer ${process.env[PROVIDER_KEY_ENV]}`);
          expect(all).toEqual([expect.objectContaining({ status: c.status, runId: handle.firstExecutionRunId })]);
        } catch (error) {
          failures += 1;
          throw error;
        }
      }, 240_000);
    }

    test('4 · a root session whose model call fails once (503) resumes and answers', async () => {
      try {
        llm.script({ kind: 'status', status: 503, message: 'overloaded' }, { kind: 'text', chunks: ['root ', 'answer'] });
        const session = { ...rootSession('provider fault at the root'), model: MODEL };
        const handle = await startSession(tw.client, { session }, { taskQueue: tw.taskQueue });
        record.runs += 1;
        record.faults += 1;
        const state = await eventuallyOrUndefined(async () => {
          const s = await sessionState(tw.client, session.id);
          return s.phase === 'idle' && s.lastRunStatus ? s : undefined;
        }, { timeoutMs: 120_000, intervalMs: 500 });
        outcomes['root session, 503 once'] = state ? `${state.lastRunStatus}` : 'did not settle';
        await handle.terminate().catch(() => undefined);
        expect(state?.lastRunStatus).toBe('completed');
      } catch (error) {
        failures += 1;
        throw error;
      }
    }, 240_000);
  });
}
