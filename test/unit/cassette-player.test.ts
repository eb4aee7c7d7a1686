/**
 * The cassette player's matching (worker/replay/cassette-player.ts), on plain cassettes: sessions
 * by their place in the tree, calls in order with retries keeping their place, requests compared
 * with the tree's ids, uuids and times masked, and the first divergence named.
 */
import { CASSETTE_FORMAT, type Cassette, type Message } from '../../common';
import { CassettePlayer } from '../../worker/replay/cassette-player';

const T = '2030-01-01T00:00:00.000Z';
const msg = (role: Message['role'], content: string, extra: Partial<Message> = {}): Message => ({ id: `m-${Math.random()}`, role, content, createdAt: T, ...extra });
const answer = (content: string) => ({ content, toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 }, provider: 'scripted' });

/** A cassette of a root (one run, still open, its transcript `messages`) and any other sessions. */
function rootCassette(root: string, version: Cassette['version'], start: Message[], messages: Message[], steps: Cassette['sessions'][number]['runs'][number]['steps'], others: Cassette['sessions'] = []): Cassette {
  return {
    format: CASSETTE_FORMAT,
    version,
    recordedAt: T,
    rootSessionId: root,
    start: { session: { id: root, kind: 'root', rootSessionId: root, spawnDepth: 0, title: 'Root', model: 'm', metadata: {}, messages: start } },
    sessions: [{ sessionId: root, kind: 'root', runs: [{ runId: 'x', startTime: T, status: 'RUNNING', messages, steps }] }, ...others],
  };
}

function cassette(): Cassette {
  const root = 'r-1';
  const a = `${root}-aaaaaaaa`;
  const b = `${root}-bbbbbbbb`;
  const rootMessages = [msg('user', 'go'), msg('assistant', '', { toolCalls: [{ id: 'c1', name: 'spawn_session', arguments: { title: 'Twin' } }] }), msg('tool', `child session ${a} queued at ${T}`, { toolCallId: 'c1' })];
  return rootCassette(root, 2, [msg('user', 'go')], rootMessages, [
    { kind: 'model', turn: 1, call: 0, model: 'm', messageCount: 1, tools: [], response: answer('') },
    { kind: 'spawn', childSessionId: a, title: 'Twin', model: 'm', brief: 'first brief' },
    { kind: 'spawn', childSessionId: b, title: 'Twin', model: 'm', brief: 'second brief' },
    { kind: 'model', turn: 2, call: 1, model: 'm', messageCount: 3, tools: [], response: answer('done') },
  ], [
    { sessionId: a, kind: 'child', parentSessionId: root, runs: [{ runId: 'y', startTime: T, status: 'COMPLETED', steps: [{ kind: 'model', turn: 1, call: 0, model: 'm', messageCount: 2, tools: [], messages: [msg('system', 's'), msg('user', 'first brief')], response: answer('A') }] }] },
    { sessionId: b, kind: 'child', parentSessionId: root, runs: [{ runId: 'z', startTime: T, status: 'COMPLETED', steps: [{ kind: 'model', turn: 1, call: 0, model: 'm', messageCount: 2, tools: [], messages: [msg('system', 's'), msg('user', 'second brief')], response: answer('B') }] }] },
  ]);
}

test('children are known by their brief, not the order they first call: two children with one title each get their own answers', () => {
  const player = new CassettePlayer(cassette(), 'new');
  const second = player.modelCall({ replaySessionId: 'new-22222222', key: 'k1', turn: 1, messages: [msg('system', 's'), msg('user', 'second brief')] });
  const first = player.modelCall({ replaySessionId: 'new-11111111', key: 'k2', turn: 1, messages: [msg('system', 's'), msg('user', 'first brief')] });
  expect(second).toMatchObject({ ok: true, value: { content: 'B' } });
  expect(first).toMatchObject({ ok: true, value: { content: 'A' } });
  expect(player.divergences).toEqual([]);
});

