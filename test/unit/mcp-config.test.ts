/** `mcpServers` in the configuration file: strict, named for tool names, no secrets inline. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../worker/config/load';

function configWith(mcpServers: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bamboo-mcp-config-')), 'bamboo.config.json');
  writeFileSync(file, JSON.stringify({ mcpServers }));
  return file;
}

test('no mcpServers: none', () => {
  expect(loadConfig(undefined).mcpServers).toEqual([]);
});

test('a stdio and an HTTP server parse with their defaults', () => {
  const config = loadConfig(
    configWith([
      { name: 'files', transport: 'stdio', command: '/usr/bin/node', tools: ['read_file'] },
      { name: 'search', transport: 'http', url: 'https://mcp.example.com/mcp', headersEnv: { Authorization: 'SEARCH_MCP_TOKEN' } },
    ]),
  );
  expect(config.mcpServers).toEqual([
    { name: 'files', transport: 'stdio', command: '/usr/bin/node', args: [], env: {}, inheritEnv: [], tools: ['read_file'] },
    { name: 'search', transport: 'http', url: 'https://mcp.example.com/mcp', headersEnv: { Authorization: 'SEARCH_MCP_TOKEN' } },
  ]);
});

test('an unknown key is an error naming it (a literal header value has no place to go)', () => {
  expect(() => loadConfig(configWith([{ name: 's', transport: 'http', url: 'http://127.0.0.1/mcp', headers: { Authorization: 'Bearer x' } }]))).toThrow(
    /mcpServers\[0\]\.headers: unknown key/,
  );
  expect(() => loadConfig(configWith([{ name: 's', transport: 'stdio', command: 'x', url: 'http://127.0.0.1/mcp' }]))).toThrow(/mcpServers\[0\]\.url: unknown key/);
});

test('a server name must fit in mcp__<server>__<tool>: no "__", no other characters', () => {
  expect(() => loadConfig(configWith([{ name: 'a__b', transport: 'stdio', command: 'x' }]))).toThrow(/mcpServers\[0\]\.name: must not contain "__"/);
  expect(() => loadConfig(configWith([{ name: 'my server', transport: 'stdio', command: 'x' }]))).toThrow(/mcpServers\[0\]\.name: letters, digits/);
});

test('server names are unique; a transport is stdio or http; an HTTP url is http(s)', () => {
  const twice = [
    { name: 'x', transport: 'stdio', command: 'a' },
    { name: 'x', transport: 'stdio', command: 'b' },
  ];
  expect(() => loadConfig(configWith(twice))).toThrow(/mcpServers\[1\]\.name: duplicate MCP server name "x"/);
  expect(() => loadConfig(configWith([{ name: 'x', transport: 'sse', url: 'http://h/mcp' }]))).toThrow(/mcpServers\[0\]\.transport/);
  expect(() => loadConfig(configWith([{ name: 'x', transport: 'http', url: 'file:///etc/passwd' }]))).toThrow(/mcpServers\[0\]\.url/);
});

test('a per-server time limit is at most the reference 120 s', () => {
  expect(() => loadConfig(configWith([{ name: 'x', transport: 'stdio', command: 'a', timeoutSecs: 600 }]))).toThrow(/mcpServers\[0\]\.timeoutSecs/);
  expect(loadConfig(configWith([{ name: 'x', transport: 'stdio', command: 'a', timeoutSecs: 30 }])).mcpServers[0]).toMatchObject({ timeoutSecs: 30 });
});
