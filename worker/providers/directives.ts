/**
 * Parsing the scripted provider's `[[name:arg]]` directives. Arguments may hold
 * directives of their own (`[[spawn:T|do [[sleep:3]] then answer]]`), so brackets are
 * matched by depth rather than by regular expression.
 */
export interface Directive {
  name: string;
  arg: string;
}

export interface ParsedScript {
  directives: Directive[];
  /** The text with every directive removed, trimmed. */
  text: string;
}

export function parseDirectives(input: string): ParsedScript {
  const directives: Directive[] = [];
  let text = '';
  let i = 0;
  while (i < input.length) {
    const end = input.startsWith('[[', i) ? matchingClose(input, i) : -1;
    if (end < 0) {
      text += input[i];
      i += 1;
      continue;
    }
    const body = input.slice(i + 2, end);
    const colon = body.indexOf(':');
    const name = (colon < 0 ? body : body.slice(0, colon)).trim();
    if (/^[a-z_]+$/.test(name)) {
      directives.push({ name, arg: colon < 0 ? '' : body.slice(colon + 1) });
    } else {
      text += input.slice(i, end + 2);
    }
    i = end + 2;
  }
  return { directives, text: text.replace(/\s+/g, ' ').trim() };
}

/** Index of the `]]` that closes the `[[` at `start`, or -1 when unbalanced. */
function matchingClose(input: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < input.length - 1) {
    if (input.startsWith('[[', i)) {
      depth += 1;
      i += 2;
    } else if (input.startsWith(']]', i)) {
      depth -= 1;
      if (depth === 0) return i;
      i += 2;
    } else {
      i += 1;
    }
  }
  return -1;
}

/** Split `TITLE|PROMPT` at the first `|` outside nested directives. */
export function splitPipe(arg: string): [string, string] {
  let depth = 0;
  let i = 0;
  while (i < arg.length) {
    if (arg.startsWith('[[', i)) {
      depth += 1;
      i += 2;
    } else if (arg.startsWith(']]', i)) {
      depth -= 1;
      i += 2;
    } else if (arg[i] === '|' && depth === 0) {
      return [arg.slice(0, i), arg.slice(i + 1)];
    } else {
      i += 1;
    }
  }
  return [arg, ''];
}
