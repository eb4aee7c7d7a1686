/**
 * docker-compose.yml, Dockerfile and .dockerignore as an operator relies on them, without a
 * Docker engine: the services and their order, pinned images, published ports, the worker's
 * connection and secrets, the schema setup, and the search-attribute registration (which must
 * name exactly BAMBOO_SEARCH_ATTRIBUTES). The compose file is kept in step with `bamboo cluster
 * up` (cli/cluster): the same server and UI versions, dynamic config file, shard count, log level
 * and schema steps. The registration script itself also runs, for real, against the dev server
 * that the Jest global setup started.
 */
import { Connection } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_TASK_QUEUE, BAMBOO_SEARCH_ATTRIBUTES } from '../../common';
import { findTemporalCli } from '../../cli/temporal/cli-binary';
import { INDEXED_VALUE_TYPE } from '../../cli/temporal/search-attributes';
import { SERVER_VERSION, UI_VERSION } from '../../cli/cluster/binaries';
import { DYNAMIC_CONFIG_FILE, serverConfig, UP_DEFAULTS } from '../../cli/cluster/config';
import { SCHEMAS } from '../../cli/cluster/schema';
import { observabilitySettings } from '../../worker/observability/settings';

const ROOT = resolve(__dirname, '..', '..');
const SERVICES = ['postgresql', 'temporal-schema', 'temporal', 'bamboo-search-attributes', 'temporal-ui', 'jaeger', 'bamboo-worker'] as const;
const INIT = 'bamboo-search-attributes';
const SCHEMA = 'temporal-schema';

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  entrypoint?: string | string[];
  command?: string | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  deploy?: { replicas?: number };
  container_name?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ---- helpers: each returns what it found, so the checks below can be shown to fail -----

function loadCompose(text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')): Compose {
  return parse(text) as Compose;
}

function service(compose: Compose, name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function environment(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : '']));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function dependsOn(svc: Service): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']));
}

/** Published ports as `host -> container`. */
function publishedPorts(svc: Service): { host: string; container: string }[] {
  return (svc.ports ?? []).map((port) => {
    if (typeof port === 'object') return { host: String(port.published ?? ''), container: String(port.target) };
    const parts = String(port).split(':');
    const container = parts[parts.length - 1].replace(/\/(tcp|udp)$/, '');
    return { host: parts.length > 1 ? parts[parts.length - 2] : '', container };
  });
}

/** Images that are not pinned to an explicit, literal, non-`latest` tag. */
function unpinnedImages(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    if (!svc.image) {
      if (!svc.build) problems.push(`${name}: neither image nor build`);
      continue;
    }
    problems.push(...imageTagProblems(svc.image).map((p) => `${name}: ${p}`));
  }
  return problems;
}

function imageTagProblems(image: string): string[] {
  if (image.includes('$')) return [`${image} is interpolated, not pinned`];
  if (image.includes('@sha256:')) return [];
  const lastSegment = image.split('/').pop() ?? image;
  if (!lastSegment.includes(':')) return [`${image} has no tag`];
  const tag = lastSegment.split(':')[1];
  if (!tag || /^(latest|stable|main|master|edge)$/i.test(tag)) return [`${image} is not pinned (tag ${tag || 'empty'})`];
  return [];
}

/** The script of a one-shot service (registration, schema), as its shell sees it. */
function registrationScript(svc: Service): string {
  const command = Array.isArray(svc.command) ? svc.command : [svc.command ?? ''];
  if (command.length !== 1) throw new Error('a one-shot service\'s command must be one script for `sh -c`');
  return command[0].replace(/\$\$/g, '$');
}

/** `database:schema` pairs the schema script loops over, and the temporal-sql-tool commands of its loop body. */
function schemaSteps(script: string): { pairs: string[]; commands: string[] } {
  const pairs = /for db in ([^;]+);/.exec(script)?.[1].trim().split(/\s+/) ?? [];
  const commands = script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('temporal-sql-tool '))
    .map((line) => line.replace(/^temporal-sql-tool --db "\$name" /, ''));
  return { pairs, commands };
}

/** The file a bind mount of `svc` serves at `target`, resolved on the host. */
function mountedFile(svc: Service, target: string): string | undefined {
  for (const volume of svc.volumes ?? []) {
    if (typeof volume === 'string') {
      const [source, into] = volume.split(':');
      if (into === target) return resolve(ROOT, source);
    } else if (volume.target === target && volume.source) {
      return resolve(ROOT, volume.source);
    }
  }
  return undefined;
}

