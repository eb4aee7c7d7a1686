/**
 * The tool policy (worker/tools/policy.ts): how a permission is chosen, the configuration file's
 * `toolPolicy`, and the model and tool activities enforcing it, run in the SDK's
 * MockActivityEnvironment (no server) with a recording provider and a recording tool.
 */
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createModelActivities } from '../../worker/activities/model';
import { createToolActivities } from '../../worker/activities/tools';
import { childToolPolicyMetadata, SessionSchema, SPAWN_TOOL, toolPolicyScopes, type Message, type ModelTurnResult, type ToolCall } from '../../common';
import { describeConfigError } from '../../worker/config/load';
import { BambooConfigSchema } from '../../worker/config/schema';
import { createProviderRegistry } from '../../worker/providers/router';
import type { ModelProvider, ModelRequest } from '../../worker/providers/types';
import { ASK_USER_TOOL, policyFor, restrictedCalls, scopesOf, type ToolPolicy } from '../../worker/tools/policy';
import { createToolRegistry, type ToolDefinition } from '../../worker/tools/types';
import { childSession } from '../helpers/session-fixtures';

describe('policyFor', () => {
  const policy: ToolPolicy = {
    default: 'ask',
    tools: { read_file: 'allow', shell: 'deny' },
    subagents: { coder: { shell: 'allow', read_file: 'deny' }, reviewer: {} },
  };

  it('takes the per-tool rule, then the default; a subagent_type entry can only make a tool stricter', () => {
    expect(policyFor(policy, 'shell')).toBe('deny');
    expect(policyFor(policy, 'read_file')).toBe('allow');
    expect(policyFor(policy, 'web_fetch')).toBe('ask');
    expect(policyFor(policy, 'read_file', 'coder')).toBe('deny'); // stricter: taken
    expect(policyFor(policy, 'shell', 'coder')).toBe('deny'); // looser: the base rule holds
    expect(policyFor(policy, 'web_fetch', 'coder')).toBe('ask');
    expect(policyFor(policy, 'shell', 'reviewer')).toBe('deny');
    expect(policyFor(policy, 'shell', 'no-such-type')).toBe('deny');
  });

  it('allows every tool when there is no policy or an empty one, and the default is allow', () => {
    for (const none of [undefined, {}, { tools: {} }]) {
      expect(policyFor(none, 'get_current_time')).toBe('allow');
      expect(policyFor(none, SPAWN_TOOL, 'coder')).toBe('allow');
    }
  });

  it('denies ask_user unless the policy names it, whatever the default', () => {
    expect(policyFor(undefined, ASK_USER_TOOL)).toBe('deny');
    expect(policyFor({ default: 'allow' }, ASK_USER_TOOL)).toBe('deny');
    expect(policyFor({ default: 'ask' }, ASK_USER_TOOL, 'coder')).toBe('deny');
    expect(policyFor({ tools: { ask_user: 'allow' } }, ASK_USER_TOOL)).toBe('allow');
    expect(policyFor({ tools: { ask_user: 'allow' }, subagents: { coder: { ask_user: 'ask' } } }, ASK_USER_TOOL, 'coder')).toBe('ask');
    // A subagent_type entry cannot allow what the base rules deny, ask_user included.
    expect(policyFor({ subagents: { coder: { ask_user: 'allow' } } }, ASK_USER_TOOL, 'coder')).toBe('deny');
    expect(policyFor({ subagents: { coder: { ask_user: 'allow' } } }, ASK_USER_TOOL, 'writer')).toBe('deny');
  });

  it('does not mistake properties of Object for rules', () => {
    expect(policyFor({ default: 'deny' }, 'constructor')).toBe('deny');
    expect(policyFor({ default: 'allow' }, 'toString', '__proto__')).toBe('allow');
  });
});

