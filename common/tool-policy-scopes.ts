/**
 * Which `toolPolicy.subagents` entries bound a session's tools: every ancestor's
 * `subagent_type`, root first, then its own. A child's permission never exceeds what its
 * ancestors' scopes allow (issue 25: a model that chooses `subagent_type` must not choose a
 * looser policy for its child), so the worker takes the strictest of the base rules and the
 * entry of every scope in this chain (worker/tools/policy.ts).
 *
 * The chain travels in the child's metadata, written by its parent's workflow when it spawns
 * it (never by a model: the model names only the child's own `subagent_type`), so it stays
 * with the session through its later runs and continue-as-new.
 */
/** What these functions read of a Session; structural, so session.ts can import this file. */
type WithMetadata = { metadata: Record<string, string> };

/** Metadata key: the ancestors' `subagent_type`s, root first, as a JSON array of strings. */
export const ANCESTOR_SUBAGENT_TYPES_KEY = 'ancestor_subagent_types';

/** At most one per level of spawning, with room to spare (maxSpawnDepth is at most 8). */
const MAX_ANCESTOR_TYPES = 64;

/** Why a metadata value of ANCESTOR_SUBAGENT_TYPES_KEY is unusable, or undefined when it is fine. */
export function ancestorSubagentTypesProblem(value: string): string | undefined {
  return parseAncestorTypes(value) ? undefined : `must be a JSON array of at most ${MAX_ANCESTOR_TYPES} non-empty strings`;
}

/** The session's scopes for the tool policy: its ancestors' `subagent_type`s, then its own. */
export function toolPolicyScopes(session: WithMetadata): string[] {
  const raw = session.metadata[ANCESTOR_SUBAGENT_TYPES_KEY];
  // Validated sessions hold a usable value (SessionSchema); the base rules bound every session anyway.
  const ancestors = raw === undefined ? [] : (parseAncestorTypes(raw) ?? []);
  const own = session.metadata.subagent_type;
  return own ? [...ancestors, own] : ancestors;
}

/** What a parent writes into a child's metadata: its own scopes are the child's ancestors. */
export function childToolPolicyMetadata(parent: WithMetadata): Record<string, string> {
  const scopes = toolPolicyScopes(parent);
  return scopes.length > 0 ? { [ANCESTOR_SUBAGENT_TYPES_KEY]: JSON.stringify(scopes) } : {};
}

function parseAncestorTypes(value: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const usable = Array.isArray(parsed) && parsed.length <= MAX_ANCESTOR_TYPES && parsed.every((t) => typeof t === 'string' && t.length > 0);
  return usable ? (parsed as string[]) : undefined;
}
