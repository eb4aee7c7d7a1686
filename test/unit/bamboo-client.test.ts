/**
 * BambooClient against a fake Temporal client (no server): what it sends, how many reads it has
 * in flight, and what it refuses before any RPC. The real round trips are in
 * test/integration/bamboo-client.test.ts.
 */
import type { Client } from '@temporalio/client';
import { BambooClient, BambooInputError, type SessionTreeNode } from '../../client/bamboo-client';
import { injectIntoSession } from '../../client/child-runs';
import { sendUserMessage } from '../../client/root-sessions';
import { MESSAGE_MAX_CHARS, sessionIdFromWorkflowId, type SessionRunState, type SessionUsage, type SessionWorkflowInput } from '../../common';

interface FakeSession {
  kind: 'root' | 'child';
  rootSessionId?: string;
  children?: string[];
  /** Its `state` and `usage` queries fail with this. */
  unreadable?: string;
}

/** A Temporal client whose workflows are `sessions`; it records every call and the queries in flight. */
function fakeClient(sessions: Record<string, FakeSession> = {}) {
  const calls: string[] = [];
  const started: SessionWorkflowInput[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const usage = (children: string[]): SessionUsage => ({
    self: { inputTokens: 1, outputTokens: 1 },
    children: children.map((id) => ({ childSessionId: id, usage: { inputTokens: 1, outputTokens: 1 }, costMicroUsd: 0, unpricedCalls: 0 })),
    subtree: { inputTokens: 1 + children.length, outputTokens: 1 + children.length },
    costMicroUsd: 0,
    unpricedCalls: 0,
    childRuns: children.length,
  });
  const state = (id: string, session: FakeSession): SessionRunState => ({
    sessionId: id,
    kind: session.kind,
    status: 'completed',
    phase: 'idle',
    lastRunStatus: 'completed',
    messageCount: 2,
    turn: 1,
    pendingInjectedMessages: 0,
    children: (session.children ?? []).map((childSessionId) => ({ childSessionId, status: 'completed' as const })),
    waiting: null,
  });
  const client = {
    workflow: {
      start: async (type: string, options: { args: [SessionWorkflowInput] }) => {
        calls.push(`start ${type}`);
        started.push(options.args[0]);
        return { firstExecutionRunId: 'run-1' };
      },
      getHandle: (workflowId: string) => {
        const id = sessionIdFromWorkflowId(workflowId)!;
        const session = sessions[id];
        return {
          query: async (definition: { name: string }) => {
            calls.push(`query ${definition.name} ${id}`);
            inFlight += 1;
            maxInFlight = Math.max(maxInFlight, inFlight);
            try {
              await new Promise((resolve) => setTimeout(resolve, 2));
              if (!session) throw new Error(`workflow not found: ${workflowId}`);
              if (session.unreadable) throw new Error(session.unreadable);
              if (definition.name === 'state') return state(id, session);
              if (definition.name === 'usage') return usage(session.children ?? []);
              if (definition.name === 'events') return [];
              throw new Error(`no query ${definition.name}`);
            } finally {
              inFlight -= 1;
            }
          },
          describe: async () => {
            calls.push(`describe ${id}`);
            if (!session) throw new Error(`workflow not found: ${workflowId}`);
            return {
              type: session.kind === 'root' ? 'sessionWorkflow' : 'childSessionWorkflow',
              status: { name: 'COMPLETED' },
              typedSearchAttributes: { get: (key: { name: string }) => (key.name === 'BambooRootSessionId' ? session.rootSessionId : undefined) },
            };
          },
          executeUpdate: async (definition: { name: string }) => {
            calls.push(`update ${definition.name} ${id}`);
            return { requestId: 'r-1', decision: 'approve', delivered: true };
          },
          signal: async (definition: { name: string }) => {
            calls.push(`signal ${definition.name} ${id}`);
          },
        };
      },
    },
  };
  return { client: client as unknown as Client, calls, started, maxInFlight: () => maxInFlight };
}

describe('startRootSession keeps the prompt and the instructions as given', () => {
  test('an indented code block and trailing newlines reach the session unchanged', async () => {
    const fake = fakeClient();
    const prompt = '    const x = 1;\n    return x;\n\n';
    const system = '\tYou answer in code.\n';
    await new BambooClient(fake.client).startRootSession({ prompt, system, model: ' m ' });
    const { session } = fake.started[0];
    expect(session.messages.map((m) => [m.role, m.content])).toEqual([
      ['system', system],
      ['user', prompt],
    ]);
    // Names are still trimmed; the default title is the prompt's text, without its blanks around.
    expect(session.model).toBe('m');
    expect(session.title).toBe('const x = 1;\n    return x;');
  });

  test('a prompt or instructions blank after trimming are still refused, with the same text', async () => {
    const fake = fakeClient();
    const bamboo = new BambooClient(fake.client);
    await expect(bamboo.startRootSession({ prompt: ' \n\t ', model: 'm' })).rejects.toThrow(new BambooInputError('invalid startRootSession: prompt: must be a non-empty string'));
    await expect(bamboo.startRootSession({ prompt: 'hi', system: '\n', model: 'm' })).rejects.toThrow(new BambooInputError('invalid startRootSession: system: must be a non-empty string'));
    await expect(bamboo.startRootSession({ prompt: 'hi', model: '  ' })).rejects.toThrow(new BambooInputError('invalid startRootSession: model: must be a non-empty string'));
    expect(fake.calls).toEqual([]);
  });
});

describe('tree()', () => {
  test('a 300-session tree is read with at most 8 queries in flight', async () => {
    const sessions: Record<string, FakeSession> = {};
    const mids = Array.from({ length: 20 }, (_, i) => `mid-${i}`);
    sessions.root = { kind: 'root', children: mids };
    for (const mid of mids) {
      const leaves = Array.from({ length: 14 }, (_, j) => `${mid}-leaf-${j}`);
      sessions[mid] = { kind: 'child', rootSessionId: 'root', children: leaves };
      for (const leaf of leaves) sessions[leaf] = { kind: 'child', rootSessionId: 'root' };
    }
    expect(Object.keys(sessions)).toHaveLength(301);
    const fake = fakeClient(sessions);
    const tree = await new BambooClient(fake.client).getSession('root').tree();
    const count = (node: SessionTreeNode): number => 1 + node.children.reduce((n, c) => n + count(c), 0);
    expect(count(tree)).toBe(301);
    expect(fake.calls.filter((c) => c.startsWith('query '))).toHaveLength(602);
    expect(fake.maxInFlight()).toBe(8);
    expect(JSON.stringify(tree)).not.toContain('unread');
  });

  test('a session whose state or usage cannot be read is kept, marked unread with the reason', async () => {
    const fake = fakeClient({
      root: { kind: 'root', children: ['broken', 'fine', 'never-started'] },
      broken: { kind: 'child', unreadable: 'no worker has this workflow type' },
      fine: { kind: 'child' },
    });
    const tree = await new BambooClient(fake.client).getSession('root').tree();
    expect(tree.unread).toBeUndefined();
    const [broken, fine, never] = tree.children;
    expect(broken).toEqual({
      sessionId: 'broken',
      status: 'completed',
      // What the root recorded for it.
      usage: { inputTokens: 1, outputTokens: 1 },
      costMicroUsd: 0,
      children: [],
      unread: true,
      unreadReason: 'state: no worker has this workflow type; usage: no worker has this workflow type',
    });
    expect(fine.unread).toBeUndefined();
    expect(never).toMatchObject({ sessionId: 'never-started', unread: true, unreadReason: expect.stringContaining('workflow not found') });
  });

  test("the session's own read failing throws", async () => {
    const fake = fakeClient({ root: { kind: 'root', unreadable: 'query timed out' } });
    await expect(new BambooClient(fake.client).getSession('root').tree()).rejects.toThrow('query timed out');
  });
});

describe('waitForIdle and events check their options before any query', () => {
  const bad: [string, object, RegExp][] = [
    ['waitForIdle', { pollMs: 0 }, /^invalid waitForIdle: pollMs: must be at least 10/],
    ['waitForIdle', { pollMs: 120_000 }, /^invalid waitForIdle: pollMs: must be at most 60000/],
    ['waitForIdle', { pollMs: Number.NaN }, /^invalid waitForIdle: pollMs: /],
    ['waitForIdle', { timeoutMs: -1 }, /^invalid waitForIdle: timeoutMs: must be at least 0/],
    ['waitForIdle', { timeoutMs: '5' }, /^invalid waitForIdle: timeoutMs: /],
    ['events', { afterSeq: Number.NaN }, /^invalid events: afterSeq: /],
    ['events', { afterSeq: -1 }, /^invalid events: afterSeq: must be at least 0/],
    ['events', { afterSeq: 1.5 }, /^invalid events: afterSeq: must be an integer/],
    ['events', { pollMs: 0 }, /^invalid events: pollMs: must be at least 10/],
    ['events', { signal: 'stop' }, /^invalid events: signal: must be an AbortSignal/],
  ];
  test.each(bad)('%s(%j) throws BambooInputError naming the field', async (method, options, message) => {
    const fake = fakeClient({ root: { kind: 'root' } });
    const handle = new BambooClient(fake.client).getSession('root');
    if (method === 'waitForIdle') {
      await expect(handle.waitForIdle(options as never)).rejects.toThrow(BambooInputError);
      await expect(handle.waitForIdle(options as never)).rejects.toThrow(message);
    } else {
      // Refused at the call, not at the first step of the iteration.
      expect(() => handle.events(options as never)).toThrow(BambooInputError);
      expect(() => handle.events(options as never)).toThrow(message);
    }
    expect(fake.calls).toEqual([]);
  });

  test('good options pass', async () => {
    const fake = fakeClient({ root: { kind: 'root' } });
    const handle = new BambooClient(fake.client).getSession('root');
    await expect(handle.waitForIdle({ timeoutMs: 0, pollMs: 10 })).resolves.toMatchObject({ phase: 'idle' });
    const controller = new AbortController();
    await expect(handle.events({ afterSeq: 0, pollMs: 60_000, signal: controller.signal }).next()).resolves.toEqual({ done: true, value: undefined });
  });
});

describe('respond and pendingRequests go to a root', () => {
  test("on a child's handle they fail naming the root, before any Update or query", async () => {
    const fake = fakeClient({ 'c-1': { kind: 'child', rootSessionId: 'r-1' } });
    const child = new BambooClient(fake.client).getSession('c-1');
    const expected = "goes to a root session: c-1 is a child session; use the root's handle (getSession('r-1'))";
    await expect(child.respond({ requestId: 'q-1', decision: 'approve' })).rejects.toThrow(new BambooInputError(`respond ${expected}`));
    await expect(child.pendingRequests()).rejects.toThrow(new BambooInputError(`pendingRequests ${expected}`));
    expect(fake.calls).toEqual(['describe c-1', 'describe c-1']);
  });

  test("a child whose root is not known yet is told to use its root's handle", async () => {
    const fake = fakeClient({ 'c-2': { kind: 'child' } });
    await expect(new BambooClient(fake.client).getSession('c-2').respond({ requestId: 'q-1', decision: 'deny' })).rejects.toThrow(
      "respond goes to a root session: c-2 is a child session; use its root's handle",
    );
  });

  test("on a root's handle the Update is sent after one describe", async () => {
    const fake = fakeClient({ 'r-1': { kind: 'root' } });
    const root = new BambooClient(fake.client).getSession('r-1');
    await expect(root.respond({ requestId: 'q-1', decision: 'approve' })).resolves.toMatchObject({ delivered: true });
    expect(fake.calls).toEqual(['describe r-1', 'update respond r-1']);
  });
});

describe('messages are bounded at the client (a run carries its queued messages across continue-as-new in one payload)', () => {
  const tooLong = 'x'.repeat(MESSAGE_MAX_CHARS + 1);
  test('send and steer refuse a message over MESSAGE_MAX_CHARS, naming the bound, before any RPC', async () => {
    const fake = fakeClient({ 'r-1': { kind: 'root' } });
    const root = new BambooClient(fake.client).getSession('r-1');
    await expect(root.send(tooLong)).rejects.toThrow(new BambooInputError(`invalid message: content: must be at most ${MESSAGE_MAX_CHARS} characters`));
    await expect(root.steer(tooLong)).rejects.toThrow(BambooInputError);
    await expect(root.send('   ')).rejects.toThrow('must be a non-empty string');
    expect(fake.calls).toEqual([]);
  });

  test('sendUserMessage and injectIntoSession (the functions the CLI and the tree page use) refuse it too', async () => {
    const fake = fakeClient({ 'r-1': { kind: 'root' }, 'c-1': { kind: 'child' } });
    await expect(sendUserMessage(fake.client, 'r-1', tooLong)).rejects.toThrow(`must be at most ${MESSAGE_MAX_CHARS} characters`);
    await expect(injectIntoSession(fake.client, 'c-1', tooLong)).rejects.toThrow(`must be at most ${MESSAGE_MAX_CHARS} characters`);
    expect(fake.calls).toEqual([]);
    await sendUserMessage(fake.client, 'r-1', 'x'.repeat(MESSAGE_MAX_CHARS));
    expect(fake.calls).toEqual(['signal userMessage r-1']);
  });
});
