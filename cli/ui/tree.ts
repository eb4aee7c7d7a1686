/**
 * A root's tree from visibility: the runs grouped by session (follow-ups and continue-as-new of
 * one session in one row), each session under its parent, with what its parent knows of it
 * (title, error text) and its own tokens (its subtree's minus its children's). Plain data, no
 * Temporal: unit-tested.
 */
import type { RunRow } from './reads';

export interface ChildFacts {
  title?: string;
  error?: string;
  /** The status the parent recorded for the child's last reported run, and that run (the latest listed when it was read). */
  status?: string;
  statusOfRun?: string;
}

export interface SessionNode {
  sessionId: string;
  kind: 'root' | 'child';
  parentSessionId?: string;
  depth: number;
  title?: string;
  error?: string;
  model?: string;
  /** The latest run's status. */
  status: string;
  /** Oldest first. */
  runs: RunRow[];
  start: number;
  /** Undefined while a run is open. */
  end?: number;
  /** The subtree's tokens and cost, as the latest run last published them. */
  tokens: number;
  costUsd: number;
  /** The session's own calls: the subtree's minus its children's. */
  ownTokens: number;
  ownCostUsd: number;
  pendingRequests: number;
  children: SessionNode[];
}

export interface SessionTree {
  root?: SessionNode;
  /** Depth-first, parents before children, children by start. */
  sessions: SessionNode[];
  /** The time axis: the first run's start to the last close (or now). */
  span: { start: number; end: number };
}

/**
 * A run that publishes no status (searchAttributes `at-start`) and completed as a workflow may
 * still have ended `error`, `timeout` or `skipped`: its parent's record says which.
 */
function statusOf(latest: RunRow, known: ChildFacts | undefined): string {
  if (latest.statusPublished || latest.executionStatus !== 'COMPLETED' || !known?.status || known.statusOfRun !== latest.runId) return latest.status;
  return known.status === 'running' || known.status === 'pending' ? latest.status : known.status;
}

export function buildTree(rootSessionId: string, runs: readonly RunRow[], facts: ReadonlyMap<string, ChildFacts>, now: number): SessionTree {
  const bySession = new Map<string, RunRow[]>();
  for (const run of runs) bySession.set(run.sessionId, [...(bySession.get(run.sessionId) ?? []), run]);
  const nodes = new Map<string, SessionNode>();
  for (const [sessionId, sessionRuns] of bySession) {
    const ordered = [...sessionRuns].sort((a, b) => a.startTime - b.startTime);
    const latest = ordered[ordered.length - 1];
    const open = ordered.some((r) => r.closeTime === undefined);
    const known = facts.get(sessionId);
    const status = statusOf(latest, known);
    nodes.set(sessionId, {
      sessionId,
      kind: latest.kind,
      ...(latest.parentSessionId ? { parentSessionId: latest.parentSessionId } : {}),
      depth: 0,
      ...(known?.title ? { title: known.title } : {}),
      ...(known?.error && status !== 'running' && status !== 'completed' ? { error: known.error } : {}),
      ...(latest.model ? { model: latest.model } : {}),
      status,
      runs: ordered,
      start: ordered[0].startTime,
      ...(open ? {} : { end: Math.max(...ordered.map((r) => r.closeTime ?? 0)) }),
      ...spentByChains(ordered),
      pendingRequests: latest.pendingRequests,
      children: [],
    });
  }
  const root = nodes.get(rootSessionId);
  for (const node of nodes.values()) {
    if (node === root) continue;
    // A session whose parent is not listed (yet) hangs under the root rather than nowhere.
    const parent = (node.parentSessionId && nodes.get(node.parentSessionId)) || root;
    if (parent && parent !== node) parent.children.push(node);
  }
  const sessions: SessionNode[] = [];
  const visit = (node: SessionNode, depth: number, seen: Set<string>) => {
    if (seen.has(node.sessionId)) return;
    seen.add(node.sessionId);
    node.depth = depth;
    node.children.sort((a, b) => a.start - b.start || a.sessionId.localeCompare(b.sessionId));
    node.ownTokens = Math.max(0, node.tokens - node.children.reduce((n, c) => n + c.tokens, 0));
    node.ownCostUsd = Math.max(0, node.costUsd - node.children.reduce((n, c) => n + c.costUsd, 0));
    sessions.push(node);
    for (const child of node.children) visit(child, depth + 1, seen);
  };
  if (root) visit(root, 0, new Set());
  const starts = runs.map((r) => r.startTime);
  const ends = runs.map((r) => r.closeTime ?? now);
  return { ...(root ? { root } : {}), sessions, span: { start: starts.length ? Math.min(...starts) : now, end: ends.length ? Math.max(...ends) : now } };
}

/**
 * A session's subtree spend over its runs. A run that continued-as-new carries its spend on, so
 * a chain's latest run has the chain's; a follow-up run starts a chain of its own, from zero.
 */
function spentByChains(ordered: readonly RunRow[]): Pick<SessionNode, 'tokens' | 'costUsd' | 'ownTokens' | 'ownCostUsd'> {
  let tokens = 0;
  let costUsd = 0;
  ordered.forEach((run, i) => {
    if (i + 1 < ordered.length && run.executionStatus === 'CONTINUED_AS_NEW') return; // its successor has it
    tokens += run.tokens;
    costUsd += run.costUsd;
  });
  return { tokens, costUsd, ownTokens: tokens, ownCostUsd: costUsd };
}

/** Where a bar starts and how wide it is on the tree's time axis, in percent. */
export function barOf(span: { start: number; end: number }, from: number, to: number): { left: number; width: number } {
  const total = Math.max(1, span.end - span.start);
  const left = ((from - span.start) / total) * 100;
  const width = Math.max(0.5, ((to - from) / total) * 100);
  return { left: round(left), width: round(Math.min(width, 100 - left)) };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
