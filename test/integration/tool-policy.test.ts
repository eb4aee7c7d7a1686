/**
 * The tool policy of the worker's configuration file, end to end: a real worker loaded from a
 * config file whose provider is a local OpenAI-wire server that records what it is offered.
 * Denied tools are not offered; a model that calls one anyway reads an error result and the
 * tool does not run; a subagent_type's entry makes a tool stricter for its sessions, and can
 * never allow what the base rules deny (issue 25).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionIdFromWorkflowId, type ModelTurnResult } from '../../common';
import { startChildRun } from '../../client/child-runs';
import { loadConfig, providersFromConfig } from '../../worker/config/load';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import { createToolRegistry, type ToolDefinition } from '../../worker/tools/types';
import { activityResults } from '../helpers/history-text';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';

let llm: LlmServer;
let tw: TestWorker;
let parent: RecordingParentHandle;
let parentSessionId: string;
/** Each run of the `shell` tool (its side effect). */
const shellRuns: Record<string, unknown>[] = [];

const shellTool: ToolDefinition = {
  spec: { name: 'shell', description: 'Runs a command.', parameters: { type: 'object', properties: { command: { type: 'string' } }, additionalProperties: false } },
  idempotent: false,
  execute: (args) => {
    shellRuns.push(args);
    return Promise.resolve('shell ran');
  },
};

beforeAll(async () => {
  process.env.TEST_POLICY_OPENAI_KEY = 'sk-test-policy';
  llm = await startLlmServer();
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-tool-policy-'));
  const file = join(dir, 'bamboo.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: [{ type: 'openai-compatible', name: 'local-openai', baseURL: `${llm.url}/v1`, apiKeyEnv: 'TEST_POLICY_OPENAI_KEY', models: ['gpt-test'] }],
      toolPolicy: { default: 'deny', tools: { get_current_time: 'allow' }, subagents: { ops: { shell: 'allow' }, writer: { get_current_time: 'deny' } } },
    }),
  );
  const config = loadConfig(file);
  tw = await startTestWorker({
    deps: { providers: providersFromConfig(config), tools: createToolRegistry([...BUILTIN_TOOLS, shellTool]), toolPolicy: config.toolPolicy },
  });
  parent = await startRecordingParent(tw.client, tw.taskQueue);
  parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
});
afterAll(async () => {
  await parent?.terminate().catch(() => undefined);
  await tw?.stop();
  await llm?.stop();
});
beforeEach(() => void shellRuns.splice(0));

async function runChild(prompt: string, metadata: Record<string, string> = {}) {
  const session = childSession(prompt, { parentSessionId, model: 'gpt-test', metadata });
  const handle = await startChildRun(tw.client, spawnJobFor(session), { taskQueue: tw.taskQueue });
  const result = await handle.result();
  const modelResults = activityResults<ModelTurnResult>(await handle.fetchHistory(), 'callModel');
  return { result, modelResults };
}

/** The tool names of a recorded chat-completions request. */
function offeredTools(index: number): string[] {
  const tools = llm.requests[index].body.tools as { function: { name: string } }[] | undefined;
  return (tools ?? []).map((t) => t.function.name).sort();
}

test('a denied tool is not offered to the model', async () => {
  llm.script({ kind: 'text', chunks: ['nothing to do'] });
  const before = llm.requests.length;
  const { result, modelResults } = await runChild('what can you do?');
  expect(result.status).toBe('completed');
  expect(offeredTools(before)).toEqual(['get_current_time']);
  expect(modelResults[0]).not.toHaveProperty('toolPolicy');
});

test('a model that calls a denied tool anyway reads an error result, and the tool does not run', async () => {
  llm.script({ kind: 'tool', name: 'shell', args: { command: 'rm -rf /' } }, { kind: 'text', chunks: ['I may not.'] });
  const { result, modelResults } = await runChild('clean up');
  expect(result.status).toBe('completed');
  const [call, toolResult, answer] = result.session!.messages.slice(-3);
  expect(call.toolCalls).toEqual([{ id: 'call_test_1', name: 'shell', arguments: { command: 'rm -rf /' } }]);
  expect(toolResult).toMatchObject({ role: 'tool', toolCallId: 'call_test_1', content: 'Error: tool shell is denied by policy' });
  expect(answer.content).toBe('I may not.');
  expect(shellRuns).toEqual([]);
  expect(modelResults.map((r) => r.toolPolicy)).toEqual([{ shell: 'deny' }, undefined]);
});

test("a subagent_type's entry cannot allow a tool the default denies: not offered, and not run when called anyway", async () => {
  llm.script({ kind: 'tool', name: 'shell', args: { command: 'uptime' } }, { kind: 'text', chunks: ['I may not.'] });
  const before = llm.requests.length;
  const { result, modelResults } = await runChild('how long has it been up?', { subagent_type: 'ops' });
  expect(result.status).toBe('completed');
  expect(offeredTools(before)).toEqual(['get_current_time']);
  const [, toolResult] = result.session!.messages.slice(-3);
  expect(toolResult).toMatchObject({ role: 'tool', toolCallId: 'call_test_1', content: 'Error: tool shell is denied by policy' });
  expect(shellRuns).toEqual([]);
  expect(modelResults.map((r) => r.toolPolicy)).toEqual([{ shell: 'deny' }, undefined]);
});

test("a subagent_type's entry makes a tool stricter for its sessions only", async () => {
  llm.script({ kind: 'text', chunks: ['ok'] }, { kind: 'text', chunks: ['ok'] });
  const before = llm.requests.length;
  const { result } = await runChild('anything?', { subagent_type: 'writer' });
  expect(result.status).toBe('completed');
  expect(offeredTools(before)).toEqual([]);
  await runChild('and you?', { subagent_type: 'ops' });
  expect(offeredTools(before + 1)).toEqual(['get_current_time']);
});
