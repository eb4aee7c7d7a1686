/**
 * Plays a cassette (common/cassette.ts) to a new run of its tree: which recorded session a new
 * session is, the recorded answer to each model call and the recorded outcome of each tool call,
 * and the first place where the new run asks for something the recording does not have.
 *
 * Sessions are matched by their place in the tree, not their ids (a new run's ids differ): the
 * root is the root; a child is the recorded child of its parent's recorded session whose brief
 * it was given. Calls are matched in order within a session (across its runs), a retried
 * activity keeping its place. A model call matches when its request — the transcript, with the
 * tree's session ids, times and uuids masked — equals the recorded one; a tool call, when its
 * name and arguments do.
 */
import { FailureTypes, SUMMARY_METADATA_KEY, type Cassette, type CassetteStep, type Message, type ModelTurnResult, type SummaryResult, type ToolCall, type ToolCallOutcome } from '../../common';

type RecordedSession = Cassette['sessions'][number];
type ModelStep = Extract<CassetteStep, { kind: 'model' }> & { request?: Message[]; refusedForLength?: boolean };

/** A recorded answer, or the provider's refusal of the request for its length (which the session answers with a summary). */
export type ModelAnswer = Pick<ModelTurnResult, 'content' | 'toolCalls' | 'usage' | 'provider' | 'context'> | { refusedForLength: string; windowTokens?: number };
type ToolStep = Extract<CassetteStep, { kind: 'tool' }>;
type DecisionStep = Extract<CassetteStep, { kind: 'decision' }>;
type SummaryStep = Extract<CassetteStep, { kind: 'summary' }>;

export type DivergenceKind = 'unknown-session' | 'model-request' | 'model-call-missing' | 'tool-call' | 'tool-call-missing' | 'tool-arguments' | 'decision-missing' | 'summary';

/** Where and how a new run first asked for something the recording does not have. */
export interface Divergence {
  kind: DivergenceKind;
  /** The recorded session (absent: none matched) and the new run's. */
  sessionId?: string;
  replaySessionId: string;
  /** Titles from the root down to the session. */
  path: string[];
  /** The turn the model call was made in (model calls), and the call's place in its session (from 0). */
  turn?: number;
  call: number;
  recorded: string;
  asked: string;
}

export type Played<T> = { ok: true; value: T } | { ok: false; divergence: Divergence };

interface Tape {
  recorded: RecordedSession;
  path: string[];
  models: ModelStep[];
  tools: ToolStep[];
  decisions: DecisionStep[];
  spawns: Extract<CassetteStep, { kind: 'spawn' }>[];
  summaries: SummaryStep[];
  /** Activity key → place, so a retried call keeps its place. */
  modelKeys: Map<string, number>;
  summaryKeys: Map<string, number>;
  toolKeys: Map<string, number>;
  /** Recorded tool calls matched so far (by call id, else in order: a round's calls run at once). */
  toolsTaken: Set<number>;
  decisionsTaken: number;
  claimedChildren: Set<string>;
  /** The tool calls the new run asked for, in order. */
  askedTools: string[];
}

const EXCERPT = 240;

export class CassettePlayer {
  readonly divergences: Divergence[] = [];
  private readonly recorded = new Map<string, RecordedSession>();
  private readonly tapes = new Map<string, Tape>();
  private served = { model: 0, tool: 0 };

  constructor(
    readonly cassette: Cassette,
    readonly replayRootId: string,
  ) {
    for (const session of cassette.sessions) this.recorded.set(session.sessionId, session);
    const root = this.recorded.get(cassette.rootSessionId);
    if (!root) throw new Error(`the cassette has no session for its root ${cassette.rootSessionId}`);
    this.tapes.set(replayRootId, tapeOf(root, [titleOf(cassette, root)]));
  }

  /** Model calls and tool calls answered from the recording so far. */
  get servedCalls(): { model: number; tool: number } {
    return { ...this.served };
  }

  /**
   * The recorded session a new one is. A child is known by its parent (its id less the last
   * `-xxxxxxxx`) and its brief (its first user message).
   */
  session(replaySessionId: string, messages: readonly Message[]): Played<Tape> {
    const known = this.tapes.get(replaySessionId);
    if (known) return { ok: true, value: known };
    const parentId = replaySessionId.replace(/-[0-9a-f]{8}$/, '');
    const parent = parentId !== replaySessionId ? this.tapes.get(parentId) : undefined;
    const brief = messages.find((m) => m.role === 'user')?.content ?? '';
    if (!parent) return this.diverged({ kind: 'unknown-session', replaySessionId, path: [], call: 0, recorded: 'no session of the recorded tree', asked: `a session under ${parentId}` });
    const spawn = parent.spawns.find((s) => !parent.claimedChildren.has(s.childSessionId) && (s.brief === undefined || s.brief === brief));
    const child = spawn && this.recorded.get(spawn.childSessionId);
    if (!spawn || !child) {
      const briefs = parent.spawns.map((s) => excerpt(s.brief ?? s.title ?? s.childSessionId)).join(' | ');
      return this.diverged({ kind: 'unknown-session', sessionId: undefined, replaySessionId, path: [...parent.path, '?'], call: 0, recorded: `spawns: ${briefs || 'none'}`, asked: `a spawn with the brief ${excerpt(brief)}` });
    }
    parent.claimedChildren.add(spawn.childSessionId);
    const tape = tapeOf(child, [...parent.path, titleOf(this.cassette, child, spawn.title)]);
    this.tapes.set(replaySessionId, tape);
    return { ok: true, value: tape };
  }