/** `$` that Compose would interpolate on the host instead of leaving to the container. */
function hostInterpolations(raw: string): string[] {
  return raw.replace(/\$\$/g, '').match(/\$\{?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
}

/** `--name X --type Y` pairs of every `temporal operator search-attribute create`. */
function registeredAttributes(script: string): { name: string; type: string }[] {
  const commands = script.replace(/\\\n/g, ' ').split('\n').filter((line) => /temporal\s+operator\s+search-attribute\s+create\b/.test(line));
  const pairs: { name: string; type: string }[] = [];
  for (const command of commands) {
    for (const match of command.matchAll(/--name[ =]"?([A-Za-z0-9_]+)"?\s+--type[ =]"?([A-Za-z]+)"?/g)) pairs.push({ name: match[1], type: match[2] });
  }
  return pairs;
}

const SENSITIVE = /(KEY|TOKEN|SECRET|PASSWORD|PWD|CREDENTIAL)/i;

/** Sensitive variables whose value is not exactly `${SAME_NAME}` / `${SAME_NAME:-}` (worker rule). */
function literalSecrets(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([key]) => SENSITIVE.test(key))
    .filter(([key, value]) => !new RegExp(`^\\$\\{${key}(:?-)?\\}$`).test(value))
    .map(([key, value]) => `${key}=${value}`);
}

interface DockerInstruction {
  op: string;
  args: string;
}

function dockerfile(path = join(ROOT, 'Dockerfile')): DockerInstruction[] {
  return readFileSync(path, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return parsed as string[];
}

// ---- the compose file ------------------------------------------------------------------------

const compose = loadCompose();

test('the five services exist, and nothing else', () => {
  expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
});

test('every image is pinned to an explicit tag (no latest), and versions agree', () => {
  expect(unpinnedImages(compose)).toEqual([]);
  const tag = (name: string) => (service(compose, name).image ?? '').split(':').pop() ?? '';
  // The server image (auto-setup is deprecated), the release `bamboo cluster up` builds.
  expect(service(compose, 'temporal').image).toBe(`temporalio/server:${SERVER_VERSION.replace(/^v/, '')}`);
  expect(service(compose, 'postgresql').image).toMatch(/^postgres:\d+(\.\d+)?$/);
  // The Web UI the pinned CLI embeds, and `bamboo cluster up` serves.
  expect(service(compose, 'temporal-ui').image).toBe(`temporalio/ui:${UI_VERSION.replace(/^v/, '')}`);
  // admin-tools is tagged with the server release it carries: the same as the server's.
  for (const oneShot of [INIT, SCHEMA]) {
    expect(service(compose, oneShot).image).toMatch(/^temporalio\/admin-tools:/);
    expect(tag(oneShot).startsWith(`${tag('temporal')}-`) || tag(oneShot) === tag('temporal')).toBe(true);
  }
});

test('the server runs what `bamboo cluster up` runs: its dynamic config file, shard count, log level and store', () => {
  const temporal = service(compose, 'temporal');
  const env = environment(temporal);
  expect(mountedFile(temporal, env.DYNAMIC_CONFIG_FILE_PATH)).toBe(DYNAMIC_CONFIG_FILE);
  const dynamic = parse(readFileSync(DYNAMIC_CONFIG_FILE, 'utf8')) as Record<string, { value: unknown }[]>;
  expect(dynamic['frontend.enableUpdateWorkflowExecution']).toEqual([{ value: true }]);
  expect(Number(env.NUM_HISTORY_SHARDS)).toBe(UP_DEFAULTS.historyShards);
  expect(env.LOG_LEVEL).toBe(UP_DEFAULTS.logLevel);
  const port = { grpc: 7233, membership: 6933, http: 7243 };
  const launcher = serverConfig({ postgresPort: 5432, ports: { frontend: port, history: port, matching: port, worker: port }, historyShards: 4, logLevel: 'warn' });
  expect(env.DB).toBe(launcher.persistence.datastores.default.sql.pluginName);
  // Not the deprecated image's settings: the schema is the one-shot's job, not the server's.
  expect(Object.keys(env).filter((key) => /^(SKIP_SCHEMA_SETUP|SKIP_DB_CREATE|DEFAULT_NAMESPACE)/.test(key))).toEqual([]);
});

test('the schema one-shot sets up the databases `bamboo cluster up` sets up, with the same three steps', () => {
  const schema = service(compose, SCHEMA);
  expect(schema.entrypoint).toEqual(['/bin/sh', '-c']);
  const raw = (Array.isArray(schema.command) ? schema.command : [schema.command ?? '']).join('\n');
  expect(hostInterpolations(raw)).toEqual([]);
  const { pairs, commands } = schemaSteps(registrationScript(schema));
  expect(pairs).toEqual(SCHEMAS.map((s) => `${s.database}:${s.schema}`));
  expect(commands).toEqual(['create', 'setup-schema -v 0.0', 'update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"']);
  const env = environment(schema);
  expect(env).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgresql', SQL_PORT: '5432' });
  expect(env.SQL_USER).toBe(environment(service(compose, 'temporal')).POSTGRES_USER);
  expect(env.SQL_PASSWORD).toBe(environment(service(compose, 'temporal')).POSTGRES_PWD);
});

test('ports: Temporal gRPC on 7233 and the Web UI on 8080; workers publish none (they scale)', () => {
  expect(publishedPorts(service(compose, 'temporal'))).toContainEqual({ host: '7233', container: '7233' });
  expect(publishedPorts(service(compose, 'temporal-ui'))).toContainEqual({ host: '8080', container: '8080' });
  const worker = service(compose, 'bamboo-worker');
  expect(worker.ports ?? []).toEqual([]);
  expect(worker.container_name).toBeUndefined();
  expect(worker.deploy?.replicas).toBeGreaterThanOrEqual(2);
});

test('the worker connects to the temporal service, on task queue bamboo, in the registered namespace', () => {
  const env = environment(service(compose, 'bamboo-worker'));
  const [host, port] = env.TEMPORAL_ADDRESS.split(':');
  expect(host).toBe('temporal');
  expect(compose.services[host]).toBeDefined();
  expect(publishedPorts(service(compose, host)).map((p) => p.container)).toContain(port);
  expect(env.BAMBOO_TASK_QUEUE).toBe(DEFAULT_TASK_QUEUE);
  expect(env.BAMBOO_TASK_QUEUE).toBe('bamboo');
  expect(env.TEMPORAL_NAMESPACE).toBe(environment(service(compose, INIT)).TEMPORAL_NAMESPACE);
  expect(environment(service(compose, INIT)).TEMPORAL_ADDRESS).toBe(env.TEMPORAL_ADDRESS);
});

test('the worker holds no literal secret: keys pass through by name, and no TEMPORAL_API_KEY (it would force TLS)', () => {
  const env = environment(service(compose, 'bamboo-worker'));
  expect(literalSecrets(env)).toEqual([]);
  expect(env).toMatchObject({ OPENAI_API_KEY: expect.stringMatching(/^\$\{OPENAI_API_KEY/), ANTHROPIC_API_KEY: expect.stringMatching(/^\$\{ANTHROPIC_API_KEY/) });
  expect(Object.keys(env).filter((key) => key === 'TEMPORAL_API_KEY' || key.startsWith('TEMPORAL_TLS'))).toEqual([]);
  // Every API key the example configuration names reaches the worker.
  const example = JSON.parse(readFileSync(join(ROOT, 'bamboo.config.example.json'), 'utf8')) as { providers: { apiKeyEnv?: string }[] };
  for (const { apiKeyEnv } of example.providers) if (apiKeyEnv) expect(Object.keys(env)).toContain(apiKeyEnv);
  // No other service carries a bare literal secret either (defaults inside ${…} are the operator's to override).
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const [key, value] of Object.entries(environment(svc))) {
      if (SENSITIVE.test(key)) expect(`${name}: ${key}=${value}`).toMatch(/=\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$/);
    }
  }
});

test('the worker configuration file is optional and, when used, mounted where BAMBOO_CONFIG points', () => {
  const worker = service(compose, 'bamboo-worker');
  const config = environment(worker).BAMBOO_CONFIG;
  // `${BAMBOO_CONFIG_FILE:+/config/bamboo.config.json}`: empty (built-in default) unless the operator names a file.
  const match = /^\$\{([A-Za-z_][A-Za-z0-9_]*):\+(\/[^}]+)\}$/.exec(config);
  expect(match).not.toBeNull();
  const [, variable, path] = match!;
  const mount = (worker.volumes ?? []).find((v) => typeof v === 'object' && v.target === path);
  expect(mount).toMatchObject({ type: 'bind', source: expect.stringContaining(`\${${variable}:-`) });
  const fallback = /:-([^}]+)\}/.exec((mount as { source: string }).source)?.[1] ?? '';
  expect(existsSync(resolve(ROOT, fallback))).toBe(true);
});

