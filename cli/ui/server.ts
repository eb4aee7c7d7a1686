/**
 * `bamboo ui`: the session-tree page (docs/ui.md). Hono serves server-rendered HTML; htmx swaps
 * the fragments a server-sent event stream pushes (one poller per topic, live.ts) and posts the
 * actions. Reads go through the same client (and codec) as the CLI; nothing is written to disk.
 *
 * Safety: it binds 127.0.0.1 unless told otherwise, and any other address needs a token; every
 * action is a POST carrying the page's CSRF token (and a same-origin check); every text from a
 * model, a tool or a person is escaped, and the Content-Security-Policy allows no inline script.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import { BambooClient, BambooInputError, UpdateRejectedError } from '../../client';
import { BambooPendingRequests, BambooModel, BambooRunStatus, errorMessage, RespondInputSchema, type FullTranscriptEntry, type PendingRequest } from '../../common';
import { LiveHub } from './live';
import { quote, TemporalReads } from './reads';
import { progressOf, TreeWatch } from './tree-watch';
import * as views from './views';

export interface UiServerOptions {
  client: Client;
  namespace: string;
  /** Default 127.0.0.1; any other address needs `token`. */
  host?: string;
  /** Default 8234; 0: a free port. */
  port?: number;
  /** Required off loopback: given as `?token=` once (then a cookie), or `Authorization: Bearer`. */
  token?: string;
  /** The Temporal Web UI, for links into histories. */
  temporalUiUrl?: string;
  /** How often live topics poll Temporal (default 1000 ms). */
  intervalMs?: number;
  /** Running sessions whose heartbeat details a tree tick reads (default 4, in turn). */
  progressPerTick?: number;
  /** The task queue sessions' follow-up runs start on. */
  taskQueue?: string;
  /** Without a token: the Host headers accepted (`127.0.0.1:<port>`…); startUiServer sets it once it listens. */
  allowedHosts?: () => readonly string[];
}

export interface UiServer {
  url: string;
  reads: TemporalReads;
  hub: LiveHub;
  close(): Promise<void>;
}

