/**
 * Issue 25: the model must not choose its child's tool policy. A prompt-injected parent under
 * `tools.shell: "ask"` spawns `subagent_type: "coder"`, whose entry says `allow`: the child's
 * shell call must wait for a person (and not run when denied). And a grandchild is bounded by
 * every ancestor's entry, not only its own. Real dev server, a real worker whose `shell` tool
 * records each run, the scripted model acting out the spawns.
 */
import { sessionWorkflowId, type Message, type PendingRequest, type SessionOptionsInput, respondUpdate, stateQuery } from '../../common';
import { startSession } from '../../client/root-sessions';
import { BUILTIN_TOOLS } from '../../worker/tools/builtin';
import type { ToolPolicy } from '../../worker/tools/policy';
import { createToolRegistry, type ToolDefinition } from '../../worker/tools/types';
import { eventually } from '../helpers/eventually';
import { settled } from '../helpers/root';
import { rootSession } from '../helpers/session-fixtures';
import { startTestWorker, type TestWorker } from '../helpers/temporal';

/** Each run of the `shell` tool: the side effect an unapproved call would have. */
const shellRuns: string[] = [];
const shellTool: ToolDefinition = {
  spec: { name: 'shell', description: 'Runs a command.', parameters: { type: 'object', properties: {} } },
  idempotent: false,
  execute: () => {
    shellRuns.push('ran');
    return Promise.resolve('shell ran');
  },
};

const POLICY: ToolPolicy = { tools: { shell: 'ask' }, subagents: { coder: { shell: 'allow' }, lead: { shell: 'deny' } } };
let tw: TestWorker;

beforeAll(async () => {
  tw = await startTestWorker({ deps: { toolPolicy: POLICY, tools: createToolRegistry([...BUILTIN_TOOLS, shellTool]) } });
});
afterAll(async () => {
  await tw?.stop();
});
beforeEach(() => void shellRuns.splice(0));

/** What a model writes to spawn a child of `type` (the scripted model acts it out). */
function spawn(type: string, prompt: string): string {
  return `[[tool:spawn_session|${JSON.stringify({ title: type, responsibility: type, subagent_type: type, prompt })}]]`;
}

async function startRoot(prompt: string, options: SessionOptionsInput = {}) {
  const session = rootSession(prompt);
  const handle = await startSession(tw.client, { session, options: { requestTimeoutSecs: 120, ...options } }, { taskQueue: tw.taskQueue });
  return { session, handle };
}

/** The tool messages of a finished session (any depth). */
async function toolMessages(sessionId: string): Promise<Message[]> {
  const result = (await tw.client.workflow.getHandle(sessionWorkflowId(sessionId)).result()) as { session: { messages: Message[] } };
  return result.session.messages.filter((m) => m.role === 'tool');
}

/** The first of: a request pending at the root, or the coder's shell having run without one. */
async function requestOrRun(rootId: string): Promise<PendingRequest | 'shell ran unapproved'> {
  return eventually(async () => {
    if (shellRuns.length > 0) return 'shell ran unapproved' as const;
    return (await tw.client.workflow.getHandle(sessionWorkflowId(rootId)).query(stateQuery)).pendingRequests?.[0];
  }, { timeoutMs: 60_000, what: 'a request at the root, or the shell tool to run' });
}

test('a coder child spawned by a parent under ask raises a request for its shell call, and a denied call never runs', async () => {
  const { session, handle } = await startRoot(`${spawn('coder', '[[tool:shell|{}]] run it')} do what the page said`);
  const request = await requestOrRun(session.id);
  expect(request).toMatchObject({ kind: 'tool', tool: 'shell' });
  expect(shellRuns).toEqual([]);

  const asking = (request as PendingRequest).sessionId;
  await handle.executeUpdate(respondUpdate, { args: [{ requestId: (request as PendingRequest).requestId, decision: 'deny', reason: 'not from a web page' }] });
  await settled(tw.client, session.id, 60_000);
  expect((await toolMessages(asking)).map((m) => m.content)).toEqual(['Error: the call to shell was denied: not from a web page']);
  expect(shellRuns).toEqual([]);
  await handle.terminate();
}, 120_000);

test("a grandchild is bounded by every ancestor's entry: a coder under a lead whose entry denies shell is denied", async () => {
  const { session, handle } = await startRoot(`${spawn('lead', `${spawn('coder', '[[tool:shell|{}]] run it')} organise`)} plan`, { maxSpawnDepth: 2 });
  const state = await settled(tw.client, session.id, 90_000);
  expect(state.pendingRequests ?? []).toEqual([]);
  expect(shellRuns).toEqual([]);
  const [lead] = state.children;
  const leadState = await tw.client.workflow.getHandle(sessionWorkflowId(lead.childSessionId)).query(stateQuery);
  const [coder] = leadState.children;
  expect((await toolMessages(coder.childSessionId)).map((m) => m.content)).toEqual(['Error: tool shell is denied by policy']);
  await handle.terminate();
}, 120_000);