test('registration names exactly BAMBOO_SEARCH_ATTRIBUTES with their types, in a script Compose leaves alone', () => {
  const init = service(compose, INIT);
  expect(init.entrypoint).toEqual(['/bin/bash', '-c']);
  const raw = (Array.isArray(init.command) ? init.command : [init.command ?? '']).join('\n');
  expect(hostInterpolations(raw)).toEqual([]);
  const pairs = registeredAttributes(registrationScript(init));
  expect(pairs.map((p) => p.name).sort()).toEqual(BAMBOO_SEARCH_ATTRIBUTES.map((key) => key.name).sort());
  const typeOf = new Map(BAMBOO_SEARCH_ATTRIBUTES.map((key) => [key.name, key.type]));
  for (const pair of pairs) expect({ [pair.name]: pair.type.toUpperCase() }).toEqual({ [pair.name]: typeOf.get(pair.name) });
});

test('start order: postgres healthy → schema done → temporal healthy → registration done → workers; UI after temporal', () => {
  expect(service(compose, 'postgresql').healthcheck?.test).toBeDefined();
  expect(service(compose, 'temporal').healthcheck?.test).toBeDefined();
  expect(dependsOn(service(compose, SCHEMA))).toMatchObject({ postgresql: 'service_healthy' });
  expect(dependsOn(service(compose, 'temporal'))).toMatchObject({ [SCHEMA]: 'service_completed_successfully' });
  expect(dependsOn(service(compose, INIT))).toMatchObject({ temporal: 'service_healthy' });
  expect(dependsOn(service(compose, 'bamboo-worker'))).toMatchObject({ [INIT]: 'service_completed_successfully' });
  expect(dependsOn(service(compose, 'temporal-ui'))).toHaveProperty('temporal');
  const postgresVolume = (service(compose, 'postgresql').volumes ?? []).find((v) => typeof v === 'string' && v.endsWith(':/var/lib/postgresql/data'));
  expect(compose.volumes ?? {}).toHaveProperty(String(postgresVolume).split(':')[0]);
});

