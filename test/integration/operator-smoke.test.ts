/**
 * The operator's path through the README, as real processes typed as a user types them, on a
 * fresh data directory and free ports (nothing shared with the test run's own server):
 * `npm run dev-server` in one terminal, `npm run worker` in another, then `npx bamboo run`,
 * `bamboo ls`, `bamboo show`; finally Ctrl-C in both terminals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isRunning, killStartedProcesses, portOpen, runCommand, startProcess, userEnv } from '../helpers/processes';
import { eventually } from '../helpers/eventually';
import { startNpmWorker } from '../helpers/worker-process';

jest.setTimeout(600_000);

let dir: string;

afterAll(async () => {
  // A failed assertion must not leave a terminal's processes behind.
  await killStartedProcesses();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('npm run dev-server and npm run worker stay up; bamboo run, ls and show work against them; Ctrl-C stops both', async () => {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-operator-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;

  // Terminal 1.
  const server = startProcess('npm run dev-server', 'npm', ['run', 'dev-server', '--', '--port', String(port), '--ui-port', String(uiPort)], {
    env: userEnv({ BAMBOO_DEV_DB: join(dir, 'bamboo.sqlite') }),
    ownGroup: true,
  });
  await server.waitForOutput('Press Ctrl-C to stop.', 120_000);
  const serverUpAt = Date.now();
  expect(server.output()).toContain(`Temporal dev server: ${address}`);
  expect(server.output()).toContain(`Web UI:              http://localhost:${uiPort}`);

  // Terminal 2: the default task queue, the workflows bundled at start.
  const worker = await startNpmWorker({ TEMPORAL_ADDRESS: address });
  expect(worker.output()).toContain(`bamboo worker: ${address} namespace=default task queue=bamboo`);

  // Still up after more than 20 seconds (it used to exit after two).
  await new Promise((r) => setTimeout(r, Math.max(0, serverUpAt + 21_000 - Date.now())));
  expect(server.alive()).toBe(true);
  expect(await portOpen(port)).toBe(true);
  expect(await portOpen(uiPort)).toBe(true);

  // Terminal 3.
  const shell = userEnv({ TEMPORAL_ADDRESS: address });
  const run = await runCommand('npx', ['bamboo', 'run', 'Plan the release. [[spawn:Scout|[[sleep:2]] look around]]'], shell);
  expect(run.code).toBe(0);
  const sessionId = /following session (\S+) until it is idle/.exec(run.stdout)?.[1];
  expect(sessionId).toBeDefined();
  const childId = /child (\S+): completed/.exec(run.stdout)?.[1];
  expect(childId).toBeDefined();
  expect(run.stdout).toContain(`session ${sessionId} is idle (last turn completed)`);

  // Visibility is eventually consistent: ls shows both once indexed.
  const ls = await eventually(async () => {
    const result = await runCommand('npx', ['bamboo', 'ls'], shell);
    const rows = result.stdout.split('\n');
    const root = rows.find((r) => r.startsWith(`${sessionId} `));
    const child = rows.find((r) => r.startsWith(`${childId} `));
    return result.code === 0 && root?.includes(' completed ') && child?.includes(' completed ') ? { result, root, child } : undefined;
  }, { timeoutMs: 30_000, what: 'bamboo ls listing the session and its child as completed' });
  expect(ls.root).toMatch(new RegExp(`^${sessionId}\\s+root\\s+completed\\s+-\\s`));
  expect(ls.child).toMatch(new RegExp(`^${childId}\\s+child\\s+completed\\s+${sessionId}\\s`));

  const show = await runCommand('npx', ['bamboo', 'show', sessionId!], shell);
  expect(show.code).toBe(0);
  expect(show.stdout).toContain(`bamboo-session-${sessionId}  running  (root)`);
  expect(show.stdout).toMatch(/status\s+completed · idle/);
  expect(show.stdout).toContain(`${childId}  completed`);
  const showChild = await runCommand('npx', ['bamboo', 'show', childId!], shell);
  expect(showChild.code).toBe(0);
  expect(showChild.stdout).toContain(`bamboo-session-${childId}  completed  (child)`);
  expect(showChild.stdout).toContain('result    completed');

  // Ctrl-C in both terminals.
  const [workerExit, serverExit] = await Promise.all([worker.kill('SIGINT'), server.kill('SIGINT')]);
  expect(workerExit).toEqual({ code: 0, signal: null });
  expect(serverExit).toEqual({ code: 0, signal: null });
  expect(server.output()).toContain('stopped.');
  expect(await portOpen(port)).toBe(false);
  expect(await portOpen(uiPort)).toBe(false);
  // Nothing of either terminal's commands is left: no npm, tsx, node or temporal process.
  expect(isRunning(-server.pid)).toBe(false);
  expect(isRunning(-worker.pid)).toBe(false);
});