describe("a child's permission never exceeds what its ancestors allow (issue 25)", () => {
  // The issue's configuration: a parent under `ask` spawns a `coder`, whose entry says `allow`.
  const issue: ToolPolicy = { tools: { shell: 'ask' }, subagents: { coder: { shell: 'allow' } } };

  it('a coder child spawned under ask still asks', () => {
    expect(policyFor(issue, 'shell')).toBe('ask');
    expect(policyFor(issue, 'shell', 'coder')).toBe('ask');
  });

  it('the strictest of the base rules and the entry wins: deny > ask > allow', () => {
    const rules = ['allow', 'ask', 'deny'] as const;
    for (const base of rules) {
      for (const entry of rules) {
        const strictest = rules[Math.max(rules.indexOf(base), rules.indexOf(entry))];
        expect(policyFor({ tools: { t: base }, subagents: { x: { t: entry } } }, 't', 'x')).toBe(strictest);
        expect(policyFor({ default: base, subagents: { x: { t: entry } } }, 't', 'x')).toBe(strictest);
      }
    }
  });

  it("takes every ancestor's entry: a coder under a lead that denies shell is denied", () => {
    const policy: ToolPolicy = { subagents: { lead: { shell: 'deny', web: 'ask' }, coder: { shell: 'allow', web: 'allow' } } };
    expect(policyFor(policy, 'shell', ['coder'])).toBe('allow');
    expect(policyFor(policy, 'shell', ['lead', 'coder'])).toBe('deny');
    expect(policyFor(policy, 'web', ['lead', 'coder'])).toBe('ask');
    expect(policyFor(policy, 'web', ['coder', 'lead'])).toBe('ask'); // order does not matter
    expect(restrictedCalls(policy, [{ id: '1', name: 'shell', arguments: {} }], ['lead', 'coder'])).toEqual({ shell: 'deny' });
  });

  it('the scopes of a session: its ancestors, root first, then its own subagent_type', () => {
    const root = { metadata: {} };
    const lead = { metadata: { subagent_type: 'lead', ...childToolPolicyMetadata(root) } };
    const coder = { metadata: { subagent_type: 'coder', ...childToolPolicyMetadata(lead) } };
    const helper = { metadata: { ...childToolPolicyMetadata(coder) } }; // spawned without a type of its own
    expect(toolPolicyScopes(root)).toEqual([]);
    expect(lead.metadata).toEqual({ subagent_type: 'lead' });
    expect(toolPolicyScopes(lead)).toEqual(['lead']);
    expect(coder.metadata).toEqual({ subagent_type: 'coder', ancestor_subagent_types: '["lead"]' });
    expect(toolPolicyScopes(coder)).toEqual(['lead', 'coder']);
    expect(toolPolicyScopes(helper)).toEqual(['lead', 'coder']);
    expect(scopesOf({ toolPolicyScopes: ['lead', 'coder'], toolPolicyScope: 'coder' })).toEqual(['lead', 'coder']);
    expect(scopesOf({ toolPolicyScope: 'coder' })).toEqual(['coder']); // an input recorded before the chain
    expect(scopesOf({})).toEqual([]);
  });

  it('a session whose chain is not a JSON array of names is refused at the boundary, naming the key', () => {
    const session = (value: string) => ({ ...childSession('x', { parentSessionId: 'p' }), metadata: { ancestor_subagent_types: value } });
    for (const bad of ['lead', '{"a":1}', '[1]', '[""]', JSON.stringify(Array(65).fill('x'))]) {
      const parsed = SessionSchema.safeParse(session(bad));
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ['metadata', 'ancestor_subagent_types'], message: 'must be a JSON array of at most 64 non-empty strings' });
    }
    expect(SessionSchema.safeParse(session('["lead","coder"]')).success).toBe(true);
  });
});

describe('restrictedCalls', () => {
  const call = (name: string): ToolCall => ({ id: randomUUID(), name, arguments: {} });

  it('names each called tool that is ask or deny, and nothing when every call is allowed', () => {
    const policy: ToolPolicy = { tools: { shell: 'ask', rm: 'deny' } };
    expect(restrictedCalls(policy, [call('shell'), call('rm'), call('ls'), call('shell')])).toEqual({ shell: 'ask', rm: 'deny' });
    expect(restrictedCalls(policy, [call('ls')])).toBeUndefined();
    expect(restrictedCalls(policy, [])).toBeUndefined();
    expect(restrictedCalls(undefined, [call(ASK_USER_TOOL)])).toEqual({ ask_user: 'deny' });
    expect(restrictedCalls({ subagents: { ops: { rm: 'allow' } } }, [call('rm')], 'ops')).toBeUndefined();
    expect(restrictedCalls(policy, [call('rm'), call('ls')], 'ops')).toEqual({ rm: 'deny' }); // ops cannot loosen the base rules
  });
});

