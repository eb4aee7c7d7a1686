/**
 * The worker's tool policy (configuration file, `toolPolicy`): per tool `allow`, `deny` or
 * `ask`, with overrides per `subagent_type`. Enforced in two places that must agree, so both
 * ask `policyFor`: the model activity never offers a denied tool and tells the workflow which
 * called tools are `ask` or `deny`; the tool activity refuses a denied call, and an `ask` call
 * that no person approved, even when the workflow sends one anyway (defence in depth).
 */
import { z } from 'zod';
import type { ToolCall } from '../../common';
import { ASK_USER_TOOL } from '../../common/workflow-tool-specs';

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
  /** subagent_type → (tool name → permission), ahead of `tools` for sessions of that type. */
  subagents: z.record(z.string().min(1), ToolRulesSchema).default({}),
});
/** Every field optional: `undefined`, `{}` and a parsed config all mean what the schema's defaults say. */
export type ToolPolicy = z.input<typeof ToolPolicySchema>;

/**
 * The permission for `toolName` in a session of subagent_type `scope`: the scope's override,
 * else the per-tool rule, else the default. `ask_user` (a model asking the user a question)
 * has no default but `deny`: a question needs a person to be there, which the default `allow`
 * cannot promise, so only a policy that names it allows it. No policy allows everything but
 * `ask_user`. Pure.
 */
export function policyFor(policy: ToolPolicy | undefined, toolName: string, scope?: string): ToolPermission {
  const override = scope !== undefined ? ruleIn(policy?.subagents, scope) : undefined;
  const named = ruleIn(override, toolName) ?? ruleIn(policy?.tools, toolName);
  if (named) return named;
  return toolName === ASK_USER_TOOL ? 'deny' : (policy?.default ?? 'allow');
}

/**
 * What a model activity's result carries for the calls of one reply: each called tool whose
 * permission is not `allow`; `undefined` when there is none (so an allow-only policy adds
 * nothing to history).
 */
export function restrictedCalls(policy: ToolPolicy | undefined, calls: readonly ToolCall[], scope?: string): Record<string, 'ask' | 'deny'> | undefined {
  const restricted: Record<string, 'ask' | 'deny'> = {};
  for (const call of calls) {
    const permission = policyFor(policy, call.name, scope);
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