export const DEFAULT_UI_PORT = 8234;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const ROOTS_PAGE = 50;

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !options.token) throw new Error(`bamboo ui: serving on ${host} (not this machine only) needs a token: --token or BAMBOO_UI_TOKEN`);
  const reads = new TemporalReads(options.client, options.namespace);
  const hub = new LiveHub(options.intervalMs ?? 1000);
  let hosts: string[] = [];
  const app = uiApp({ ...options, allowedHosts: () => hosts }, reads, hub);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: host, port: options.port ?? DEFAULT_UI_PORT }, () => resolve(started));
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host.includes(':') ? `[${host}]` : host}:${port}`].map((h) => h.toLowerCase());
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    reads,
    hub,
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

export function uiApp(options: UiServerOptions, reads: TemporalReads, hub: LiveHub): Hono {
  const csrfToken = randomBytes(24).toString('base64url');
  const ctx: views.PageContext = { csrfToken, namespace: options.namespace, ...(options.temporalUiUrl ? { temporalUiUrl: options.temporalUiUrl } : {}) };
  const bamboo = new BambooClient(options.client, options.taskQueue ? { taskQueue: options.taskQueue } : {});
  const app = new Hono();

  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'"], connectSrc: ["'self'"], frameAncestors: ["'none'"] },
    }),
  );
  // On loopback the token is the Host header: a page elsewhere whose name was rebound to 127.0.0.1 sends its own name.
  if (options.token) app.use(tokenGate(options.token));
  else if (options.allowedHosts) {
    const allowed = options.allowedHosts;
    app.use(async (c, next) => {
      if (!allowed().includes((c.req.header('host') ?? '').toLowerCase())) return c.text('bamboo ui: unknown Host (open the page at the address bamboo ui printed)', 421);
      await next();
    });
  }
  app.use('/actions/*', csrf());
  app.use('/actions/*', async (c, next) => {
    if (!same(c.req.header('x-bamboo-csrf') ?? '', csrfToken)) return c.html(views.refusal('refused: the request did not come from this page (CSRF token missing or wrong)'), 403);
    await next();
  });

  app.get('/assets/htmx.js', (c) => script(c, HTMX));
  app.get('/assets/sse.js', (c) => script(c, HTMX_SSE));
  app.get('/assets/page.js', (c) => script(c, PAGE_SCRIPT));
  app.get('/stats.json', (c) => c.json({ reads: reads.counts(), total: reads.total(), ...hub.stats(), renders: hub.renders, sends: hub.sends }));

  // ── sessions ──
  app.get('/', (c) => {
    const filter = rootFilter(c);
    return c.html(views.sessionsPage(ctx, filter, filterQuery(filter, c.req.query('page'))));
  });
  app.get('/live/sessions', (c) => {
    const filter = rootFilter(c);
    const page = c.req.query('page');
    const query = filterQuery(filter, page);
    return live(c, hub, `sessions?${query}`, 'sessions', async () => {
      const { runs, nextPageToken } = await reads.listPage(visibilityQuery(filter), ROOTS_PAGE, page);
      return String(await views.sessionsTable(runs, nextPageToken, filterQuery(filter)));
    });
  });

  // ── a tree ──
  app.get('/roots/:id', (c) => c.html(views.treePage(ctx, c.req.param('id'))));
  app.get('/live/roots/:id', (c) => {
    const id = c.req.param('id');
    const watch = new TreeWatch(reads, id, options.progressPerTick);
    return live(c, hub, `tree:${id}`, 'tree', async () => String(await views.treeFragment(await watch.read())));
  });

  // ── a session ──
  app.get('/sessions/:id', async (c) => {
    const id = c.req.param('id');
    const runs = await reads.sessionRuns(id).catch(() => []);
    return c.html(views.sessionPage(ctx, id, runs[0]?.kind !== 'child'));
  });
  app.get('/live/sessions/:id', (c) => {
    const id = c.req.param('id');
    return live(c, hub, `session:${id}`, 'state', async () => {
      const [state, progress] = await Promise.all([reads.state(id), progressOf(reads, bamboo.getSession(id).workflowId)]);
      return String(await views.stateFragment(state, progress, Date.now()));
    });
  });
  app.get('/sessions/:id/runs', async (c) => c.html(views.runsFragment(ctx, await reads.sessionRuns(c.req.param('id')))));
  app.get('/sessions/:id/transcript', async (c) => {
    const id = c.req.param('id');
    const full = c.req.query('full') === '1';
    let entries: FullTranscriptEntry[];
    if (full) {
      // Every message across summaries and runs, read from histories (client/full-transcript.ts).
      entries = await bamboo.getSession(id).fullTranscript();
    } else {
      const state = await reads.state(id);
      if (!state) return c.html(views.refusal('The session does not answer its transcript query.'));
      entries = (await reads.transcript(id, state.messageCount)).map((message) => ({ kind: 'message', message }));
    }
    const from = Math.max(0, Math.min(Number(c.req.query('from') ?? 0) || 0, Math.max(0, entries.length - 1)));
    return c.html(views.transcriptFragment(id, entries, from, full));
  });

  // ── the inbox ──
  app.get('/inbox', (c) => c.html(views.inboxPage(ctx)));
  app.get('/live/inbox', (c) =>
    live(c, hub, 'inbox', 'inbox', async () => {
      const roots = await reads.listPage(`WorkflowType = "sessionWorkflow" AND ExecutionStatus = "Running" AND ${BambooPendingRequests.name} > 0`, 200);
      const entries: { rootSessionId: string; request: PendingRequest }[] = [];
      for (const root of roots.runs) {
        const state = await reads.state(root.sessionId);
        for (const request of state?.pendingRequests ?? []) entries.push({ rootSessionId: root.sessionId, request });
      }
      entries.sort((a, b) => a.request.requestedAt.localeCompare(b.request.requestedAt));
      return String(await views.inboxFragment(entries));
    }),
  );

  // ── actions ──
  app.post('/actions/respond/:root/:request', async (c) => {
    const form = await c.req.parseBody();
    const decision = String(form.decision ?? '');
    const input = RespondInputSchema.safeParse({
      requestId: c.req.param('request'),
      decision,
      ...(decision === 'answer' ? { text: String(form.text ?? '') } : form.reason ? { reason: String(form.reason) } : {}),
    });
    if (!input.success) return c.html(views.refusal(`refused: ${input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`), 400);
    return act(c, async () => {
      const receipt = await bamboo.getSession(c.req.param('root')).respond(input.data);
      return `${receipt.decision} of request ${receipt.requestId} recorded at ${receipt.recordedAt}${receipt.delivered ? '; the session that asked has it' : '; the session that asked no longer waits'}`;
    });
  });
  app.post('/actions/steer/:id', async (c) => {
    const message = String((await c.req.parseBody()).message ?? '');
    return act(c, async () => {
      const receipt = await bamboo.getSession(c.req.param('id')).steer(message);
      return receipt.mergedAtTurn === null ? `accepted at ${receipt.acceptedAt}; the run ended before a turn boundary, so it is in the run's final session` : `merged at turn ${receipt.mergedAtTurn} (message ${receipt.messageId})`;
    });
  });
  app.post('/actions/send/:id', async (c) => {
    const message = String((await c.req.parseBody()).message ?? '');
    return act(c, async () => {
      const sent = await bamboo.getSession(c.req.param('id')).send(message);
      return sent.delivery === 'user-message' ? 'sent as a user message' : sent.delivery === 'injected' ? 'injected into the running run' : `its next run started (${sent.runId})`;
    });
  });
  app.post('/actions/cancel/:id', (c) =>
    act(c, async () => {
      await bamboo.getSession(c.req.param('id')).cancel();
      return 'cancel requested: the run ends cancelled, and its children with it';
    }),
  );

  return app;
}