test('the Web UI talks to the temporal service; the codec endpoint is optional and env-driven', () => {
  const env = environment(service(compose, 'temporal-ui'));
  expect(env.TEMPORAL_ADDRESS).toBe(environment(service(compose, 'bamboo-worker')).TEMPORAL_ADDRESS);
  expect(env.TEMPORAL_CORS_ORIGINS).toBeTruthy();
  expect(env.TEMPORAL_CODEC_ENDPOINT).toMatch(/^\$\{TEMPORAL_CODEC_ENDPOINT(:?-)?\}$/);
});

test('traces: the workers export OTLP/HTTP to the jaeger service (OTLP on), whose UI is published on localhost', () => {
  const jaeger = service(compose, 'jaeger');
  expect(environment(jaeger).COLLECTOR_OTLP_ENABLED).toBe('true');
  expect(publishedPorts(jaeger)).toEqual([{ host: '16686', container: '16686' }]); // the UI only; OTLP stays inside the network
  expect((jaeger.ports ?? []).every((p) => String(p).startsWith('127.0.0.1:'))).toBe(true);
  const env = environment(service(compose, 'bamboo-worker'));
  // `${VAR-default}`: the default unless the operator sets the variable (set empty: traces off).
  const endpoint = /^\$\{OTEL_EXPORTER_OTLP_ENDPOINT-([^}]+)\}$/.exec(env.OTEL_EXPORTER_OTLP_ENDPOINT)?.[1];
  expect(endpoint).toBe('http://jaeger:4318');
  const metricsPort = /^\$\{BAMBOO_METRICS_PORT:-([^}]*)\}$/.exec(env.BAMBOO_METRICS_PORT)?.[1];
  expect(metricsPort).toBe('');
  // What the worker makes of it: traces on over OTLP/HTTP protobuf (Jaeger's default), metrics off, no prompt text.
  const settings = observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME, BAMBOO_METRICS_PORT: metricsPort });
  expect(settings).toEqual({ traces: { protocol: 'http/protobuf', captureContent: false, serviceName: 'bamboo-worker' } });
  expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toEqual({});
});