describe('toolPolicy in the configuration file', () => {
  const parse = (toolPolicy: unknown) => BambooConfigSchema.safeParse({ toolPolicy });

  it('defaults to allowing every tool', () => {
    expect(BambooConfigSchema.parse({}).toolPolicy).toEqual({ default: 'allow', tools: {}, subagents: {} });
    expect(parse({ tools: { shell: 'deny' } }).data?.toolPolicy).toEqual({ default: 'allow', tools: { shell: 'deny' }, subagents: {} });
  });

  it('keeps a full policy as written', () => {
    const toolPolicy = { default: 'deny', tools: { get_current_time: 'allow', wait: 'ask' }, subagents: { coder: { wait: 'allow', ask_user: 'ask' } } };
    expect(parse(toolPolicy).data?.toolPolicy).toEqual(toolPolicy);
  });

  it('rejects an unknown permission, an unknown key and an empty name, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ default: 'maybe' }, /^toolPolicy\.default: /],
      [{ tools: { shell: 'never' } }, /^toolPolicy\.tools\.shell: /],
      [{ subagents: { coder: { shell: 'yes' } } }, /^toolPolicy\.subagents\.coder\.shell: /],
      [{ defualt: 'deny' }, /^toolPolicy\.defualt: unknown key$/],
      [{ tools: { '': 'deny' } }, /^toolPolicy\.tools\.: Invalid key in record/],
      [{ subagents: { coder: 'deny' } }, /^toolPolicy\.subagents\.coder: /],
      ['deny', /^toolPolicy: /],
    ];
    for (const [toolPolicy, problem] of cases) {
      const parsed = parse(toolPolicy);
      expect(parsed.success).toBe(false);
      expect(describeConfigError(parsed.error!)).toMatch(problem);
    }
  });
});

/** A provider that records what it is offered and answers with the given tool calls. */
function recordingProvider(calls: ToolCall[]) {
  const requests: ModelRequest[] = [];
  const provider: ModelProvider = {
    name: 'recording',
    async *stream(request) {
      requests.push(request);
      for (const call of calls) yield { type: 'tool-call', call };
      yield { type: 'usage', usage: { inputTokens: 1, outputTokens: 1 } };
    },
  };
  return { requests, registry: createProviderRegistry([provider], 'recording') };
}

const executed: string[] = [];
function tool(name: string): ToolDefinition {
  return {
    spec: { name, description: name, parameters: { type: 'object', properties: {} } },
    idempotent: true,
    execute: () => {
      executed.push(name);
      return Promise.resolve(`${name} ran`);
    },
  };
}
const tools = createToolRegistry([tool('read_file'), tool('shell'), tool('rm')]);
const policy: ToolPolicy = { tools: { rm: 'deny', shell: 'ask' }, subagents: { ops: { rm: 'allow', read_file: 'ask' }, coder: { shell: 'allow' } } };
const user: Message = { id: 'm1', role: 'user', content: 'go', createdAt: new Date(0).toISOString() };
const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