/** An action's outcome: its receipt, or the exact refusal (the workflow's validator text, or the input's problem). */
async function act(c: Context, run: () => Promise<string>): Promise<Response> {
  try {
    return c.html(views.receipt(await run()));
  } catch (error) {
    const refused = error instanceof UpdateRejectedError || error instanceof BambooInputError;
    return c.html(views.refusal(refused ? (error as Error).message : `failed: ${errorMessage(error)}`), refused ? 409 : 502);
  }
}

const KEEP_ALIVE_MS = 15_000;

/** A server-sent event stream of one topic's fragments, as `event` (GET only: a HEAD would subscribe and never read). */
function live(c: Context, hub: LiveHub, key: string, event: string, render: () => Promise<string>): Response {
  if (c.req.method !== 'GET') return c.body(null, 405, { allow: 'GET' });
  return streamSSE(c, async (stream) => {
    const closed = new Promise<void>((resolve) => {
      stream.onAbort(resolve);
      c.req.raw.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const stop = hub.subscribe(key, render, (data) => stream.writeSSE({ event, data }), () => stream.abort());
    // A comment now and then, so that a proxy's idle timeout does not cut a quiet page off.
    const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), KEEP_ALIVE_MS);
    await closed;
    clearInterval(keepAlive);
    stop();
  });
}

function rootFilter(c: Context): views.RootFilter {
  const text = (name: string) => {
    const value = c.req.query(name)?.trim();
    return value ? value.slice(0, 200) : undefined;
  };
  const status = text('status');
  const model = text('model');
  const q = text('q');
  return { ...(status ? { status } : {}), ...(model ? { model } : {}), ...(c.req.query('waiting') ? { waiting: true } : {}), ...(q ? { q } : {}) };
}

function filterQuery(filter: views.RootFilter, page?: string): string {
  const params = new URLSearchParams();
  if (filter.status) params.set('status', filter.status);
  if (filter.model) params.set('model', filter.model);
  if (filter.waiting) params.set('waiting', '1');
  if (filter.q) params.set('q', filter.q);
  if (page) params.set('page', page);
  return params.toString();
}

/** The visibility query for a filter; values are quoted, so no filter text can change the query's shape. */
export function visibilityQuery(filter: views.RootFilter): string {
  const parts = ['WorkflowType = "sessionWorkflow"'];
  if (filter.status) parts.push(`${BambooRunStatus.name} = ${quote(filter.status)}`);
  if (filter.model) parts.push(`${BambooModel.name} = ${quote(filter.model)}`);
  if (filter.waiting) parts.push(`${BambooPendingRequests.name} > 0`);
  if (filter.q) parts.push(`WorkflowId STARTS_WITH ${quote(`bamboo-session-${filter.q}`)}`);
  return parts.join(' AND ');
}

function tokenGate(token: string) {
  return async (c: Context, next: () => Promise<void>) => {
    const given = c.req.query('token');
    if (given !== undefined && same(given, token)) {
      setCookie(c, 'bamboo_ui', token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      // Back to the same page on this server: never `//other.host` or `/\other.host`.
      return c.redirect(`/${c.req.path.replace(/^[/\\]+/, '')}`);
    }
    const bearer = c.req.header('authorization')?.replace(/^Bearer\s+/i, '');
    if ((bearer && same(bearer, token)) || same(getCookie(c, 'bamboo_ui') ?? '', token)) return next();
    return c.text('bamboo ui: a token is required (open the URL with ?token=…)', 401);
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function script(c: Context, body: string): Response {
  return c.body(body, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
}

const HTMX = readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8');
const HTMX_SSE = readFileSync(require.resolve('htmx-ext-sse/dist/sse.min.js'), 'utf8');

/**
 * The page's own script: which tree nodes are collapsed lives in the URL's hash, so a live
 * swap and a reload keep it.
 */
const PAGE_SCRIPT = `
(function () {
  function collapsed() {
    var m = /collapsed=([^&]*)/.exec(location.hash);
    return m && m[1] ? decodeURIComponent(m[1]).split(',') : [];
  }
  function apply() {
    var ids = collapsed();
    document.querySelectorAll('details[data-session]').forEach(function (d) { d.open = ids.indexOf(d.dataset.session) < 0; });
  }
  // A person's click (or Enter on the summary) says what they want; toggles the page makes itself do not.
  document.addEventListener('click', function (e) {
    var summary = e.target && e.target.closest && e.target.closest('summary');
    var d = summary && summary.parentElement;
    if (!d || !d.dataset || !d.dataset.session) return;
    var ids = collapsed().filter(function (id) { return id !== d.dataset.session; });
    if (d.open) ids.push(d.dataset.session); // open now: this click closes it
    history.replaceState(null, '', '#collapsed=' + encodeURIComponent(ids.join(',')));
  }, true);
  // Whatever swapped the tree in (the live stream, a reload), the collapsed nodes close again.
  new MutationObserver(apply).observe(document.body, { childList: true, subtree: true });
  apply();
})();
`;