// ---- the image ---------------------------------------------------------------------------------

test('the worker is built from a Dockerfile that exists, compiles in a build stage and runs `bamboo worker` from the build', () => {
  const build = service(compose, 'bamboo-worker').build;
  const context = typeof build === 'string' ? build : (build?.context ?? '.');
  const file = typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile');
  const path = resolve(ROOT, context, file);
  expect(existsSync(path)).toBe(true);
  const steps = dockerfile(path);
  const from = steps.filter((s) => s.op === 'FROM');
  expect(from).toHaveLength(2);
  for (const stage of from) {
    expect(imageTagProblems(stage.args.split(/\s+/)[0])).toEqual([]);
    expect(stage.args).toMatch(/^node:(20|22|24)[.-]/); // package.json engines: node >= 20.11
  }
  expect(steps.filter((s) => s.op === 'ENTRYPOINT')).toEqual([]);
  const cmd = steps.filter((s) => s.op === 'CMD').pop();
  expect(execForm(cmd?.args ?? '[]')).toEqual(['node', 'bin/bamboo.js', 'worker']);
  // The image runs the build: its last stage installs no dev dependency (no tsx, no TypeScript) and copies dist/ from the first.
  const last = steps.slice(steps.lastIndexOf(from[1]));
  expect(last.filter((s) => s.op === 'RUN').map((s) => s.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev /)]);
  expect(last.some((s) => s.op === 'COPY' && /--from=build \/app\/dist \.\/dist/.test(s.args))).toBe(true);
  expect(last.filter((s) => s.op === 'COPY').map((s) => s.args).join('\n')).not.toMatch(/\.ts\b|common|workflows|worker |client/);
  // The worker only: no Temporal dev server, no demo.
  expect(steps.map((s) => s.args).join('\n')).not.toMatch(/start-dev|dev-server|npm (start|run (start|dev-server))/);
  // The prebuilt workflow bundle the worker is told about is the one the build writes.
  const bundle = steps.find((s) => s.op === 'ENV' && s.args.includes('BAMBOO_WORKFLOW_BUNDLE='))?.args.match(/BAMBOO_WORKFLOW_BUNDLE=(\S+)/)?.[1];
  if (bundle) expect(steps.some((s) => s.op === 'RUN' && s.args.includes(bundle))).toBe(true);
});

test('the compose worker loads the image bundle built for its encryption setting', () => {
  // `/app/workflow-bundle${BAMBOO_ENCRYPTION_KEY:+.encoded-failures}.js`: the plain bundle, or with a key the one that encodes failures.
  const value = environment(service(compose, 'bamboo-worker')).BAMBOO_WORKFLOW_BUNDLE;
  const match = /^([^$]*)\$\{BAMBOO_ENCRYPTION_KEY:\+([^}]*)\}([^$]*)$/.exec(value);
  expect(match).not.toBeNull();
  const [, before, infix, after] = match!;
  const runs = dockerfile().filter((s) => s.op === 'RUN').map((s) => ` ${s.args} `).join('\n');
  expect(runs).toContain(` node dist/cli/bundle-workflows.js ${before}${after} `);
  expect(runs).toContain(` node dist/cli/bundle-workflows.js --encode-failures ${before}${infix}${after} `);
});