describe('the model activity', () => {
  async function callModel(calls: ToolCall[], options: { toolPolicy?: ToolPolicy; scope?: string }) {
    const { requests, registry } = recordingProvider(calls);
    const { callModel } = createModelActivities({ client: () => ({}) as Client, providers: registry, tools, toolPolicy: options.toolPolicy });
    const result: ModelTurnResult = await env().run(callModel, {
      sessionId: 's1',
      turn: 1,
      model: 'm',
      messages: [user],
      workflowTools: [SPAWN_TOOL],
      toolPolicyScope: options.scope,
      maxIdleSecs: 60,
    });
    return { offered: requests[0].tools.map((t) => t.name), result };
  }

  it('does not offer denied tools, worker or workflow ones, and names the ask and deny tools the reply calls', async () => {
    const calls = ['read_file', 'shell', 'rm'].map((name, i) => ({ id: `c${i}`, name, arguments: {} }));
    const { offered, result } = await callModel(calls, { toolPolicy: { ...policy, subagents: {}, tools: { ...policy.tools, [SPAWN_TOOL]: 'deny' } } });
    expect(offered).toEqual(['read_file', 'shell']);
    expect(result.toolPolicy).toEqual({ shell: 'ask', rm: 'deny' });
  });

  it("follows the session's subagent_type entry where it is stricter, never where it is looser", async () => {
    const calls = ['rm', 'read_file'].map((name, i) => ({ id: `c${i}`, name, arguments: {} }));
    const { offered, result } = await callModel(calls, { toolPolicy: policy, scope: 'ops' });
    expect(offered).toEqual(['read_file', 'shell', SPAWN_TOOL]);
    expect(result.toolPolicy).toEqual({ rm: 'deny', read_file: 'ask' });
  });

  it('a coder child spawned under ask is told its shell call waits for a person (issue 25)', async () => {
    const { offered, result } = await callModel([{ id: 'c1', name: 'shell', arguments: {} }], { toolPolicy: policy, scope: 'coder' });
    expect(offered).toContain('shell');
    expect(result.toolPolicy).toEqual({ shell: 'ask' });
  });

  it('adds nothing to its result when every called tool is allowed, or there is no policy', async () => {
    const { offered, result } = await callModel([{ id: 'c1', name: 'read_file', arguments: {} }], {});
    expect(offered).toEqual(['read_file', 'shell', 'rm', SPAWN_TOOL]);
    expect(Object.keys(result).sort()).toEqual(['content', 'provider', 'toolCalls', 'usage', 'warnings']);
  });
});

describe('the tool activity', () => {
  const { runTool } = createToolActivities({ tools, toolPolicy: policy });
  const run = (name: string, extra: { toolPolicyScope?: string; approved?: boolean } = {}) =>
    env().run(runTool, { sessionId: 's1', call: { id: 'c1', name, arguments: {} }, maxIdleSecs: 60, ...extra });
  beforeEach(() => void executed.splice(0));

  it('refuses a denied tool without running it', async () => {
    expect(await run('rm')).toEqual({ ok: false, content: 'Error: tool rm is denied by policy' });
    expect(await run('rm', { approved: true })).toEqual({ ok: false, content: 'Error: tool rm is denied by policy' });
    expect(executed).toEqual([]);
  });

  it("runs an ask tool only with a person's approval", async () => {
    expect(await run('shell')).toEqual({ ok: false, content: "Error: tool shell needs a person's approval" });
    expect(await run('shell', { approved: false })).toEqual({ ok: false, content: "Error: tool shell needs a person's approval" });
    expect(executed).toEqual([]);
    expect(await run('shell', { approved: true })).toEqual({ ok: true, content: 'shell ran' });
    expect(executed).toEqual(['shell']);
  });

  it("runs allowed tools; a subagent_type's entry does not make a denied or ask tool run (issue 25)", async () => {
    expect(await run('read_file')).toEqual({ ok: true, content: 'read_file ran' });
    expect(await run('rm', { toolPolicyScope: 'ops' })).toEqual({ ok: false, content: 'Error: tool rm is denied by policy' });
    expect(await run('shell', { toolPolicyScope: 'coder' })).toEqual({ ok: false, content: "Error: tool shell needs a person's approval" });
    expect(executed).toEqual(['read_file']);
  });

  it('runs everything but ask_user without a policy', async () => {
    const { runTool: runUnpoliced } = createToolActivities({ tools });
    const result = await env().run(runUnpoliced, { sessionId: 's1', call: { id: 'c1', name: 'rm', arguments: {} }, maxIdleSecs: 60 });
    expect(result).toEqual({ ok: true, content: 'rm ran' });
  });
});
