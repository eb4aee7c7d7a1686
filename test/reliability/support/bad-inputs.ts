/**
 * Generated invalid inputs for the client API and raw workflow starts: a valid SpawnJob or
 * root-session input, broken at one to three fields picked at random (seeded) from a catalogue
 * of (field, bad value). The generator knows which fields it broke, so a test can check that
 * the error names each of them. Every generated input is confirmed invalid by the schema.
 */
import { randomUUID } from 'node:crypto';
import { SessionWorkflowInputSchema, SpawnJobSchema, type Session } from '../../../common';
import { pick, random } from './util';

export const DELETE = Symbol('delete');
type Bad = unknown;
type Path = (string | number)[];

/** Strings an attacker would try; as values of the wrong type they are simply invalid. */
export const HOSTILE_STRINGS = [
  '"; DROP TABLE sessions; --',
  "' OR '1'='1",
  '${jndi:ldap://evil.example/a}',
  '../../etc/passwd',
  '..\\..\\windows\\system32\\config',
  'null\u0000byte',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '$(rm -rf /)',
  '`id`',
  '%s%s%s%n',
  'header\r\nX-Injected: 1',
  '\u202emoc.live',
  '🧨💥',
];

const NON_STRINGS: Bad[] = [0, 42, -1, 3.14, true, false, null, {}, [], ['x'], { toString: 'x' }];
const NON_EMPTY_BAD: Bad[] = [DELETE, '', '   ', '\t\n', ...NON_STRINGS];
const OPTIONAL_NON_EMPTY_BAD: Bad[] = ['', '   ', ...NON_STRINGS];
const REQUIRED_STRING_BAD: Bad[] = [DELETE, 1, null, {}, [], true];
const OPTIONAL_STRING_BAD: Bad[] = [1, null, {}, [], true];
const INT_MIN0_BAD: Bad[] = [DELETE, -1, 1.5, '1', NaN, Infinity, -Infinity, null, HOSTILE_STRINGS[0], {}];
const ROLE_BAD: Bad[] = [DELETE, 'admin', 'USER', '', 3, null, HOSTILE_STRINGS[1]];
const KIND_BAD: Bad[] = [DELETE, 'grandchild', 'ROOT', '', 1, null];
const STRING_ARRAY_BAD: Bad[] = ['x', [1], {}, null, [null], [{}]];
const NON_EMPTY_ARRAY_BAD: Bad[] = ['x', [''], ['  '], [5], {}, null, [null]];
const RECORD_BAD: Bad[] = [
  null, 'x', [], 5,
  { k: 5 }, { k: null }, { k: ['a'] }, { k: {} }, { k: true },
  { [HOSTILE_STRINGS[2]]: 1 }, { [HOSTILE_STRINGS[3]]: { nested: 'x' } },
];
const MODEL_REF_BAD: Bad[] = ['x', 5, null, [], { provider: 1, model: 'm' }, { provider: 'p' }, { model: 'm' }];
const OPTIONS_BAD: Bad[] = [
  'x', 5, null, [],
  { maxRunningChildren: 0 }, { maxRunningChildren: 1001 }, { maxRunningChildren: 2.5 }, { maxRunningChildren: '4' },
  { maxSpawnDepth: 9 }, { maxSpawnDepth: -1 }, { waitPolicy: 'sometimes' }, { waitPolicy: HOSTILE_STRINGS[0] },
  { historyEventBudget: 5 }, { waitLeaseSecs: 0 }, { cancelGraceSecs: 1.5 }, { idleTtlSecs: '1' }, { idleTtlSecs: -5 },
  { transcriptBudgetBytes: 1024 }, { transcriptBudgetBytes: 3 * 1024 * 1024 }, { transcriptBudgetBytes: '1MB' },
];
const MESSAGES_BAD: Bad[] = ['x', null, {}, [5], [{}], [null], [{ role: 'user', content: 'no id' }]];
const TOOL_CALLS_BAD: Bad[] = [
  'x',
  [{ id: '', name: 'n', arguments: {} }],
  [{ id: 'a', name: 'n', arguments: [] }],
  [{ id: 'a', name: 'n' }],
  [{ id: 'a', name: '  ', arguments: {} }],
  [{ id: 'a', name: 'n', arguments: 'rm -rf /' }],
];
const MESSAGE_METADATA_BAD: Bad[] = ['x', { k: 5 }, { k: null }, []];

