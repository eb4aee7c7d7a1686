/**
 * The tree page's server refuses what it must before anything reaches Temporal (issue 27): off
 * loopback without a token it does not start; with a token, a request without it is refused;
 * an action without the page's CSRF token, or from another origin, is refused; scripts may come
 * from the page's origin only. (The page itself is tested in Chromium: test/e2e/tree-page.test.ts.)
 */
import { request as httpRequest } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { LiveHub } from '../../cli/ui/live';
import { TemporalReads } from '../../cli/ui/reads';
import { startUiServer, uiApp } from '../../cli/ui/server';

// A client whose connection goes nowhere: none of these requests may reach Temporal.
const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
const app = (token?: string) => uiApp({ client, namespace: 'default', ...(token ? { token } : {}) }, new TemporalReads(client, 'default'), new LiveHub());

test('off this machine, the page does not start without a token', async () => {
  await expect(startUiServer({ client, namespace: 'default', host: '0.0.0.0', port: 0 })).rejects.toThrow(
    'bamboo ui: serving on 0.0.0.0 (not this machine only) needs a token: --token or BAMBOO_UI_TOKEN',
  );
});

test('with a token, a request without it is refused; ?token= once sets an HttpOnly cookie that lets the next in', async () => {
  const gated = app('s3cret');
  expect((await gated.request('/inbox')).status).toBe(401);
  expect((await gated.request('/inbox?token=wrong')).status).toBe(401);
  const login = await gated.request('/inbox?token=s3cret');
  expect(login.status).toBe(302);
  expect(login.headers.get('location')).toBe('/inbox');
  const cookie = login.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/^bamboo_ui=s3cret;.*HttpOnly.*SameSite=Strict/i);
  expect((await gated.request('/inbox', { headers: { cookie: 'bamboo_ui=s3cret' } })).status).toBe(200);
  expect((await gated.request('/inbox', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  // The login redirect stays on this server.
  expect((await gated.request('//evil.example/?token=s3cret')).headers.get('location')).toBe('/evil.example/');
});

test('an action without the page’s CSRF token, or from another origin, is refused before it reaches Temporal', async () => {
  const open = app();
  const page = await (await open.request('/')).text();
  const token = /"x-bamboo-csrf":"([^"]+)"/.exec(page)?.[1];
  expect(token).toBeDefined();
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const missing = await open.request('/actions/cancel/s-1', { method: 'POST', headers: { ...form, origin: 'http://localhost' }, body: '' });
  expect(missing.status).toBe(403);
  expect(await missing.text()).toContain('refused: the request did not come from this page (CSRF token missing or wrong)');
  const elsewhere = await open.request('http://localhost/actions/cancel/s-1', { method: 'POST', headers: { ...form, origin: 'https://evil.example', 'x-bamboo-csrf': token! }, body: '' });
  expect(elsewhere.status).toBe(403);
  // A bad decision is refused by the contract's schema, naming the field; nothing is sent.
  const bad = await open.request('http://localhost/actions/respond/s-1/r-1', { method: 'POST', headers: { ...form, origin: 'http://localhost', 'x-bamboo-csrf': token! }, body: 'decision=maybe' });
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('refused: decision: ');
});

test('scripts come from the page’s origin only: no inline script can run', async () => {
  const response = await app().request('/');
  const policy = response.headers.get('content-security-policy') ?? '';
  expect(policy).toContain("script-src 'self'");
  expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
  expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(await response.text()).not.toMatch(/<script>(?!<\/script>)/);
});

/** A request with any Host header (fetch will not send one of its own choosing). */
function rawGet(url: string, host: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    request.on('error', reject);
    request.end();
  });
}

test('on loopback, a request naming another host is refused (a page elsewhere whose name was rebound to 127.0.0.1)', async () => {
  const ui = await startUiServer({ client, namespace: 'default', port: 0 });
  try {
    const { port } = new URL(ui.url);
    expect(await rawGet(`${ui.url}/inbox`, `127.0.0.1:${port}`)).toBe(200);
    expect(await rawGet(`${ui.url}/inbox`, `localhost:${port}`)).toBe(200);
    expect(await rawGet(`${ui.url}/inbox`, `evil.example:${port}`)).toBe(421);
    expect(await rawGet(`${ui.url}/actions/cancel/s-1`, `evil.example:${port}`, 'POST')).toBe(421);
    // A live stream answers GET only: a HEAD would subscribe a poller that nobody reads.
    expect(await rawGet(`${ui.url}/live/inbox`, `127.0.0.1:${port}`, 'HEAD')).toBe(405);
    expect(ui.hub.stats()).toEqual({ topics: 0, subscribers: 0 });
  } finally {
    await ui.close();
  }
});

test('a listener that stops reading holds nobody else up, and is dropped', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
  try {
    const hub = new LiveHub(1000);
    let n = 0;
    const render = async () => `fragment ${++n}`;
    const healthy: string[] = [];
    let dropped = false;
    hub.subscribe('t', render, () => new Promise<void>(() => undefined), () => void (dropped = true)); // never finishes a write
    hub.subscribe('t', render, async (html) => void healthy.push(html));
    for (let tick = 0; tick < 12; tick++) {
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(healthy.length).toBeGreaterThanOrEqual(10);
    expect(dropped).toBe(true);
    expect(hub.stats()).toEqual({ topics: 1, subscribers: 1 });
    hub.close();
  } finally {
    jest.useRealTimers();
  }
});