test('a retried call keeps its place; the next call takes the next; ids, uuids and times in the request are masked', () => {
  const player = new CassettePlayer(cassette(), 'new');
  expect(player.modelCall({ replaySessionId: 'new', key: 'run/1', turn: 1, messages: [msg('user', 'go')] })).toMatchObject({ ok: true });
  expect(player.modelCall({ replaySessionId: 'new', key: 'run/1', turn: 1, messages: [msg('user', 'go')] })).toMatchObject({ ok: true });
  const later = '2031-05-05T10:00:00.123Z';
  const asked = [msg('user', 'go'), msg('assistant', '', { toolCalls: [{ id: 'c1', name: 'spawn_session', arguments: { title: 'Twin' } }] }), msg('tool', `child session new-12345678 queued at ${later}`, { toolCallId: 'c1' })];
  expect(player.modelCall({ replaySessionId: 'new', key: 'run/2', turn: 2, messages: asked })).toMatchObject({ ok: true, value: { content: 'done' } });
  expect(player.servedCalls).toEqual({ model: 3, tool: 0 });
  expect(player.divergences).toEqual([]);
});

test('the first divergence names the session, turn, call, and the first differing message on both sides', () => {
  const player = new CassettePlayer(cassette(), 'new');
  player.modelCall({ replaySessionId: 'new', key: 'k1', turn: 1, messages: [msg('user', 'go')] });
  const asked = [msg('user', 'go'), msg('assistant', '', { toolCalls: [{ id: 'c1', name: 'spawn_session', arguments: { title: 'Other' } }] })];
  const played = player.modelCall({ replaySessionId: 'new', key: 'k2', turn: 2, messages: asked });
  expect(played).toMatchObject({ ok: false, divergence: { kind: 'model-request', path: ['Root'], turn: 2, call: 1 } });
  expect(player.divergences[0].recorded).toContain('"title":"Twin"');
  expect(player.divergences[0].asked).toContain('"title":"Other"');
  // A child whose brief no recorded spawn had is a spawn the recording lacks.
  expect(player.modelCall({ replaySessionId: 'new-33333333', key: 'k3', turn: 1, messages: [msg('user', 'a third brief')] })).toMatchObject({ ok: false, divergence: { kind: 'unknown-session', path: ['Root', '?'] } });
  // A call past the recording is one it lacks; the recorded calls never made are listed.
  expect(player.modelCall({ replaySessionId: 'new', key: 'k4', turn: 3, messages: [msg('user', 'go')] })).toMatchObject({ ok: false, divergence: { kind: 'model-call-missing', call: 2 } });
  expect(player.unplayed().map((u) => u.path)).toEqual([['Root', 'Twin'], ['Root', 'Twin']]);
});

function toolCassette(): Cassette {
  const c = cassette();
  const root = c.sessions[0].runs[0];
  const call = (id: string, city: string) => ({ id, name: 'weather', arguments: { city } });
  root.steps.push(
    { kind: 'tool', call: call('t1', 'Oslo'), outcome: { ok: true, content: 'cold' } },
    { kind: 'tool', call: call('t2', 'Lima'), outcome: { ok: true, content: 'mild' } },
    { kind: 'decision', tool: 'weather', argumentsPreview: '{"city":"Oslo"}', decision: 'approve', by: 'person' },
  );
  return c;
}

test('a round’s tool calls are matched by their call id, whatever order they arrive in; a refused call takes its place but is not served', () => {
  const player = new CassettePlayer(toolCassette(), 'new');
  player.modelCall({ replaySessionId: 'new', key: 'm', turn: 1, messages: [msg('user', 'go')] });
  expect(player.toolCall({ replaySessionId: 'new', key: 'a', call: { id: 't2', name: 'weather', arguments: { city: 'Lima' } } })).toEqual({ ok: true, value: { ok: true, content: 'mild' } });
  expect(player.toolCall({ replaySessionId: 'new', key: 'b', call: { id: 't1', name: 'weather', arguments: { city: 'Oslo' } }, refused: true })).toEqual({ ok: true, value: undefined });
  expect(player.servedCalls.tool).toBe(1);
  expect(player.divergences).toEqual([]);
  expect(player.unplayed().find((u) => u.path[0] === 'Root')?.toolCalls ?? 0).toBe(0);
});