interface Field {
  path: Path;
  bad: Bad[];
  /** Only alone: its error comes from a refinement that runs only when the rest is valid. */
  solo?: boolean;
}

function sessionFields(prefix: Path, kind: 'root' | 'child'): Field[] {
  const at = (...rest: Path) => [...prefix, ...rest];
  return [
    { path: at('id'), bad: NON_EMPTY_BAD },
    { path: at('kind'), bad: KIND_BAD },
    ...(kind === 'root' ? [{ path: at('kind'), bad: ['child'], solo: true }] : []),
    { path: at('parentSessionId'), bad: OPTIONAL_NON_EMPTY_BAD },
    { path: at('rootSessionId'), bad: NON_EMPTY_BAD },
    { path: at('spawnDepth'), bad: INT_MIN0_BAD },
    { path: at('title'), bad: OPTIONAL_STRING_BAD },
    { path: at('model'), bad: REQUIRED_STRING_BAD },
    { path: at('modelRef'), bad: MODEL_REF_BAD },
    { path: at('messages'), bad: [DELETE, ...MESSAGES_BAD] },
    { path: at('messages', 1, 'id'), bad: NON_EMPTY_BAD },
    { path: at('messages', 1, 'role'), bad: ROLE_BAD },
    { path: at('messages', 1, 'content'), bad: REQUIRED_STRING_BAD },
    { path: at('messages', 1, 'createdAt'), bad: REQUIRED_STRING_BAD },
    { path: at('messages', 1, 'toolCalls'), bad: TOOL_CALLS_BAD },
    { path: at('messages', 1, 'toolCallId'), bad: OPTIONAL_STRING_BAD },
    { path: at('messages', 1, 'metadata'), bad: MESSAGE_METADATA_BAD },
    { path: at('messages', 2, 'toolCalls', 0, 'id'), bad: NON_EMPTY_BAD },
    { path: at('messages', 2, 'toolCalls', 0, 'arguments'), bad: [DELETE, 'x', [], null, 5] },
    { path: at('metadata'), bad: [DELETE, ...RECORD_BAD] },
    { path: at('metadata', HOSTILE_STRINGS[pickIndex()]), bad: [5, null, {}, ['x'], true] },
  ];
}

function pickIndex(): number {
  return Math.floor(random() * HOSTILE_STRINGS.length);
}

const SPAWN_JOB_FIELDS = (): Field[] => [
  { path: ['parentSessionId'], bad: NON_EMPTY_BAD },
  { path: ['childSessionId'], bad: NON_EMPTY_BAD },
  { path: ['model'], bad: NON_EMPTY_BAD },
  { path: ['disabledTools'], bad: STRING_ARRAY_BAD },
  { path: ['session'], bad: ['str', 42, [], null, true] },
  { path: ['appendMessages'], bad: NON_EMPTY_ARRAY_BAD },
  { path: ['spawnOptions'], bad: OPTIONS_BAD },
  ...sessionFields(['session'], 'child'),
];

const SESSION_INPUT_FIELDS = (): Field[] => [
  { path: ['session'], bad: [DELETE, 'str', 42, [], null, true] },
  { path: ['options'], bad: OPTIONS_BAD },
  { path: ['carried'], bad: ['x', 5, null, { children: 'x' }, { children: [], queued: [], seenCompletions: [], pendingUserMessages: [], waiting: null, lastEventSeq: -1 }] },
  ...sessionFields(['session'], 'root'),
];

function messages(): Session['messages'] {
  const now = new Date().toISOString();
  return [
    { id: randomUUID(), role: 'system', content: 'You are a session.', createdAt: now },
    { id: randomUUID(), role: 'user', content: 'hello', createdAt: now, metadata: { source: 'rel' } },
    { id: randomUUID(), role: 'assistant', content: '', createdAt: now, toolCalls: [{ id: 'call_1', name: 'get_current_time', arguments: {} }] },
    { id: randomUUID(), role: 'tool', content: 'now', createdAt: now, toolCallId: 'call_1' },
    { id: randomUUID(), role: 'user', content: 'go on', createdAt: now },
  ];
}

