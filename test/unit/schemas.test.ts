import { describeZodError, parseOrThrow, SessionOptionsSchema, SessionWorkflowInputSchema, ChildCompletionSchema, InjectMessageSchema, SpawnJobSchema, hasPendingUserMessage, lastAssistantText, lastUserText, MessageSchema, SessionSchema, type Message, type Session } from '../../common';

const at = '2024-01-01T00:00:00.000Z';

function message(role: Message['role'], content: string, id = `m-${role}-${content.length}`): Message {
  return { id, role, content, createdAt: at };
}

function childSession(overrides: Partial<Session> = {}): Session {
  return {
    id: 'child-1',
    kind: 'child',
    parentSessionId: 'root-1',
    rootSessionId: 'root-1',
    spawnDepth: 1,
    model: 'scripted-model',
    messages: [message('user', 'hello')],
    metadata: {},
    ...overrides,
  };
}

function issuesOf(value: unknown): string {
  const result = SpawnJobSchema.safeParse(value);
  if (result.success) throw new Error('expected the spawn job to be rejected');
  return describeZodError(result.error);
}

describe('SpawnJobSchema', () => {
  it('accepts a minimal job (parent id, child id, model) without a session snapshot', () => {
    const job = SpawnJobSchema.parse({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm' });
    expect(job).toEqual({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm' });
  });

  it('accepts a job with a child session snapshot and disabled tools', () => {
    const session = childSession();
    const job = SpawnJobSchema.parse({
      parentSessionId: 'root-1',
      childSessionId: 'child-1',
      model: 'm',
      disabledTools: ['spawn_session'],
      session,
    });
    expect(job.session).toEqual(session);
    expect(job.disabledTools).toEqual(['spawn_session']);
  });

  it('a continuation carries the restarts its children queued while the run waited to continue, and no continuation inside them', () => {
    const restart = { parentSessionId: 'child-1', childSessionId: 'child-1-aaaaaaaa', model: 'm', snapshotRunId: 'run-1', appendMessages: ['more'] };
    const continuation = { round: 3, toolFailures: {}, startedAt: '2030-01-01T00:00:00.000Z', usage: { inputTokens: 1, outputTokens: 1 }, lastEventSeq: 4, injected: [], queued: [restart] };
    const job = SpawnJobSchema.parse({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', continuation });
    expect(job.continuation?.queued).toEqual([restart]);
    const nested = SpawnJobSchema.parse({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', continuation: { ...continuation, queued: [{ ...restart, continuation }] } });
    expect(nested.continuation?.queued?.[0]).not.toHaveProperty('continuation');
  });

  it.each(['parentSessionId', 'childSessionId', 'model'])('rejects an empty %s with a message naming the field', (field) => {
    const job = { parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', [field]: '' };
    expect(issuesOf(job)).toMatch(new RegExp(`^${field}: `));
  });

  it('rejects a whitespace-only child id as empty', () => {
    expect(issuesOf({ parentSessionId: 'root-1', childSessionId: '   ', model: 'm' })).toContain('childSessionId');
  });

  it('rejects a missing child id, naming it', () => {
    expect(issuesOf({ parentSessionId: 'root-1', model: 'm' })).toContain('childSessionId');
  });

  it('names the nested path of a bad field inside the session snapshot', () => {
    const session = { ...childSession(), messages: [{ ...message('user', 'x'), id: '' }] };
    expect(issuesOf({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', session })).toContain(
      'session.messages.0.id',
    );
  });

  it('rejects a session snapshot with an unknown kind', () => {
    const session = { ...childSession(), kind: 'grandchild' };
    expect(issuesOf({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', session })).toContain(
      'session.kind',
    );
  });

  it('accepts a continuation that carries the run\'s children, and names a bad field inside them', () => {
    const child = { childSessionId: 'g-1', title: 'Digger', status: 'completed', reported: false, awaited: true, finalResponse: 'found it' };
    const continuation = { round: 3, toolFailures: {}, startedAt: at, usage: { inputTokens: 1, outputTokens: 1 }, lastEventSeq: 7, injected: [] };
    const job = { parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', session: childSession() };
    const children = { children: [child], seenCompletions: ['g-1/run-1'], waiting: null };
    expect(SpawnJobSchema.parse({ ...job, continuation: { ...continuation, children } }).continuation?.children?.children).toEqual([child]);
    const bad = { ...children, children: [{ ...child, status: 'lost' }] };
    expect(issuesOf({ ...job, continuation: { ...continuation, children: bad } })).toContain('continuation.children.children.0.status');
  });

  it('parseOrThrow prefixes the message with what was being parsed', () => {
    expect(() => parseOrThrow(SpawnJobSchema, { parentSessionId: 'p', childSessionId: '', model: 'm' }, 'spawn job')).toThrow(
      /^invalid spawn job: childSessionId: /,
    );
  });

  it('describeZodError names the input itself when the whole value is wrong', () => {
    const result = SpawnJobSchema.safeParse('not an object');
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toMatch(/^\(input\): /);
  });
});

describe('MessageSchema and SessionSchema', () => {
  it('accepts a message with just id, role, content and createdAt', () => {
    expect(MessageSchema.parse(message('assistant', 'hi', 'a1'))).toEqual(message('assistant', 'hi', 'a1'));
  });

  it('rejects a message with an unknown role, naming the field', () => {
    const result = MessageSchema.safeParse({ ...message('user', 'x'), role: 'robot' });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toMatch(/^role: /);
  });

  it('rejects a negative spawn depth', () => {
    const result = SessionSchema.safeParse(childSession({ spawnDepth: -1 }));
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toContain('spawnDepth');
  });
});

describe('numeric bounds: options and child_watchdog.* metadata', () => {
  const optionIssues = (options: Record<string, unknown>) => {
    const result = SessionOptionsSchema.safeParse(options);
    return result.success ? 'accepted' : describeZodError(result.error);
  };

  it.each([
    ['waitLeaseSecs', 1e13, 'must be at most 31536000 (1 year)'],
    ['idleTtlSecs', 31_536_001, 'must be at most 31536000 (1 year)'],
    ['cancelGraceSecs', 10 * 31_536_000, 'must be at most 31536000 (1 year)'],
    ['historyEventBudget', 50_001, 'must be at most 50000 (Temporal ends a workflow at 51,200 history events)'],
    ['maxRunningChildren', 1001, 'must be at most 1000'],
    ['maxSpawnDepth', 9, 'must be at most 8'],
    ['transcriptBudgetBytes', 2 * 1024 * 1024, 'must be at most 1572864 (1.5 MiB)'],
  ])('rejects %s = %d: %s', (field, value, message) => {
    expect(optionIssues({ [field]: value })).toBe(`${field}: ${message}`);
  });

  it.each([
    ['waitLeaseSecs', 31_536_000],
    ['idleTtlSecs', 31_536_000],
    ['cancelGraceSecs', 31_536_000],
    ['historyEventBudget', 50_000],
  ])('accepts %s at its maximum, %d', (field, value) => {
    expect(optionIssues({ [field]: value })).toBe('accepted');
  });

  it('a root session started with waitLeaseSecs 1e13 is rejected with the field and the bound', () => {
    const session = { ...childSession(), kind: 'root', parentSessionId: undefined };
    const result = SessionWorkflowInputSchema.safeParse({ session, options: { waitLeaseSecs: 1e13 } });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toBe('options.waitLeaseSecs: must be at most 31536000 (1 year)');
  });

  it('options passed on to a child (spawnOptions) are bounded too', () => {
    expect(issuesOf({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', spawnOptions: { idleTtlSecs: 1e15 } })).toBe(
      'spawnOptions.idleTtlSecs: must be at most 31536000 (1 year)',
    );
  });

  it.each([
    ['child_watchdog.max_total_secs', '1000000000000000', 'must be at most 31536000 (1 year)'],
    ['child_watchdog.max_total_secs', '31536001', 'must be at most 31536000 (1 year)'],
    ['child_watchdog.check_interval_secs', '+31536001', 'must be at most 31536000 (1 year)'],
    ['child_watchdog.max_idle_secs', '2073601', 'must be at most 2073600 (24 days)'],
    ['child_watchdog.max_idle_secs', ' 9223372036854775807 ', 'must be at most 2073600 (24 days)'],
  ])('rejects a SpawnJob whose session has %s = %j, naming the key and the bound', (key, raw, message) => {
    const session = childSession({ metadata: { [key]: raw } });
    expect(issuesOf({ parentSessionId: 'root-1', childSessionId: 'child-1', model: 'm', session })).toBe(`session.metadata.${key}: ${message}`);
  });

  it.each(['0', '-5', 'abc', '1.5', '1e15', '', '99999999999999999999'])(
    'accepts a session whose child_watchdog.* values are %j: they do not count (reference rule), the defaults apply',
    (raw) => {
      const metadata = { 'child_watchdog.max_total_secs': raw, 'child_watchdog.max_idle_secs': raw, 'child_watchdog.check_interval_secs': raw };
      expect(SessionSchema.safeParse(childSession({ metadata })).success).toBe(true);
    },
  );

  it('accepts child_watchdog.* values at their maximum', () => {
    const metadata = { 'child_watchdog.max_total_secs': '31536000', 'child_watchdog.max_idle_secs': '2073600', 'child_watchdog.check_interval_secs': '31536000' };
    expect(SessionSchema.safeParse(childSession({ metadata })).success).toBe(true);
  });

  it('a root session carrying a child_watchdog.* value above its maximum is rejected (its children would inherit it)', () => {
    const session = { ...childSession({ metadata: { 'child_watchdog.max_total_secs': '1000000000000000' } }), kind: 'root', parentSessionId: undefined };
    const result = SessionWorkflowInputSchema.safeParse({ session });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toBe('session.metadata.child_watchdog.max_total_secs: must be at most 31536000 (1 year)');
  });
});

describe('ChildCompletionSchema and InjectMessageSchema', () => {
  it('accepts only terminal statuses in a completion', () => {
    const completion = {
      parentSessionId: 'root-1',
      childSessionId: 'child-1',
      runId: 'run-1',
      status: 'completed',
      completedAt: at,
    };
    expect(ChildCompletionSchema.safeParse(completion).success).toBe(true);
    expect(ChildCompletionSchema.safeParse({ ...completion, status: 'running' }).success).toBe(false);
    expect(ChildCompletionSchema.safeParse({ ...completion, runId: '' }).success).toBe(false);
  });

  it('rejects an injected message with empty content', () => {
    expect(InjectMessageSchema.safeParse({ content: '' }).success).toBe(false);
    expect(InjectMessageSchema.parse({ content: 'more' })).toEqual({ content: 'more' });
  });
});

describe('session helpers', () => {
  it('a session whose last message is from the user has a pending turn', () => {
    expect(hasPendingUserMessage(childSession())).toBe(true);
    expect(hasPendingUserMessage(childSession({ messages: [message('user', 'q'), message('assistant', 'a')] }))).toBe(
      false,
    );
    expect(hasPendingUserMessage(childSession({ messages: [] }))).toBe(false);
  });

  it('lastUserText and lastAssistantText find the most recent non-empty text of that role', () => {
    const messages = [
      message('user', 'first'),
      message('assistant', 'answer'),
      message('user', 'second'),
      message('assistant', '  '),
    ];
    expect(lastUserText(messages)).toBe('second');
    expect(lastAssistantText(messages)).toBe('answer');
    expect(lastUserText([])).toBe('');
    expect(lastAssistantText([message('user', 'q')])).toBeUndefined();
  });
});
