/** MCP tools as ToolDefinitions: names, allow-lists, annotations, results, and the tool policy on full names. */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpConnection } from '../../worker/tools/mcp/connection';
import { describeTool, mcpToolDefinition, mcpToolName, progressNote } from '../../worker/tools/mcp/tools';
import { policyFor, restrictedCalls } from '../../worker/tools/policy';

const tool = (name: string, annotations?: Tool['annotations']): Tool => ({
  name,
  description: `the ${name} tool`,
  inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
  ...(annotations ? { annotations } : {}),
});

test('a tool is named mcp__<server>__<tool>', () => {
  expect(mcpToolName('github', 'create_issue')).toBe('mcp__github__create_issue');
  expect(describeTool('github', tool('create_issue'), undefined)).toEqual({
    name: 'mcp__github__create_issue',
    tool: 'create_issue',
    description: 'the create_issue tool',
    idempotent: false,
  });
});

test('read-only or idempotent annotations make a tool safe to run again after a worker died', () => {
  expect(describeTool('s', tool('a', { readOnlyHint: true }), undefined).idempotent).toBe(true);
  expect(describeTool('s', tool('b', { idempotentHint: true }), undefined).idempotent).toBe(true);
  expect(describeTool('s', tool('c', { readOnlyHint: false, destructiveHint: true }), undefined).idempotent).toBe(false);
});

test('the allow-list and provider name rules decide what is offered, saying why not', () => {
  expect(describeTool('s', tool('echo'), ['echo']).skipped).toBeUndefined();
  expect(describeTool('s', tool('add'), ['echo']).skipped).toBe('not in the server\'s "tools" allow-list');
  expect(describeTool('s', tool('files.read'), undefined).skipped).toMatch(/is not a name providers accept/);
  expect(describeTool('s', tool('x'.repeat(60)), undefined).skipped).toMatch(/at most 64 characters/);
  expect(describeTool('s', { ...tool('research'), execution: { taskSupport: 'required' } }, undefined).skipped).toBe('it runs only as an MCP task, which Bamboo does not use');
  expect(describeTool('s', { ...tool('research'), execution: { taskSupport: 'optional' } }, undefined).skipped).toBeUndefined();
});

test("the spec carries the server's own schema, without $schema", () => {
  const listed: Tool = { name: 'echo', description: 'Echo', inputSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { m: { type: 'string' } } } as Tool['inputSchema'] };
  const definition = mcpToolDefinition(fakeConnection(() => ({ content: [] })), listed, describeTool('s', listed, undefined));
  expect(definition.spec).toEqual({ name: 'mcp__s__echo', description: 'Echo', parameters: { type: 'object', properties: { m: { type: 'string' } } } });
});

test('execute passes the abort signal, reports progress notes, and turns isError into a tool error', async () => {
  const notes: string[] = [];
  let seenSignal: AbortSignal | undefined;
  const connection = fakeConnection((options) => {
    seenSignal = options.signal;
    options.onprogress({ progress: 1, total: 4 });
    options.onprogress({ progress: 2, message: 'halfway' });
    return { content: [{ type: 'text', text: 'done' }] };
  });
  const definition = mcpToolDefinition(connection, tool('work'), describeTool('s', tool('work'), undefined));
  const signal = new AbortController().signal;
  await expect(definition.execute({}, { signal, progress: (n) => notes.push(n) })).resolves.toBe('done');
  expect(seenSignal).toBe(signal);
  expect(notes).toEqual(['progress 1/4', 'progress 2: halfway']);

  const failing = mcpToolDefinition(fakeConnection(() => ({ isError: true, content: [{ type: 'text', text: 'no such repo' }] })), tool('w'), describeTool('s', tool('w'), undefined));
  await expect(failing.execute({}, { signal, progress: () => undefined })).rejects.toThrow('no such repo');
});

test('the tool policy applies to full MCP names: allow, deny, ask, per subagent_type', () => {
  const policy = { tools: { 'mcp__github__delete_repo': 'deny' as const, mcp__github__create_issue: 'ask' as const }, subagents: { triage: { mcp__github__create_issue: 'allow' as const, mcp__github__list_issues: 'ask' as const } } };
  expect(policyFor(policy, 'mcp__github__list_issues')).toBe('allow');
  expect(policyFor(policy, 'mcp__github__delete_repo')).toBe('deny');
  expect(policyFor(policy, 'mcp__github__create_issue')).toBe('ask');
  expect(policyFor(policy, 'mcp__github__create_issue', 'triage')).toBe('ask'); // an entry cannot loosen the base rules
  expect(policyFor(policy, 'mcp__github__list_issues', 'triage')).toBe('ask');
  expect(restrictedCalls(policy, [{ id: '1', name: 'mcp__github__create_issue', arguments: {} }])).toEqual({ mcp__github__create_issue: 'ask' });
});

test('a progress note reads progress/total and the message', () => {
  expect(progressNote({ progress: 3, total: 10, message: 'copying' })).toBe('progress 3/10: copying');
});

function fakeConnection(answer: (options: Parameters<McpConnection['callTool']>[2]) => CallToolResult): McpConnection {
  return {
    server: { name: 's', transport: 'stdio', command: 'x', args: [], env: {}, inheritEnv: [] },
    callTool: (_name: string, _args: Record<string, unknown>, options: Parameters<McpConnection['callTool']>[2]) => Promise.resolve(answer(options)),
  } as unknown as McpConnection;
}
