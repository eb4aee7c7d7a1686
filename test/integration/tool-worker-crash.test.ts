/**
 * A tool call whose worker process is SIGKILLed mid-call. A non-idempotent tool is not run
 * again: the model reads "outcome unknown" and the side effect happened once. An idempotent
 * tool runs again on another worker. A tool whose workers die on every attempt is an error
 * result the model reads; the run still completes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildRun } from '../../client/child-runs';
import type { ChildRunResult } from '../../common';
import { childSession, spawnJobFor } from '../helpers/session-fixtures';
import { withRecordingParent } from '../helpers/recording-suite';
import { eventually } from '../helpers/eventually';
import { killStartedProcesses } from '../helpers/processes';
import { uniqueId } from '../helpers/temporal';
import { startWorkerProcess, TEST_TOOLS } from '../helpers/worker-process';

const suite = withRecordingParent(); // hosts the recording parent only
const dir = mkdtempSync(join(tmpdir(), 'bamboo-tool-crash-'));
afterAll(async () => {
  await killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

const toolWorker = (taskQueue: string) => startWorkerProcess({ taskQueue, toolsModule: TEST_TOOLS });

const linesIn = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
const untilLines = (file: string, n: number) =>
  eventually(async () => linesIn(file) >= n, { timeoutMs: 60_000, what: `${n} line(s) in the tool's file` });

/** Starts a child on a fresh queue served by a tool worker process, calling `tool` on a fresh file. */
async function startToolChild(tool: string) {
  const queue = uniqueId('tool-crash');
  const file = join(dir, `${uniqueId(tool)}.txt`);
  writeFileSync(file, '');
  writeFileSync(`${file}.hold`, ''); // the tool keeps working while this exists
  const first = await toolWorker(queue);
  const session = childSession(`[[tool:${tool}|${JSON.stringify({ file })}]] done?`, {
    parentSessionId: suite.parentSessionId,
    metadata: { 'child_watchdog.max_idle_secs': '5' }, // a dead worker is noticed within 5 s
  });
  const handle = await startChildRun(suite.tw.client, spawnJobFor(session), { taskQueue: queue });
  return { queue, file, first, session, handle };
}

const toolMessages = (result: ChildRunResult) => result.session?.messages.filter((m) => m.role === 'tool').map((m) => m.content);

test('a non-idempotent tool whose worker is killed mid-call is not run again: the model reads "outcome unknown"', async () => {
  const { queue, file, first, session, handle } = await startToolChild('append_line');
  await untilLines(file, 1);
  await toolWorker(queue);
  await first.kill('SIGKILL');

  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual([
    'Error: outcome unknown: the worker running tool append_line stopped during the call; it was not run again, check before retrying',
  ]);
  expect(result.session?.messages.at(-1)?.content).toBe('echo: done?');
  expect(readFileSync(file, 'utf8')).toBe('ran\n'); // the side effect happened exactly once
  expect(await suite.completionsFor(session.id)).toEqual([expect.objectContaining({ status: 'completed' })]);
});

test('an idempotent tool whose worker is killed mid-call runs again on another worker and completes', async () => {
  const { queue, file, first, handle } = await startToolChild('append_line_idempotent');
  await untilLines(file, 1);
  await toolWorker(queue);
  await first.kill('SIGKILL');
  await untilLines(file, 2); // run again
  rmSync(`${file}.hold`);

  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual(['appended']);
  expect(linesIn(file)).toBe(2);
});

test('a tool whose worker dies on every attempt is an error result the model reads; the run completes', async () => {
  const { queue, file, first, handle } = await startToolChild('append_line_idempotent');
  let current = first;
  for (let attempt = 1; attempt <= 3; attempt++) {
    await untilLines(file, attempt);
    const next = await toolWorker(queue);
    await current.kill('SIGKILL');
    current = next;
  }

  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(toolMessages(result)).toEqual([
    'Error: tool append_line_idempotent could not complete: the worker running it stopped responding on every attempt',
  ]);
  expect(result.session?.messages.at(-1)?.content).toBe('echo: done?');
  expect(linesIn(file)).toBe(3); // three attempts, no more
}, 240_000);
