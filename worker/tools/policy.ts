/**
 * The worker's tool policy (configuration file, `toolPolicy`): per tool `allow`, `deny` or
 * `ask`, with entries per `subagent_type` that can only make a tool stricter. Enforced in two
 * places that must agree, so both ask `policyFor`: the model activity never offers a denied
 * tool and tells the workflow which called tools are `ask` or `deny`; the tool activity
 * refuses a denied call, and an `ask` call that no person approved, even when the workflow
 * sends one anyway (defence in depth).
 *
 * A child's permission never exceeds what its ancestors' scopes allow (DESIGN §9, issue 25):
 * a model chooses its child's `subagent_type`, so an entry that loosened the base rules would
 * let a prompt-injected parent hand its child a tool it may not run itself.
 */
import { z } from 'zod';
import type { ToolCall } from '../../common';
import { ASK_USER_TOOL } from '../../common';

export { ASK_USER_TOOL };

export const ToolPermissionSchema = z.enum(['allow', 'deny', 'ask']);
export type ToolPermission = z.infer<typeof ToolPermissionSchema>;

const toolName = z.string().min(1);
const ToolRulesSchema = z.record(toolName, ToolPermissionSchema);

export const ToolPolicySchema = z.strictObject({
  /** For every tool the policy does not name (except `ask_user`, see below). */
  default: ToolPermissionSchema.default('allow'),
  /** Tool name → permission. */
  tools: ToolRulesSchema.default({}),
  /**
   * subagent_type → (tool name → permission) for sessions of that type and their descendants:
   * taken only where stricter than the base rules (see policyFor).
   */
  subagents: z.record(z.string().min(1), ToolRulesSchema).default({}),
});
/** Every field optional: `undefined`, `{}` and a parsed config all mean what the schema's defaults say. */
export type ToolPolicy = z.input<typeof ToolPolicySchema>;

/**
 * The permission for `toolName` in a session whose scopes (common/tool-policy-scopes.ts: its
 * ancestors' `subagent_type`s, root first, then its own) are `scopes`: the strictest, in the
 * order deny > ask > allow, of the base rule and each scope's rule. The base rule is the per-tool
 * rule, else the default; a scope's rule is its `subagents` entry for the tool, else the base
 * rule — so an entry makes a tool stricter for its sessions and their descendants, never looser.
 * `ask_user` (a model asking the user a question) has no default but `deny`: a question needs a
 * person to be there, which the default `allow` cannot promise, so only a policy whose `tools`
 * names it allows it. No policy allows everything but `ask_user`. Pure.
 */
export function policyFor(policy: ToolPolicy | undefined, toolName: string, scopes: string | readonly string[] = []): ToolPermission {
  let permission = baseRule(policy, toolName);
  for (const scope of typeof scopes === 'string' ? [scopes] : scopes) {
    const entry = ruleIn(ruleIn(policy?.subagents, scope), toolName);
    if (entry && STRICTNESS[entry] > STRICTNESS[permission]) permission = entry;
  }
  return permission;
}

/** The scopes an activity input names: the chain, or (histories from before it) the session's own type. */
export function scopesOf(input: { toolPolicyScopes?: string[]; toolPolicyScope?: string }): readonly string[] {
  return input.toolPolicyScopes ?? (input.toolPolicyScope ? [input.toolPolicyScope] : []);
}

const STRICTNESS: Readonly<Record<ToolPermission, number>> = { allow: 0, ask: 1, deny: 2 };

function baseRule(policy: ToolPolicy | undefined, toolName: string): ToolPermission {
  const named = ruleIn(policy?.tools, toolName);
  if (named) return named;
  return toolName === ASK_USER_TOOL ? 'deny' : (policy?.default ?? 'allow');
}

/**
 * What a model activity's result carries for the calls of one reply: each called tool whose
 * permission is not `allow`; `undefined` when there is none (so an allow-only policy adds
 * nothing to history).
 */
export function restrictedCalls(policy: ToolPolicy | undefined, calls: readonly ToolCall[], scopes: string | readonly string[] = []): Record<string, 'ask' | 'deny'> | undefined {
  const restricted: Record<string, 'ask' | 'deny'> = {};
  for (const call of calls) {
    const permission = policyFor(policy, call.name, scopes);
    if (permission !== 'allow') restricted[call.name] = permission;
  }
  return Object.keys(restricted).length > 0 ? restricted : undefined;
}

/** The tool result of a call the policy denies (the tool is not run). */
export function toolDeniedMessage(toolName: string): string {
  return `Error: tool ${toolName} is denied by policy`;
}

/** The tool result of an `ask` call that reached the worker without a person's approval. */
export function toolNeedsApprovalMessage(toolName: string): string {
  return `Error: tool ${toolName} needs a person's approval`;
}

/** Own keys only: a tool named `constructor` or `__proto__` must not find Object's. */
function ruleIn<T>(rules: Record<string, T> | undefined, key: string): T | undefined {
  return rules && Object.hasOwn(rules, key) ? rules[key] : undefined;
}
