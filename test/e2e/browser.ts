/**
 * Headless Chromium for the end-to-end tests, driven by playwright-core (never a
 * Playwright-downloaded browser). `npm test` provides one by itself; the first that works:
 *
 *   1. BAMBOO_CHROMIUM_PATH, when set (nothing else is tried);
 *   2. the system Chromium, /usr/bin/chromium (Debian's package `chromium`);
 *   3. the Chromium shipped in the npm package @sparticuz/chromium (a devDependency),
 *      unpacked once into .cache/chromium/, if it starts on this machine (it needs the NSS
 *      libraries: Debian's libnss3);
 *   4. as root or with passwordless sudo, where apt-get exists: Debian's `chromium`,
 *      installed once (then 2. finds it).
 *
 * When none works, the error says what was tried and what to install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { errorMessage } from '../../common';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
const ROOT = resolve(__dirname, '..', '..');
const CACHE_DIR = join(ROOT, '.cache', 'chromium');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface ProvidedChromium {
  path: string;
  source: 'BAMBOO_CHROMIUM_PATH' | 'system' | 'npm package @sparticuz/chromium' | 'apt-get install chromium';
}

let provided: ProvidedChromium | undefined;

/** Finds or provides a Chromium that starts here (once per process); throws what to install when none can. */
export function provideChromium(log: (line: string) => void = console.log): ProvidedChromium {
  if (provided) return provided;
  const tried: string[] = [];

  const fromEnv = process.env.BAMBOO_CHROMIUM_PATH?.trim();
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`BAMBOO_CHROMIUM_PATH=${fromEnv} is not an executable file`);
    return (provided = { path: fromEnv, source: 'BAMBOO_CHROMIUM_PATH' });
  }
  if (isExecutable(DEFAULT_CHROMIUM_PATH)) return (provided = { path: DEFAULT_CHROMIUM_PATH, source: 'system' });
  tried.push(`${DEFAULT_CHROMIUM_PATH}: not installed`);

  const bundled = bundledChromium(log);
  if (bundled.path) return (provided = { path: bundled.path, source: 'npm package @sparticuz/chromium' });
  tried.push(`@sparticuz/chromium: ${bundled.problem}`);

  const apt = aptInstaller();
  if (apt.command) {
    log(`Chromium for the Web UI test: installing Debian's chromium (${[...apt.command, 'apt-get install -y chromium'].join(' ')}), once…`);
    const ok = run(apt.command, ['apt-get', 'update']) && run(apt.command, ['apt-get', 'install', '-y', 'chromium']);
    if (ok && isExecutable(DEFAULT_CHROMIUM_PATH)) return (provided = { path: DEFAULT_CHROMIUM_PATH, source: 'apt-get install chromium' });
    tried.push(`apt-get install chromium: ${ok ? `${DEFAULT_CHROMIUM_PATH} is still missing` : 'failed (see the output above)'}`);
  } else {
    tried.push(`apt-get install chromium: ${apt.problem}`);
  }
  throw new Error(missingChromiumMessage(tried));
}

export function missingChromiumMessage(tried: string[]): string {
  return [
    'No Chromium for the end-to-end Web UI test. Tried:',
    ...tried.map((line) => `  - ${line}`),
    'Install one of these (Debian/Ubuntu, as root), then run npm test again:',
    '  apt-get update && apt-get install -y chromium     (the system Chromium), or',
    '  apt-get install -y libnss3                          (what the bundled @sparticuz/chromium needs),',
    'or set BAMBOO_CHROMIUM_PATH to a Chromium/Chrome executable.',
  ].join('\n');
}

/** Launches headless Chromium, providing it first if needed. */
export async function launchChromium(): Promise<Browser> {
  const { path } = provideChromium();
  return chromium.launch({ executablePath: path, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * @sparticuz/chromium ships Chromium brotli-compressed and unpacks it into the OS temporary
 * directory; here a child process unpacks it into a staging directory under .cache/chromium/
 * (its TMPDIR), renamed into place when complete, so an interrupted run never leaves half a
 * binary. The binary is kept only if it starts (`--version`).
 */
function bundledChromium(log: (line: string) => void): { path?: string; problem: string } {
  let entry: string;
  try {
    entry = require.resolve('@sparticuz/chromium', { paths: [ROOT] });
  } catch {
    return { problem: 'the package is not installed (npm install installs it: it is a devDependency)' };
  }
  const packageDir = packageRoot(entry);
  const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = join(CACHE_DIR, `sparticuz-${version}`);
  const executable = join(dir, 'chromium');
  if (!isExecutable(executable)) {
    log(`Chromium for the Web UI test: unpacking @sparticuz/chromium ${version} into ${dir} (once)…`);
    const staging = `${dir}.partial-${process.pid}`;
    try {
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      execFileSync(process.execPath, ['-e', "require('@sparticuz/chromium').executablePath().then((p) => process.stdout.write(p))"], {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: staging },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      });
      if (!existsSync(join(staging, 'chromium'))) throw new Error(`no chromium binary in ${staging}`);
      if (!isExecutable(executable)) renameSync(staging, dir); // else another run got there first
    } catch (error) {
      return { problem: `could not unpack it (${errorMessage(error).split('\n')[0]})` };
    } finally {
      rmSync(staging, { recursive: true, force: true, maxRetries: 2 });
    }
  }
  const check = spawnSync(executable, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (check.status === 0) return { path: executable, problem: '' };
  const why = (check.stderr || check.stdout || check.error?.message || `exit ${check.status}`).trim().split('\n')[0];
  return { problem: `unpacked into ${dir} but does not start here (${why})` };
}

function packageRoot(entry: string): string {
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'bin'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package root above ${entry}`);
    dir = parent;
  }
  return dir;
}

/** How to run apt-get as root here: directly (root), through passwordless sudo, or not at all. */
function aptInstaller(): { command?: string[]; problem: string } {
  if (!existsSync('/usr/bin/apt-get')) return { problem: 'no apt-get on this machine' };
  const env = ['env', 'DEBIAN_FRONTEND=noninteractive'];
  if (process.getuid?.() === 0) return { command: env, problem: '' };
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return { command: ['sudo', '-n', ...env], problem: '' };
  return { problem: 'needs root or passwordless sudo' };
}

function run(prefix: string[], args: string[]): boolean {
  const [command, ...rest] = [...prefix, ...args];
  return spawnSync(command, rest, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 }).status === 0;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
