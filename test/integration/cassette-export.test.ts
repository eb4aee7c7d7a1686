/**
 * `bamboo cassette export` (issue 28, first part): a depth-2 tree's histories become a cassette
 * that says, per session and in order, what each model call was asked and answered, which tools
 * ran with what outcome, and which children were spawned — the same as the sessions' own
 * transcripts say, and loadable again through its schema. Run as a real CLI process too.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BambooClient } from '../../client';
import { exportCassette } from '../../client/cassette';
import { CassetteSchema, type Cassette } from '../../common';
import { bamboo } from '../helpers/cli';
import { startTestWorker, type TestWorker } from '../helpers/temporal';

let tw: TestWorker;

beforeAll(async () => {
  tw = await startTestWorker();
});
afterAll(async () => {
  await tw?.stop();
});

const steps = (cassette: Cassette, sessionId: string) => cassette.sessions.find((s) => s.sessionId === sessionId)!.runs.flatMap((r) => r.steps);

test('a depth-2 tree’s cassette: spawns, model calls and answers, tool calls and outcomes, per session in order', async () => {
  const client = new BambooClient(tw.client, { taskQueue: tw.taskQueue });
  const root = await client.startRootSession({ model: 'scripted-model', prompt: '[[spawn:Lead|[[spawn:Helper|[[tool:get_current_time|{}]] what time is it]] organise]] plan', options: { maxSpawnDepth: 2 } });
  await root.waitForIdle({ timeoutMs: 60_000 });
  const [lead] = (await root.state()).children;
  const [helper] = (await client.getSession(lead.childSessionId).state()).children;

  const cassette = await exportCassette(tw.client, root.sessionId);
  expect(cassette).toMatchObject({ format: 'bamboo-cassette', version: 3, rootSessionId: root.sessionId });
  expect(cassette.sessions.map((s) => [s.sessionId, s.kind, s.parentSessionId])).toEqual([
    [root.sessionId, 'root', undefined],
    [lead.childSessionId, 'child', root.sessionId],
    [helper.childSessionId, 'child', lead.childSessionId],
  ]);

  // The root: a model call asking for the spawn, the turn's answer, the child's start once the
  // turn is over, then (resumed with the child's result) the next turn's answer.
  const rootSteps = steps(cassette, root.sessionId);
  expect(rootSteps.map((s) => s.kind)).toEqual(['model', 'model', 'spawn', 'model']);
  expect(rootSteps[0]).toMatchObject({ kind: 'model', turn: 1, call: 0, model: 'scripted-model', response: { toolCalls: [{ name: 'spawn_session' }], provider: 'scripted' } });
  expect(rootSteps[1]).toMatchObject({ kind: 'model', turn: 2, call: 1, response: { toolCalls: [] } });
  expect(rootSteps[2]).toEqual({ kind: 'spawn', childSessionId: lead.childSessionId, title: 'Lead', model: 'scripted-model', brief: expect.stringMatching(/^Sub-session title: Lead\n[\s\S]*organise$/) });
  expect(rootSteps[3]).toMatchObject({ kind: 'model', turn: 1, call: 2 });

  // The helper: the tool call its model asked for, the tool's outcome, the answer.
  const helperSteps = steps(cassette, helper.childSessionId);
  expect(helperSteps.map((s) => s.kind)).toEqual(['model', 'tool', 'model']);
  const [asked, ran, answered] = helperSteps;
  if (asked.kind !== 'model' || ran.kind !== 'tool' || answered.kind !== 'model') throw new Error('unexpected steps');
  expect(ran.call).toEqual(asked.response!.toolCalls[0]);
  expect(ran.outcome).toMatchObject({ ok: true, content: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });
  // What the cassette says was answered is what the session's transcript holds.
  const transcript = await client.getSession(helper.childSessionId).transcript();
  expect(transcript.find((m) => m.role === 'tool')?.content).toBe(ran.outcome!.content);
  expect(transcript.at(-1)?.content).toBe(answered.response!.content);
  expect(answered.messageCount).toBe(transcript.length - 1);

  // A cassette survives a file: it loads again through its schema, unchanged.
  expect(CassetteSchema.parse(JSON.parse(JSON.stringify(cassette)))).toEqual(cassette);

  // The same from the command line, to a file.
  const out = join(mkdtempSync(join(tmpdir(), 'bamboo-cassette-')), 'tree.json');
  const cli = await bamboo(['cassette', 'export', root.sessionId, '--out', out]);
  expect(cli.code).toBe(0);
  expect(cli.stderr).toContain(`wrote ${out}: 3 sessions, `);
  const fromFile = CassetteSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  expect(fromFile.sessions.map((s) => s.runs.flatMap((r) => r.steps))).toEqual(cassette.sessions.map((s) => s.runs.flatMap((r) => r.steps)));
});

test('exporting a root that does not exist says so', async () => {
  await expect(exportCassette(tw.client, 'no-such-root')).rejects.toThrow('no root session no-such-root: visibility lists none of its runs');
  const cli = await bamboo(['cassette', 'export', 'no-such-root']);
  expect(cli.code).toBe(1);
  expect(cli.stderr).toContain('no root session no-such-root');
});