test('a recorded decision applies only to the request it decided, and not after its session diverged', () => {
  const other = new CassettePlayer(toolCassette(), 'new');
  other.modelCall({ replaySessionId: 'new', key: 'm', turn: 1, messages: [msg('user', 'go')] });
  expect(other.decision('new', { tool: 'weather', argumentsPreview: '{"city":"Rome"}' })).toMatchObject({ ok: false, divergence: { kind: 'decision-missing' } });
  const same = new CassettePlayer(toolCassette(), 'new');
  same.modelCall({ replaySessionId: 'new', key: 'm', turn: 1, messages: [msg('user', 'go')] });
  expect(same.decision('new', { tool: 'weather', argumentsPreview: '{"city":"Oslo"}' })).toMatchObject({ ok: true, value: { decision: 'approve' } });
  const diverged = new CassettePlayer(toolCassette(), 'new');
  diverged.modelCall({ replaySessionId: 'new', key: 'm', turn: 1, messages: [msg('user', 'something else')] });
  expect(diverged.decision('new', { tool: 'weather', argumentsPreview: '{"city":"Oslo"}' })).toMatchObject({ ok: false, divergence: { asked: expect.stringContaining('after this session diverged') } });
});

test('summaries: a recorded request is rebuilt with what later summaries replaced put back; a summary is served when it replaces the same messages, and one that failed fails again', () => {
  const root = 'r-2';
  const early = [msg('user', 'one'), msg('assistant', 'ok one'), msg('user', 'two')];
  const summary = msg('user', '[Summary of 2 earlier message(s)]\n\nthey said one', { metadata: { summary_of: 'summary-a' } });
  const final = [summary, early[2], msg('assistant', 'ok two')];
  const recorded = rootCassette(root, 3, [early[0]], final, [
    { kind: 'model', turn: 1, call: 0, model: 'm', messageCount: 1, tools: [], response: answer('ok one') },
    { kind: 'model', turn: 1, call: 1, model: 'm', messageCount: 3, tools: [], failure: 'too long', failureType: 'BambooContextLength', failureWindowTokens: 100 },
    { kind: 'summary', summaryId: 'summary-a', replaced: early.slice(0, 2), response: { summary: 'they said one', usage: { inputTokens: 5, outputTokens: 3 }, provider: 'scripted', model: 'm' } },
    { kind: 'summary', summaryId: 'summary-b', replaced: [early[2]], failure: 'the summary model was down' },
    { kind: 'model', turn: 1, call: 2, model: 'm', messageCount: 2, tools: [], response: answer('ok two') },
  ]);
  const player = new CassettePlayer(recorded, 'new');
  expect(player.modelCall({ replaySessionId: 'new', key: 'a', turn: 1, messages: [early[0]] })).toMatchObject({ ok: true, value: { content: 'ok one' } });
  // Before the summary, the call was sent the three original messages: refused for length, as recorded.
  expect(player.modelCall({ replaySessionId: 'new', key: 'b', turn: 1, messages: early })).toEqual({ ok: true, value: { refusedForLength: 'too long', windowTokens: 100 } });
  expect(player.summaryCall({ replaySessionId: 'new', key: 's1', replaced: early.slice(0, 2) })).toMatchObject({ ok: true, value: { summary: 'they said one' } });
  expect(player.summaryCall({ replaySessionId: 'new', key: 's2', replaced: [early[2]] })).toEqual({ ok: true, value: { failed: 'the summary model was down' } });
  expect(player.modelCall({ replaySessionId: 'new', key: 'c', turn: 1, messages: [summary, early[2]] })).toMatchObject({ ok: true, value: { content: 'ok two' } });
  expect(player.divergences).toEqual([]);
  // Replacing other messages is a divergence of its own kind.
  const other = new CassettePlayer(recorded, 'new');
  expect(other.summaryCall({ replaySessionId: 'new', key: 's1', replaced: [early[0]] })).toMatchObject({ ok: false, divergence: { kind: 'summary' } });
});
