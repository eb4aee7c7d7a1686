/**
 * The embedded default: the Temporal CLI dev server with Bamboo's search attributes
 * registered. Persistent (SQLite file, Web UI) for `npm run dev-server` and the demo;
 * in-memory on free ports for tests.
 *
 * The server is a child process of this Node process (`child_process.spawn`), so it holds
 * the event loop open for as long as it runs: a command that starts it stays up until the
 * server is stopped, and sees it exit. (Started through `@temporalio/testing`, the process
 * belonged to the SDK's native runtime, which Node's event loop does not see: a command with
 * nothing else to do exited at once, and the native runtime killed the server on the way out.)
 * `stop()` ends it gracefully (SIGTERM, SIGKILL after a grace period); if this process exits
 * first, the server is killed with it.
 */
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { BAMBOO_SEARCH_ATTRIBUTES, errorMessage } from '../../common';
import { findTemporalCli, type FindOptions } from './cli-binary';

export interface DevServerOptions {
  /** SQLite file; omit for an in-memory server. */
  dbFilename?: string;
  /** gRPC port; omit for a free port. */
  port?: number;
  /** Web UI port, or `'free'` for a free one; omit for no UI. */
  uiPort?: number | 'free';
  namespace?: string;
  /** Codec server for the Web UI (payload encryption). */
  uiCodecEndpoint?: string;
  /** SQLite pragmas for the file store, as `name=value` (e.g. `journal_mode=wal`). */
  sqlitePragmas?: string[];
  find?: FindOptions;
  /** How long the server may take to answer after it starts (default 60 s). */
  startTimeoutMs?: number;
  /** Port of the server's Prometheus metrics (`/metrics`); omit for none. */
  metricsPort?: number;
  /** Where a start retried on fresh ports says so (default: this process's stderr). */
  log?: (line: string) => void;
  /** Picks the free ports this function chooses (tests take the pick's port to make the race happen). */
  pickPort?: () => Promise<number>;
}

export interface DevServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  /** The server's process id (undefined only when it could not be spawned). */
  pid?: number;
  /** Settles when the server process has exited, stopped or not. */
  exited: Promise<DevServerExit>;
  /** Stops the server gracefully and waits until its process is gone. */
  stop(): Promise<void>;
}

const IP = '127.0.0.1';
/** How long a graceful stop may take before the server is killed (it usually takes ~3 s). */
const STOP_GRACE_MS = 15_000;

/**
 * Starts the dev server and waits until it answers. Ports it picks itself (the gRPC port when
 * `port` is omitted, the UI's with `uiPort: 'free'`) were free when picked but may be taken
 * before the server binds them — by another process, or by the server's own services, which
 * pick their ports the same way. Such a start is retried on freshly picked ports, at most
 * PORT_ATTEMPTS times, saying so through `log`.
 * @throws Error when a port given explicitly is in use (naming it), when every attempt found a
 *   port taken (naming each attempt's ports), or when the server fails otherwise (with its log's tail).
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const found = findTemporalCli(options.find);
  const pick = options.pickPort ?? freePort;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const taken: string[] = [];
  for (let attempt = 1; ; attempt++) {
    if (options.port !== undefined) await ensurePortFree(options.port, 'gRPC');
    if (typeof options.uiPort === 'number') await ensurePortFree(options.uiPort, 'Web UI');
    const port = options.port ?? (await pick());
    const uiPort = options.uiPort === 'free' ? await pick() : options.uiPort;
    try {
      return await launch(found.path, { ...options, port, uiPort });
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      const ports = `gRPC ${port}${uiPort !== undefined ? `, Web UI ${uiPort}` : ''}`;
      taken.push(`attempt ${attempt} (${ports}): ${error.what} port ${error.port} taken`);
      if (attempt >= PORT_ATTEMPTS) {
        throw new Error(`the Temporal dev server found a port taken on each of ${PORT_ATTEMPTS} attempts: ${taken.join('; ')}`, { cause: error });
      }
      log(`the Temporal dev server's ${error.what} port ${error.port} was taken before it could bind it (${ports}); starting it again on fresh ports`);
    }
  }
}

/** How many times a start whose port was taken is tried, on fresh ports each time. */
const PORT_ATTEMPTS = 3;

/** The server exited because a port it was to bind was taken (its own words: `can't set UI port N: … address already in use`). */
class PortTakenError extends Error {
  constructor(message: string, readonly what: string, readonly port: number) {
    super(message);
  }
}

const PORT_TAKEN = /can't set (.+?) port (\d+):[^\n]*address already in use/;

async function launch(path: string, options: DevServerOptions & { port: number; uiPort?: number }): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  const port = options.port;
  const args = [
    'server', 'start-dev',
    '--ip', IP,
    '--port', String(port),
    '--namespace', namespace,
    '--log-format', 'pretty',
    '--log-level', 'warn',
    // The same dynamic configuration @temporalio/testing gives its dev servers.
    '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    ...(options.metricsPort !== undefined ? ['--metrics-port', String(options.metricsPort)] : []),
    ...(options.uiPort !== undefined ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...searchAttributeArgs(),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
    ...(options.sqlitePragmas ?? []).flatMap((pragma) => ['--sqlite-pragma', pragma]),
  ];
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The server's log (stderr: warnings and errors) goes on to this process's stderr while it
  // runs; its banner (stdout) and a stop's shutdown chatter do not. The tail explains a failed start.
  let forwarding = true;
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (forwarding) process.stderr.write(chunk);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let running = true;
  const exited = new Promise<DevServerExit>((resolve) => {
    child.once('error', (error) => {
      tail += `\n${error.message}`;
      running = false;
      process.off('exit', killOnExit);
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      running = false;
      process.off('exit', killOnExit);
      resolve({ code, signal });
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      forwarding = false;
      if (!running) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(killer);
    })());

  const address = `${IP}:${port}`;
  try {
    await waitUntilServing(address, namespace, () => running, options.startTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    const exit = await exited;
    const how = exit.code !== null || exit.signal ? `it exited (${exit.signal ?? `code ${exit.code}`})` : 'it did not start';
    const message = `${errorMessage(error)}; ${how}${tail.trim() ? `:\n${tail.trim()}` : ''}`;
    const taken = PORT_TAKEN.exec(tail);
    throw taken ? new PortTakenError(message, taken[1], Number(taken[2])) : new Error(message);
  }
  return {
    address,
    namespace,
    uiUrl: options.uiPort !== undefined ? `http://localhost:${options.uiPort}` : undefined,
    pid: child.pid,
    exited,
    stop,
  };
}

/** `start-dev` flags registering every Bamboo search attribute with its type. */
export function searchAttributeArgs(): string[] {
  return BAMBOO_SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${TypedSearchAttributes.toMetadataType(type)}`]);
}

/** Polls until the frontend answers for the namespace; fails early if the process is gone. */
async function waitUntilServing(address: string, namespace: string, alive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (alive()) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        if (alive()) return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`the Temporal dev server on ${address} did not answer within ${timeoutMs / 1000} s (${errorMessage(lastError)})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the Temporal dev server on ${address} stopped before it was ready`);
}

/** A port taken by another process would otherwise be taken for this server answering. */
function ensurePortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'EADDRINUSE' ? `${what} port ${port} is already in use` : `cannot use ${what} port ${port}: ${error.message}`)),
    );
    probe.listen(port, IP, () => probe.close(() => resolve()));
  });
}

/** A TCP port free right now on 127.0.0.1 (it may be taken before it is bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, IP, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