/** A valid session with every optional field set too, so that each can be broken. */
function everyField(identity: Pick<Session, 'id' | 'kind' | 'rootSessionId' | 'spawnDepth' | 'title' | 'parentSessionId'>): Record<string, unknown> {
  return {
    ...identity,
    model: 'scripted-model',
    modelRef: { provider: 'scripted', model: 'scripted-model' },
    messages: messages(),
    metadata: { purpose: 'reliability' },
  };
}

export function validSpawnJob(parentSessionId: string): Record<string, unknown> {
  const childSessionId = `rel-bad-${randomUUID().slice(0, 8)}`;
  return {
    parentSessionId,
    childSessionId,
    model: 'scripted-model',
    disabledTools: ['wait'],
    appendMessages: ['one more thing'],
    spawnOptions: { maxRunningChildren: 4 },
    session: everyField({ id: childSessionId, kind: 'child', parentSessionId, rootSessionId: parentSessionId, spawnDepth: 1, title: 'bad input child' }),
  };
}

export function validSessionInput(): Record<string, unknown> {
  const id = `rel-bad-root-${randomUUID().slice(0, 8)}`;
  return {
    session: everyField({ id, kind: 'root', rootSessionId: id, spawnDepth: 0, title: 'bad input root' }),
    options: { waitPolicy: 'all' },
  };
}

function setAt(target: Record<string, unknown>, path: Path, value: Bad): void {
  let node = target as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null || typeof node[key] !== 'object') node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = path.at(-1)!;
  if (value === DELETE) delete node[last];
  else node[last] = value;
}

const related = (a: Path, b: Path) => {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n).every((k, i) => k === b[i]);
};

export interface GeneratedInput {
  input: unknown;
  /** Paths (joined with '.') the error must name. '(input)' for a non-object input. */
  paths: string[];
  description: string;
}

function describeValue(value: Bad): string {
  if (value === DELETE) return 'missing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const WHOLE_INPUT_BAD: Bad[] = [null, undefined, 'a string', 42, [], true, HOSTILE_STRINGS[0]];

/** One invalid input: a valid base broken at 1–3 unrelated fields (or a non-object input, sometimes). */
function generate(kind: 'spawnJob' | 'sessionInput', base: () => Record<string, unknown>): GeneratedInput {
  const schema = kind === 'spawnJob' ? SpawnJobSchema : SessionWorkflowInputSchema;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (random() < 0.03) {
      const value = pick(WHOLE_INPUT_BAD);
      return { input: value, paths: ['(input)'], description: `input ${describeValue(value)}` };
    }
    const fields = kind === 'spawnJob' ? SPAWN_JOB_FIELDS() : SESSION_INPUT_FIELDS();
    const count = 1 + Math.floor(random() * 3);
    const chosen: { field: Field; value: Bad }[] = [];
    for (let i = 0; i < count * 4 && chosen.length < count; i++) {
      const field = pick(fields);
      if (chosen.some((c) => related(c.field.path, field.path))) continue;
      if (field.solo && chosen.length > 0) continue;
      if (chosen.some((c) => c.field.solo)) break;
      chosen.push({ field, value: pick(field.bad) });
    }
    const input = base();
    for (const { field, value } of chosen) setAt(input, field.path, value);
    if (schema.safeParse(input).success) continue; // a combination that happens to be valid: draw again
    return {
      input,
      paths: chosen.map((c) => c.field.path.join('.')),
      description: chosen.map((c) => `${c.field.path.join('.')}=${describeValue(c.value)}`).join(', '),
    };
  }
  throw new Error('could not generate an invalid input');
}

export function invalidSpawnJob(parentSessionId: string): GeneratedInput {
  return generate('spawnJob', () => validSpawnJob(parentSessionId));
}

export function invalidSessionInput(): GeneratedInput {
  return generate('sessionInput', validSessionInput);
}

/** Does the error message name the path? (`a.b: …`, or a deeper `a.b.c: …`.) */
export function namesPath(message: string, path: string): boolean {
  if (path === '(input)') return message.includes('(input): ');
  return message.includes(`${path}: `) || message.includes(`${path}.`);
}
