/**
 * The exact error texts users and programs match on (contract: docs/architecture.md#statuses).
 */
export const CHILD_SESSION_NOT_FOUND = 'child session not found';
export const CHILD_NOT_KIND_CHILD = 'spawn job child session is not kind=child';
export const NO_PENDING_MESSAGE = 'No pending message to execute';
export const EXTERNAL_RUNNER_NOT_CONFIGURED =
  'Child session requires external runtime, but no external runner is configured';

export function totalTimeoutMessage(elapsedSecs: number, maxTotalSecs: number): string {
  return `Child session timed out after ${elapsedSecs} seconds (max_total_secs=${maxTotalSecs})`;
}

export function idleTimeoutMessage(idleSecs: number, maxIdleSecs: number): string {
  return `Child session idle timeout after ${idleSecs} seconds without events (max_idle_secs=${maxIdleSecs})`;
}

/**
 * The reference formats both values with `{:?}` of `Option<&String>`: `Some("coder")` or `None`,
 * the string escaped as Rust's Debug of a str escapes it (rustDebugString).
 */
export function noExternalRunnerMatchedMessage(agentId: string | undefined, protocol: string | undefined): string {
  return `No external runner matched child session runtime metadata: agent_id=${rustDebugOption(agentId)}, protocol=${rustDebugOption(protocol)}`;
}

/** Rust's `{:?}` of an `Option<&str>`. */
export function rustDebugOption(value: string | undefined): string {
  return value === undefined ? 'None' : `Some(${rustDebugString(value)})`;
}

const RUST_ESCAPES: Readonly<Record<string, string>> = { '\0': '\\0', '\t': '\\t', '\r': '\\r', '\n': '\\n', '\\': '\\\\', '"': '\\"' };
/**
 * What Rust's Debug escapes as `\u{…}`: grapheme extenders, and what its `is_printable` refuses
 * (general categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs but the space). Unicode versions may
 * differ at the edges between Rust's tables and this engine's.
 */
const RUST_UNICODE_ESCAPED = /^(?:\p{Grapheme_Extend}|[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}])$/u;

/** Rust's `{:?}` of a str: in double quotes, `\0 \t \r \n \\ \"` escaped, and `\u{hex}` for the rest it escapes (`'` is not). */
export function rustDebugString(value: string): string {
  let out = '"';
  for (const char of value) {
    if (Object.hasOwn(RUST_ESCAPES, char)) out += RUST_ESCAPES[char];
    else if (char !== ' ' && RUST_UNICODE_ESCAPED.test(char)) out += `\\u{${char.codePointAt(0)!.toString(16)}}`;
    else out += char;
  }
  return `${out}"`;
}

/** Failure types our activities throw, so workflows can map them to run statuses. */
export const FailureTypes = {
  invalidInput: 'BambooInvalidInput',
  idleTimeout: 'BambooIdleTimeout',
  /** The run's total-time budget ran out during the attempt (the activity stopped its work itself). */
  totalTimeout: 'BambooTotalTimeout',
  providerError: 'BambooProviderError',
  externalRunner: 'BambooExternalRunnerError',
  budgetExceeded: 'BambooBudgetExceeded',
  /** The provider refused the call: the transcript is longer than the model's context window. */
  contextLength: 'BambooContextLength',
} as const;

/**
 * The text of a thrown value, for a message or a log line: an Error's message (its name when
 * the message is empty, so the text never comes out blank), anything else as `String(value)`.
 * `causes: n` appends up to n links of the `cause` chain, `: `-separated (a fetch failure's
 * "fetch failed" says little without its "connect ECONNREFUSED …").
 */
export function errorMessage(error: unknown, { causes = 0 }: { causes?: number } = {}): string {
  const parts = [textOf(error)];
  let link = error;
  for (let depth = 0; depth < causes; depth++) {
    link = typeof link === 'object' && link !== null ? (link as { cause?: unknown }).cause : undefined;
    if (link === undefined || link === null) break;
    parts.push(textOf(link));
  }
  return parts.join(': ');
}

function textOf(value: unknown): string {
  if (value instanceof Error) return value.message || value.name || 'Error';
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value); // no usable toString (Object.create(null))
  }
}