test('.dockerignore lets in exactly what the Dockerfile copies, and keeps local config, secrets and caches out', () => {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  expect(lines[0]).toBe('*');
  const allowed = lines.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
  const copied = dockerfile()
    .filter((s) => s.op === 'COPY' && !s.args.includes('--from'))
    .flatMap((s) => s.args.split(/\s+/).filter((arg) => !arg.startsWith('--')).slice(0, -1))
    .map((source) => source.replace(/^\.\//, '').replace(/\/$/, ''));
  // Each thing let in is copied, and each copy is of something let in (or inside it).
  expect([...new Set(copied.filter((source) => allowed.includes(source)))].sort()).toEqual([...allowed].sort());
  expect(copied.filter((source) => !allowed.some((a) => source === a || source.startsWith(`${a}/`)))).toEqual([]);
  for (const secretish of ['bamboo.config.json', '.env', '.cache', 'node_modules', 'test']) expect(allowed).not.toContain(secretish);
});

// ---- the checks can fail -------------------------------------------------------------------------

test('the checks catch a missing attribute, a latest tag, an untagged image, a literal secret and a host $', () => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');

  const missing = loadCompose(text.replace(/\n[^\n]*--name BambooModel --type Keyword/, ''));
  const names = registeredAttributes(registrationScript(service(missing, INIT))).map((p) => p.name);
  expect(names).toHaveLength(BAMBOO_SEARCH_ATTRIBUTES.length - 1);
  expect(names).not.toContain('BambooModel');

  const latest = loadCompose(text.replace(/temporalio\/ui:[^\s"]+/, 'temporalio/ui:latest'));
  expect(unpinnedImages(latest)).toEqual(['temporal-ui: temporalio/ui:latest is not pinned (tag latest)']);
  const untagged = loadCompose(text.replace(/image: postgres:\S+/, 'image: postgres'));
  expect(unpinnedImages(untagged)).toEqual(['postgresql: postgres has no tag']);
  expect(imageTagProblems('registry.example.com:5000/team/worker')).toEqual(['registry.example.com:5000/team/worker has no tag']);

  expect(literalSecrets({ OPENAI_API_KEY: 'sk-live-123' })).toEqual(['OPENAI_API_KEY=sk-live-123']);
  expect(literalSecrets({ OPENAI_API_KEY: '${ANTHROPIC_API_KEY:-}' })).toHaveLength(1);
  expect(literalSecrets({ OPENAI_API_KEY: '${OPENAI_API_KEY:-sk-default}' })).toHaveLength(1);
  expect(literalSecrets({ OPENAI_API_KEY: '${OPENAI_API_KEY:-}', TEMPORAL_ADDRESS: 'temporal:7233' })).toEqual([]);

  expect(hostInterpolations('echo "$$ns $$(date)"')).toEqual([]);
  expect(hostInterpolations('echo "$ns ${TEMPORAL_ADDRESS}"')).toEqual(['$ns', '${TEMPORAL_ADDRESS']);
});

// ---- the registration script, run ------------------------------------------------------------------

describe('the registration script against a real Temporal server', () => {
  const address = process.env.BAMBOO_TEST_TEMPORAL_ADDRESS;
  let connection: Connection;
  let binDir: string;

  beforeAll(async () => {
    if (!address) throw new Error('the jest global setup did not start a Temporal dev server');
    const cli = findTemporalCli({ install: false });
    binDir = mkdtempSync(join(tmpdir(), 'bamboo-compose-cli-'));
    symlinkSync(cli.path, join(binDir, 'temporal'));
    connection = await Connection.connect({ address });
  });
  afterAll(async () => {
    await connection?.close();
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  });

  function cleanEnv(namespace: string): NodeJS.ProcessEnv {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
    return { ...env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
  }

  function temporalCli(args: string[]) {
    const result = spawnSync(join(binDir, 'temporal'), [...args, '--address', address!], { encoding: 'utf8', env: cleanEnv('default') });
    if (result.status !== 0) throw new Error(`temporal ${args.join(' ')}: ${result.stderr}`);
  }

  function runScript(namespace: string) {
    const script = registrationScript(service(compose, INIT));
    return spawnSync('bash', ['-c', script], { encoding: 'utf8', env: cleanEnv(namespace), timeout: 100_000 });
  }

  async function customAttributes(namespace: string) {
    const response = await connection.operatorService.listSearchAttributes({ namespace });
    return response.customAttributes ?? {};
  }

  test('creates the namespace, registers every attribute with its type in it, and a second run succeeds too', async () => {
    const namespace = `compose-sa-${process.pid}-${Date.now()}`;
    for (const run of [1, 2]) {
      const result = runScript(namespace);
      expect({ run, status: result.status, stderr: result.stderr }).toMatchObject({ run, status: 0 });
    }
    const registered = await customAttributes(namespace);
    for (const key of BAMBOO_SEARCH_ATTRIBUTES) expect({ [key.name]: registered[key.name] }).toEqual({ [key.name]: INDEXED_VALUE_TYPE[key.type] });
  });

  test('fails, naming the attribute, when one exists with another type', async () => {
    const namespace = `compose-sa-conflict-${process.pid}-${Date.now()}`;
    temporalCli(['operator', 'namespace', 'create', '--namespace', namespace]);
    temporalCli(['operator', 'search-attribute', 'create', '--namespace', namespace, '--name', 'BambooModel', '--type', 'Text']);
    const result = runScript(namespace);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/BambooModel already exists and has different type/);
  });
});
