/**
 * A long child run — the reference's 200 rounds, each with a tool output at the 256 KiB cap —
 * stays clear of the server's history limit (50 MB): it continues-as-new between rounds, and
 * its parent gets one completion for the whole chain.
 */
import { startChildRun } from '../../client/child-runs';
import { sessionWorkflowId, type ChildRunResult } from '../../common';
import { createToolRegistry, type ToolDefinition } from '../../worker/tools/types';
import { withRecordingParent } from '../helpers/recording-suite';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';

const OUTPUT_CHARS = 256 * 1024;

const bigOutputTool: ToolDefinition = {
  spec: { name: 'big_output', description: 'Returns 256 KiB of text.', parameters: { type: 'object', properties: {}, additionalProperties: false } },
  idempotent: true,
  execute: () => Promise.resolve('x'.repeat(OUTPUT_CHARS)),
};

const suite = withRecordingParent({ deps: { tools: createToolRegistry([bigOutputTool]) } });

test('200 rounds (199 tool calls returning 256 KiB, then the answer) finish well under the history limit, reporting once', async () => {
  const session = childSession('[[rounds:199|big_output|{}]] long haul', { parentSessionId: suite.parentSessionId });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: suite.tw.taskQueue });
  const result: ChildRunResult = await handle.result(); // follows the chain to its last run

  expect({ status: result.status, error: result.error }).toEqual({ status: 'completed', error: undefined });
  expect(result.session!.messages.at(-1)?.content).toBe('echo: long haul');
  const toolResults = result.session!.messages.filter((m) => m.role === 'tool');
  expect(toolResults).toHaveLength(199); // every round's result is in the transcript (compacted)

  const runs: { runId: string; status: string; bytes: number; events: number }[] = [];
  for await (const run of suite.tw.client.workflow.list({ query: `WorkflowId = "${sessionWorkflowId(session.id)}"` })) {
    const info = (await suite.tw.client.workflow.getHandle(run.workflowId, run.runId).describe()).raw.workflowExecutionInfo!;
    runs.push({ runId: run.runId, status: run.status.name, bytes: Number(info.historySizeBytes), events: Number(info.historyLength) });
  }
  const total = runs.reduce((n, r) => n + r.bytes, 0);
  console.log(`long child: ${runs.length} runs, history ${runs.map((r) => `${(r.bytes / 1e6).toFixed(1)} MB/${r.events} events`).join(', ')}; ${(total / 1e6).toFixed(1)} MB in all`);
  // In one run this history would pass the server's 50 MB limit (and the run be terminated).
  expect(total).toBeGreaterThan(50 * 1024 * 1024);
  expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBeGreaterThan(0);
  // Each run stays under the server's 10 MB warning, far from its limit.
  for (const run of runs) expect(run.bytes).toBeLessThan(10 * 1024 * 1024);

  const completions = await suite.completionsFor(session.id);
  expect(completions).toHaveLength(1);
  expect(completions[0]).toMatchObject({ status: 'completed', runId: handle.firstExecutionRunId, finalResponse: 'echo: long haul' });
}, 600_000);
