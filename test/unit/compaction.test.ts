/** Session compaction: a snapshot that outgrows the budget is cut to fit, saying what was cut. */
import { randomUUID } from 'node:crypto';
import { COMPACTION_METADATA_KEY, compactSession, CONTINUE_AS_NEW_BUDGET_BYTES, fitText, MIN_SESSION_BUDGET_BYTES, planContinueAsNew, SessionOptionsSchema, SNAPSHOT_BUDGET_BYTES, utf8Bytes, type Message, type Session } from '../../common';

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

function message(role: Message['role'], content: string, extra: Partial<Message> = {}): Message {
  return { id: randomUUID(), role, content, createdAt: '2026-11-25T00:00:00.000Z', ...extra };
}

function session(messages: Message[]): Session {
  return { id: 's', kind: 'child', parentSessionId: 'p', rootSessionId: 'p', spawnDepth: 1, model: 'm', messages, metadata: {} };
}

test('utf8Bytes counts like Buffer.byteLength, emoji and all', () => {
  for (const text of ['', 'abc', 'é', '中文', '🙂', 'a🙂b中é', '\ud83d']) expect(utf8Bytes(text)).toBe(Buffer.byteLength(text, 'utf8'));
});

test('a session within the budget is left exactly as it is', () => {
  const s = session([message('user', 'hello'), message('assistant', 'echo: hello')]);
  const before = structuredClone(s);
  expect(compactSession(s, 10_000)).toBeUndefined();
  expect(s).toEqual(before);
});

test('the largest messages lose their middle first; head, tail and the latest message stay; metadata says so', () => {
  const prompt = `START${'p'.repeat(1_900_000)}END`;
  const s = session([message('user', prompt), message('assistant', `echo: ${prompt}`), message('user', 'again')]);
  const compaction = compactSession(s, 1024 * 1024)!;
  expect(jsonBytes(s)).toBeLessThanOrEqual(1024 * 1024);
  expect(compaction).toMatchObject({ messagesCut: 2, messagesDropped: 0, bytesAfter: jsonBytes(s) });
  expect(compaction.bytesBefore).toBeGreaterThan(3_800_000);
  expect(s.messages).toHaveLength(3);
  expect(s.messages[0].content.startsWith('START')).toBe(true);
  expect(s.messages[0].content.endsWith('END')).toBe(true);
  expect(s.messages[0].content).toMatch(/\[… \d+ characters cut to keep the session under Temporal's payload limit …\]/);
  expect(s.messages[2].content).toBe('again');
  expect(s.metadata[COMPACTION_METADATA_KEY]).toBe(`2 message(s) cut, 0 dropped to fit 1048576 bytes (was ${compaction.bytesBefore})`);
});

test('many small messages: the oldest after the first go, with no tool result left without its call', () => {
  const messages = [message('user', 'the task')];
  for (let i = 0; i < 400; i++) {
    messages.push(message('assistant', `step ${i} ${'x'.repeat(3000)}`, { toolCalls: [{ id: `c${i}`, name: 'read', arguments: {} }] }));
    messages.push(message('tool', `result ${i}`, { toolCallId: `c${i}` }));
  }
  messages.push(message('assistant', 'done'));
  const s = session(messages);
  const compaction = compactSession(s, 200_000)!;
  expect(jsonBytes(s)).toBeLessThanOrEqual(200_000);
  expect(compaction.messagesDropped).toBeGreaterThan(0);
  expect(s.messages[0].content).toBe('the task');
  expect(s.messages.at(-1)!.content).toBe('done');
  expect(s.messages[1].role).toBe('assistant'); // never a tool result whose call was dropped
  const callIds = new Set(s.messages.flatMap((m) => m.toolCalls?.map((c) => c.id) ?? []));
  expect(s.messages.filter((m) => m.role === 'tool').every((m) => callIds.has(m.toolCallId!))).toBe(true);
});

test('multi-byte text is cut without splitting a character', () => {
  const s = session([message('user', '🙂'.repeat(400_000)), message('assistant', '中'.repeat(300_000))]);
  compactSession(s, 500_000);
  expect(jsonBytes(s)).toBeLessThanOrEqual(500_000);
  for (const m of s.messages) expect(Buffer.from(m.content, 'utf8').toString('utf8')).toBe(m.content); // no lone surrogates
});

test('fitText bounds a reply in bytes and keeps both ends', () => {
  expect(fitText('short', 100)).toBe('short');
  const reply = `A${'ü'.repeat(1_000_000)}Z`;
  const fitted = fitText(reply, 1024 * 1024);
  expect(Buffer.byteLength(fitted, 'utf8')).toBeLessThanOrEqual(1024 * 1024);
  expect(fitted.startsWith('A')).toBe(true);
  expect(fitted.endsWith('Z')).toBe(true);
  expect(fitted).toContain('characters cut');
});

test('the budget is a session option: 1 MiB by default, between 16 KiB and 1.5 MiB', () => {
  expect(SessionOptionsSchema.parse({}).transcriptBudgetBytes).toBe(1024 * 1024);
  expect(SessionOptionsSchema.parse({ transcriptBudgetBytes: 64 * 1024 }).transcriptBudgetBytes).toBe(64 * 1024);
  for (const bad of [1024, 2 * 1024 * 1024, 100.5, '1MB']) expect(SessionOptionsSchema.safeParse({ transcriptBudgetBytes: bad }).success).toBe(false);
});

describe('planContinueAsNew: what a continue-as-new may carry', () => {
  const session = (bytes: number): Session => ({
    id: 's', kind: 'child', parentSessionId: 'p', rootSessionId: 'p', spawnDepth: 1, model: 'm', metadata: {},
    messages: [{ id: '1', role: 'user', content: 'x'.repeat(bytes), createdAt: '2026-12-06T00:00:00.000Z' }],
  });

  test('queued messages stay queued while session and queue fit the transcript budget', () => {
    expect(planContinueAsNew(session(1000), ['a', 'b'], 5000, SNAPSHOT_BUDGET_BYTES)).toEqual({ fold: false, sessionBudgetBytes: SNAPSHOT_BUDGET_BYTES });
  });

  test('three queued messages of 900 KB are folded into the session, which is compacted to the budget', () => {
    const plan = planContinueAsNew(session(1000), ['a'.repeat(900_000), 'b'.repeat(900_000), 'c'.repeat(900_000)], 5000, SNAPSHOT_BUDGET_BYTES);
    expect(plan).toEqual({ fold: true, sessionBudgetBytes: SNAPSHOT_BUDGET_BYTES });
  });

  test('the session gets only the room the rest of the input leaves', () => {
    const rest = CONTINUE_AS_NEW_BUDGET_BYTES - 100_000;
    expect(planContinueAsNew(session(50_000), [], rest, SNAPSHOT_BUDGET_BYTES)).toEqual({ fold: false, sessionBudgetBytes: 100_000 });
    expect(planContinueAsNew(session(150_000), [], rest, SNAPSHOT_BUDGET_BYTES)?.fold).toBe(true);
  });

  test('a rest that leaves less than the smallest session budget cannot continue-as-new', () => {
    expect(planContinueAsNew(session(10), [], CONTINUE_AS_NEW_BUDGET_BYTES - MIN_SESSION_BUDGET_BYTES + 1, SNAPSHOT_BUDGET_BYTES)).toBeUndefined();
    expect(planContinueAsNew(session(10), [], CONTINUE_AS_NEW_BUDGET_BYTES - MIN_SESSION_BUDGET_BYTES, SNAPSHOT_BUDGET_BYTES)).toBeDefined();
  });
});