  /**
   * The recorded summary at this place in the session, if it replaced the same messages: what
   * its model wrote. A recorded summary that failed is a divergence (it has nothing to serve).
   */
  summaryCall(request: { replaySessionId: string; key: string; replaced: readonly Message[] }): Played<Pick<SummaryResult, 'summary' | 'usage' | 'provider' | 'model'> | { failed: string }> {
    const tape = this.tapes.get(request.replaySessionId);
    if (!tape) return this.diverged({ kind: 'unknown-session', replaySessionId: request.replaySessionId, path: [], call: 0, recorded: 'no session of the recorded tree', asked: 'a summary' });
    const call = placeOf(tape.summaryKeys, request.key);
    const step = tape.summaries[call];
    const where = { sessionId: tape.recorded.sessionId, replaySessionId: request.replaySessionId, path: tape.path, call };
    if (!step) return this.diverged({ kind: 'summary', ...where, recorded: `${tape.summaries.length} summaries`, asked: `a summary of ${request.replaced.length} message(s)` });
    const difference = firstDifference(step.replaced, request.replaced, this.cassette.rootSessionId, this.replayRootId);
    if (difference) return this.diverged({ kind: 'summary', ...where, ...difference });
    // A summary that failed in the recording fails the same way (the session then goes on as it did).
    return { ok: true, value: step.response ?? { failed: step.failure ?? 'the summary failed' } };
  }

  /** The recorded answer to a model call, if its request matches the recorded one. */
  modelCall(request: { replaySessionId: string; key: string; turn: number; messages: readonly Message[] }): Played<ModelAnswer> {
    const found = this.session(request.replaySessionId, request.messages);
    if (!found.ok) return found;
    const tape = found.value;
    const call = placeOf(tape.modelKeys, request.key);
    const step = tape.models[call];
    const where = { sessionId: tape.recorded.sessionId, replaySessionId: request.replaySessionId, path: tape.path, turn: request.turn, call };
    if (!step) return this.diverged({ kind: 'model-call-missing', ...where, recorded: `${tape.models.length} model calls`, asked: `model call ${call + 1}: ${lastMessage(request.messages)}` });
    const recorded = step.request;
    const difference = recorded ? firstDifference(recorded, request.messages, this.cassette.rootSessionId, this.replayRootId) : undefined;
    if (difference) return this.diverged({ kind: 'model-request', ...where, ...difference });
    if (step.refusedForLength) {
      const refusal = { refusedForLength: step.failure ?? 'the prompt is longer than the context window', ...(step.failureWindowTokens ? { windowTokens: step.failureWindowTokens } : {}) };
      return { ok: true, value: refusal };
    }
    if (!step.response) return this.diverged({ kind: 'model-call-missing', ...where, recorded: `the call failed: ${step.failure ?? 'no answer recorded'}`, asked: lastMessage(request.messages) });
    this.served.model += 1;
    return { ok: true, value: step.response };
  }

  /**
   * The recorded outcome of a tool call, if it is the call recorded at its place: the recorded
   * call with its id (a round's calls run at once, in any order), else the next one. `invalid`:
   * why its arguments no longer fit the tool's schema. `refused`: today's policy refuses it (or
   * the tool is gone) — it takes its place and is compared, but is not served.
   */
  toolCall(request: { replaySessionId: string; key: string; call: ToolCall; invalid?: string; refused?: boolean }): Played<ToolCallOutcome | undefined> {
    const tape = this.tapes.get(request.replaySessionId);
    if (!tape) return this.diverged({ kind: 'unknown-session', replaySessionId: request.replaySessionId, path: [], call: 0, recorded: 'no session of the recorded tree', asked: `tool ${request.call.name}` });
    let call = tape.toolKeys.get(request.key);
    if (call === undefined) {
      const byId = tape.tools.findIndex((t, i) => !tape.toolsTaken.has(i) && t.call.id === request.call.id);
      const next = tape.tools.findIndex((_, i) => !tape.toolsTaken.has(i));
      call = byId >= 0 ? byId : next >= 0 ? next : tape.tools.length + tape.toolKeys.size;
      tape.toolKeys.set(request.key, call);
      tape.toolsTaken.add(call);
      tape.askedTools.push(describeCall(request.call));
    }
    const step = tape.tools[call];
    const where = { sessionId: tape.recorded.sessionId, replaySessionId: request.replaySessionId, path: tape.path, call };
    const asked = describeCall(request.call);
    if (!step) return this.diverged({ kind: 'tool-call-missing', ...where, recorded: `${tape.tools.length} tool calls`, asked });
    if (describeCall(step.call) !== asked) return this.diverged({ kind: 'tool-call', ...where, recorded: describeCall(step.call), asked });
    if (request.invalid) return this.diverged({ kind: 'tool-arguments', ...where, recorded: `${asked} ran`, asked: `its arguments no longer fit the tool: ${request.invalid}` });
    if (request.refused) return { ok: true, value: undefined };
    if (!step.outcome) return this.diverged({ kind: 'tool-call-missing', ...where, recorded: `the call failed: ${step.failure ?? 'no outcome recorded'}`, asked });
    this.served.tool += 1;
    return { ok: true, value: step.outcome };
  }

