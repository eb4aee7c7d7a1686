/**
 * BambooClient (issue 26) against a real dev server and worker: a bad input fails before any
 * RPC, naming the field; a root started from a prompt runs a tree; its handle sends, steers,
 * answers a request for a person, follows events, reads the tree and cancels.
 */
import { Client, Connection } from '@temporalio/client';
import { BambooClient, BambooInputError, UpdateRejectedError } from '../../client';
import { eventually } from '../helpers/eventually';
import { startTestWorker, uniqueId, type TestWorker } from '../helpers/temporal';

let tw: TestWorker;
let bamboo: BambooClient;

beforeAll(async () => {
  tw = await startTestWorker({ deps: { toolPolicy: { tools: { get_current_time: 'ask' } } } });
  bamboo = new BambooClient(tw.client, { taskQueue: tw.taskQueue });
});
afterAll(async () => {
  await tw?.stop();
});

test('a bad input throws BambooInputError naming the field, before any RPC', async () => {
  // A client whose connection goes nowhere: any RPC would hang or fail otherwise.
  const nowhere = new BambooClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }));
  await expect(nowhere.startRootSession({ prompt: '  ', model: 'm' })).rejects.toThrow(new BambooInputError('invalid startRootSession: prompt: must be a non-empty string'));
  await expect(nowhere.startRootSession({ prompt: 'hi', model: 'm', options: { maxRunningChildren: 0 } })).rejects.toThrow(
    /^invalid startRootSession: options\.maxRunningChildren: Too small/,
  );
  await expect(nowhere.startRootSession({ prompt: 'hi', model: 'm', colour: 'green' } as never)).rejects.toThrow('invalid startRootSession: (input): Unrecognized key: "colour"');
  expect(() => nowhere.getSession('')).toThrow(BambooInputError);
  await expect(nowhere.getSession('s-1').respond({ requestId: 'r', decision: 'maybe' } as never)).rejects.toThrow(/^invalid respond: decision: /);
  await expect(nowhere.getSession('s-1').send('')).rejects.toThrow('invalid message: content: must be a non-empty string');
  expect(() => new BambooClient(tw.client, { taskQueue: ' ' })).toThrow('invalid taskQueue: (input): must be a non-empty string');
  await expect(nowhere.getSession('s-1').waitForIdle({ pollMs: 0 })).rejects.toThrow(/^invalid waitForIdle: pollMs: must be at least 10/);
  expect(() => nowhere.getSession('s-1').events({ afterSeq: Number.NaN })).toThrow(/^invalid events: afterSeq: /);
});

test('start from a prompt, follow its events, wait until idle, read the tree; a follow-up goes to the same session', async () => {
  const session = await bamboo.startRootSession({
    sessionId: uniqueId('lib'),
    model: 'scripted-model',
    // Kept as given: the indentation and the trailing newline are part of the text.
    system: '  You are terse.\n',
    prompt: 'organise [[spawn:Helper|help out]]',
    metadata: { team: 'docs' },
  });
  const seen: string[] = [];
  const controller = new AbortController();
  const following = (async () => {
    for await (const event of session.events({ signal: controller.signal, pollMs: 100 })) seen.push(event.type);
  })();
  const state = await session.waitForIdle({ timeoutMs: 60_000 });
  expect(state.lastRunStatus).toBe('completed');
  const tree = await session.tree();
  expect(tree.children).toEqual([expect.objectContaining({ status: 'completed', children: [] })]);
  expect(tree.children[0].unread).toBeUndefined();
  expect(tree.usage.inputTokens).toBeGreaterThan(tree.children[0].usage.inputTokens);
  const transcript = await session.transcript();
  expect(transcript[0]).toMatchObject({ role: 'system', content: '  You are terse.\n' });

  await expect(session.send('and now?')).resolves.toEqual({ delivery: 'user-message' });
  await session.waitForIdle({ timeoutMs: 60_000 });
  await eventually(async () => (await session.transcript()).some((m) => m.role === 'assistant' && m.content === 'echo: and now?'), { timeoutMs: 30_000, what: 'the follow-up answered' });
  controller.abort();
  await following;
  expect(seen).toContain('execution_started');
});

test('a request for a person anywhere in the tree is answered through the root’s handle; a second answer is refused', async () => {
  const session = await bamboo.startRootSession({ model: 'scripted-model', prompt: '[[spawn:Asker|[[tool:get_current_time|{}]] what time is it]] plan' });
  const [request] = await eventually(async () => {
    const pending = await session.pendingRequests();
    return pending.length > 0 ? pending : undefined;
  }, { timeoutMs: 60_000, what: 'a pending request' });
  expect(request).toMatchObject({ kind: 'tool', tool: 'get_current_time' });
  // The child that asked has no requests of its own to decide: its handle says to use the root's.
  const asker = bamboo.getSession(request.sessionId);
  await expect(asker.respond({ requestId: request.requestId, decision: 'approve' })).rejects.toThrow(
    new BambooInputError(`respond goes to a root session: ${request.sessionId} is a child session; use the root's handle (getSession('${session.sessionId}'))`),
  );
  await expect(asker.pendingRequests()).rejects.toThrow(BambooInputError);
  await expect(session.respond({ requestId: request.requestId, decision: 'approve' })).resolves.toMatchObject({ requestId: request.requestId, delivered: true });
  await expect(session.respond({ requestId: request.requestId, decision: 'deny' })).rejects.toThrow(UpdateRejectedError);
  const state = await session.waitForIdle({ timeoutMs: 60_000 });
  expect(state.children.map((c) => c.status)).toEqual(['completed']);
});

test('steer a running child through its own handle; cancel the root, and its tree ends cancelled', async () => {
  const session = await bamboo.startRootSession({ model: 'scripted-model', prompt: '[[spawn:Quick|[[sleep:2]] work]] [[spawn:Long|[[sleep:120]] long work]] plan' });
  const running = async (title: string) =>
    eventually(async () => {
      const children = (await session.state()).children;
      const tree = await Promise.all(children.map(async (c) => ({ ...c, title: (await bamboo.getSession(c.childSessionId).transcript())[1]?.content ?? '' })));
      return tree.find((c) => c.title.includes(`title: ${title}`) && c.status === 'running')?.childSessionId;
    }, { timeoutMs: 30_000, what: `${title} running` });
  const quick = bamboo.getSession(await running('Quick'));
  const long = bamboo.getSession(await running('Long'));
  // Merged at Quick's next turn boundary, once its 2-second call is over.
  const receipt = await quick.steer('hurry up');
  expect(receipt.mergedAtTurn).toBeGreaterThanOrEqual(1);
  await expect(quick.result()).resolves.toMatchObject({ status: 'completed' });
  await session.cancel();
  await expect(long.result()).resolves.toMatchObject({ status: 'cancelled' });
});