  /**
   * The next recorded decision on a request of this session — only while the session has not
   * diverged, and only for the same request (tool and arguments, or question, where the
   * recording names them): a person's approval never goes to a call they did not see.
   */
  decision(replaySessionId: string, asked: { tool?: string; argumentsPreview?: string; question?: string }): Played<DecisionStep> {
    const tape = this.tapes.get(replaySessionId);
    const step = tape?.decisions[tape.decisionsTaken];
    const shown = asked.tool !== undefined ? `a decision on ${asked.tool}(${asked.argumentsPreview ?? ''})` : `an answer to ${JSON.stringify(asked.question ?? '')}`;
    const where = { sessionId: tape?.recorded.sessionId, replaySessionId, path: tape?.path ?? [], call: tape?.decisionsTaken ?? 0 };
    if (!tape || !step) return this.diverged({ kind: 'decision-missing', ...where, recorded: `${tape?.decisions.length ?? 0} decisions`, asked: shown });
    if (this.divergences.some((d) => d.replaySessionId === replaySessionId)) return this.diverged({ kind: 'decision-missing', ...where, recorded: 'decisions for the recorded run only', asked: `${shown}, after this session diverged` });
    const same = (['tool', 'argumentsPreview', 'question'] as const).every((k) => step[k] === undefined || step[k] === asked[k]);
    if (!same) return this.diverged({ kind: 'decision-missing', ...where, recorded: `a decision on ${step.tool ?? 'a question'}(${step.argumentsPreview ?? step.question ?? ''})`, asked: shown });
    tape.decisionsTaken += 1;
    return { ok: true, value: step };
  }

  /** The root's recorded user messages after its first, in order. */
  userMessages(): string[] {
    const root = this.recorded.get(this.cassette.rootSessionId)!;
    return root.runs.flatMap((r) => r.steps.flatMap((s) => (s.kind === 'message' ? [s.content] : [])));
  }

  /**
   * Per session of the recorded tree (root first, in the order they started), the tool calls it
   * recorded and those the new run asked for, and whether the new run reached it at all.
   */
  toolCalls(): { path: string[]; reached: boolean; recorded: string[]; asked: string[] }[] {
    const reached = new Map([...this.tapes.values()].map((t) => [t.recorded.sessionId, t]));
    return this.cassette.sessions.map((session) => {
      const tape = reached.get(session.sessionId);
      const recorded = (tape ?? tapeOf(session, [])).tools.map((t) => describeCall(t.call));
      return { path: tape?.path ?? this.recordedPath(session.sessionId), reached: tape !== undefined, recorded, asked: tape?.askedTools ?? [] };
    });
  }

  /** Recorded calls the new run never made, per recorded session (sessions it never reached count whole). */
  unplayed(): { sessionId: string; path: string[]; modelCalls: number; toolCalls: number }[] {
    const reached = new Map([...this.tapes.values()].map((t) => [t.recorded.sessionId, t]));
    return this.cassette.sessions.flatMap((session) => {
      const tape = reached.get(session.sessionId) ?? tapeOf(session, this.recordedPath(session.sessionId));
      const modelCalls = tape.models.length - tape.modelKeys.size;
      const toolCalls = tape.tools.length - [...tape.toolsTaken].filter((i) => i < tape.tools.length).length;
      return modelCalls > 0 || toolCalls > 0 ? [{ sessionId: session.sessionId, path: tape.path, modelCalls: Math.max(0, modelCalls), toolCalls: Math.max(0, toolCalls) }] : [];
    });
  }

  /** A recorded session's titles from the root down, from the spawns that made it. */
  private recordedPath(sessionId: string): string[] {
    const session = this.recorded.get(sessionId);
    if (!session) return [sessionId];
    if (sessionId === this.cassette.rootSessionId || !session.parentSessionId) return [titleOf(this.cassette, session)];
    const spawn = this.recorded.get(session.parentSessionId)?.runs.flatMap((r) => r.steps).find((s) => s.kind === 'spawn' && s.childSessionId === sessionId);
    return [...this.recordedPath(session.parentSessionId), (spawn?.kind === 'spawn' && spawn.title) || sessionId];
  }

  private diverged(divergence: Divergence): { ok: false; divergence: Divergence } {
    this.divergences.push(divergence);
    return { ok: false, divergence };
  }
}

function tapeOf(recorded: RecordedSession, path: string[]): Tape {
  const tape: Tape = { recorded, path, models: [], tools: [], decisions: [], spawns: [], summaries: [], modelKeys: new Map(), toolKeys: new Map(), summaryKeys: new Map(), toolsTaken: new Set(), decisionsTaken: 0, claimedChildren: new Set(), askedTools: [] };
  for (const run of recorded.runs) {
    const requests = requestsOf(run);
    for (const [i, step] of run.steps.entries()) {
      if (step.kind === 'model') tape.models.push({ ...step, request: step.messages ?? requests.get(i), refusedForLength: step.failureType === FailureTypes.contextLength });
      else if (step.kind === 'tool') tape.tools.push(step);
      else if (step.kind === 'decision') tape.decisions.push(step);
      else if (step.kind === 'spawn') tape.spawns.push(step);
      else if (step.kind === 'summary') tape.summaries.push(step);
    }
  }
  return tape;
}

/**
 * What each model call of a run was sent, where history held only how many messages: the first
 * `messageCount` of the transcript as it stood then. Read backwards from the run's final
 * transcript, putting back what each summary replaced as the walk passes it.
 */
function requestsOf(run: RecordedSession['runs'][number]): Map<number, Message[]> {
  const requests = new Map<number, Message[]>();
  let transcript = run.messages;
  for (let i = run.steps.length - 1; i >= 0 && transcript; i--) {
    const step = run.steps[i];
    if (step.kind === 'model') requests.set(i, transcript.slice(0, step.messageCount));
    if (step.kind === 'summary' && step.response) {
      const at = transcript.findIndex((m) => m.metadata?.[SUMMARY_METADATA_KEY] === step.summaryId);
      if (at >= 0) transcript = [...transcript.slice(0, at), ...step.replaced, ...transcript.slice(at + 1)];
    }
  }
  return requests;
}

function titleOf(cassette: Cassette, session: RecordedSession, spawnTitle?: string): string {
  if (session.sessionId === cassette.rootSessionId) return cassette.start?.session.title ?? 'root';
  return spawnTitle ?? session.sessionId;
}

function placeOf(keys: Map<string, number>, key: string): number {
  const known = keys.get(key);
  if (known !== undefined) return known;
  keys.set(key, keys.size);
  return keys.size - 1;
}

/** A message as the model reads it, with what differs between two runs of one tree masked. */
function shownAs(message: Message, rootId: string): string {
  const mask = (text: string) =>
    text
      .replaceAll(new RegExp(`${escapeRegExp(rootId)}(?:-[0-9a-f]{8})*`, 'g'), '«session»')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '«uuid»')
      .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g, '«time»');
  const calls = message.toolCalls?.map((c) => `${c.id} ${describeCall(c)}`).join('; ');
  return mask(`${message.role}${message.toolCallId ? ` (${message.toolCallId})` : ''}: ${message.content}${calls ? ` [calls ${calls}]` : ''}`);
}

/** The first message where the asked request differs from the recorded one, excerpted. */
function firstDifference(recorded: readonly Message[], asked: readonly Message[], recordedRoot: string, replayRoot: string): { recorded: string; asked: string } | undefined {
  const n = Math.max(recorded.length, asked.length);
  for (let i = 0; i < n; i++) {
    const r = recorded[i] ? shownAs(recorded[i], recordedRoot) : undefined;
    const a = asked[i] ? shownAs(asked[i], replayRoot) : undefined;
    if (r !== a) return { recorded: `message ${i + 1} of ${recorded.length}: ${r === undefined ? '(none)' : excerpt(r)}`, asked: `message ${i + 1} of ${asked.length}: ${a === undefined ? '(none)' : excerpt(a)}` };
  }
  return undefined;
}

export function describeCall(call: Pick<ToolCall, 'name' | 'arguments'>): string {
  return `${call.name}(${canonicalJson(call.arguments)})`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function lastMessage(messages: readonly Message[]): string {
  const last = messages.at(-1);
  return last ? excerpt(`${last.role}: ${last.content}`) : '(no messages)';
}

function excerpt(text: string): string {
  return text.length > EXCERPT ? `${text.slice(0, EXCERPT - 1)}…` : text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
