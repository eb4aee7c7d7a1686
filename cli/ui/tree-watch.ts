/**
 * What one tree topic reads each tick, economically: one visibility listing of the whole tree;
 * a parent's `state` query only when one of its children is new to the page or changed status
 * (titles and error texts come from the parent, which knows them); the root's `usage` query
 * only when the tree's tokens or sessions changed (its budget); and heartbeat details of at
 * most `progressPerTick` running sessions per tick, in turn.
 */
import type { ProgressDetails } from '../../common';
import { liveProgress } from '../sessions-api';
import type { SessionUsage } from '../../common';
import type { RunRow, TemporalReads } from './reads';
import { buildTree, type ChildFacts } from './tree';
import type { OwnFacts, TreeView } from './views';

/** How many ticks the page reads a parent again for a child's report it has not recorded. */
const UNREPORTED_READS = 5;

export class TreeWatch {
  private readonly facts = new Map<string, ChildFacts>();
  /** What each parent's children looked like when its state was last read. */
  private readonly seenChildren = new Map<string, string>();
  /** Per parent: reads of it that found a closed child's report not recorded yet, for its children's key. */
  private readonly unreported = new Map<string, { key: string; reads: number }>();
  private budget?: SessionUsage['budget'];
  private usageKey = '';
  private readonly progress = new Map<string, ProgressDetails>();
  /** What a running session says of itself (its `state`): subagent type (kept), watchdog deadline. */
  private readonly own = new Map<string, OwnFacts>();
  private progressTurn = 0;
  private rootTitleRead = false;

  constructor(
    private readonly reads: TemporalReads,
    readonly rootSessionId: string,
    private readonly progressPerTick = 4,
  ) {}

  async read(now = Date.now()): Promise<TreeView> {
    const runs = await this.reads.treeRuns(this.rootSessionId);
    const latest = latestRuns(runs);
    await Promise.all([this.readFacts(latest), this.readBudget(latest), this.readRootTitle(latest), this.readProgress(latest)]);
    return { tree: buildTree(this.rootSessionId, runs, this.facts, now), ...(this.budget ? { budget: this.budget } : {}), progress: this.progress, own: this.own, now };
  }

  private async readFacts(latest: Map<string, RunRow>): Promise<void> {
    const childrenOf = new Map<string, RunRow[]>();
    for (const run of latest.values()) {
      if (run.kind !== 'child') continue;
      const parent = run.parentSessionId ?? this.rootSessionId;
      childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), run]);
    }
    await Promise.all(
      [...childrenOf].map(async ([parent, children]) => {
        // By run, not only status: a run that publishes no status closes `completed` whatever its outcome.
        const key = children.map((c) => `${c.sessionId}:${c.runId}:${c.status}`).sort().join(',');
        if (this.seenChildren.get(parent) === key) return;
        const state = await this.reads.state(parent);
        if (!state) return;
        // A child that publishes no status closes before its parent has its report: read again,
        // a few ticks at most (a parent that ended first never records it).
        const reported = (c: RunRow) => c.statusPublished || c.closeTime === undefined || state.children.some((k) => k.childSessionId === c.sessionId && k.status !== 'running' && k.status !== 'pending');
        const earlier = this.unreported.get(parent);
        const reads = earlier?.key === key ? earlier.reads + 1 : 1;
        if (children.every(reported) || reads >= UNREPORTED_READS) {
          this.seenChildren.set(parent, key);
          this.unreported.delete(parent);
        } else this.unreported.set(parent, { key, reads });
        for (const child of state.children) {
          const known = this.facts.get(child.childSessionId) ?? {};
          const run = latest.get(child.childSessionId)?.runId;
          // A follow-up starting (`pending` again) does not undo the outcome of the run still listed.
          const keep = known.statusOfRun === run && known.status !== undefined && !['running', 'pending'].includes(known.status) && ['running', 'pending'].includes(child.status);
          this.facts.set(child.childSessionId, {
            ...known,
            ...(child.title ? { title: child.title } : {}),
            ...(child.error ? { error: child.error } : {}),
            ...(keep ? {} : { status: child.status, ...(run ? { statusOfRun: run } : {}) }),
          });
        }
      }),
    );
  }

  private async readBudget(latest: Map<string, RunRow>): Promise<void> {
    // Closed runs count too: runs that publish no tokens (searchAttributes `at-start`) still spend.
    const key = `${latest.size}:${[...latest.values()].filter((r) => r.closeTime !== undefined).length}:${[...latest.values()].reduce((n, r) => n + r.tokens, 0)}`;
    if (key === this.usageKey) return;
    const usage = await this.reads.usage(this.rootSessionId);
    if (!usage) return;
    this.usageKey = key;
    this.budget = usage.budget;
  }

  /** The root's title, from its summary (once: it never changes). */
  private async readRootTitle(latest: Map<string, RunRow>): Promise<void> {
    const root = latest.get(this.rootSessionId);
    if (this.rootTitleRead || !root) return;
    this.rootTitleRead = true;
    const summary = await this.reads
      .describe(root.workflowId, root.runId)
      .then((d) => d.staticSummary())
      .catch(() => undefined);
    const title = summary?.match(/“([^”]*)”/)?.[1];
    if (title) this.facts.set(this.rootSessionId, { ...this.facts.get(this.rootSessionId), title });
  }

  private async readProgress(latest: Map<string, RunRow>): Promise<void> {
    const running = [...latest.values()].filter((r) => r.closeTime === undefined).sort((a, b) => a.sessionId.localeCompare(b.sessionId));
    for (const id of this.progress.keys()) if (!running.some((r) => r.sessionId === id)) this.progress.delete(id);
    if (running.length === 0) return;
    const take = Math.min(this.progressPerTick, running.length);
    const turn = Array.from({ length: take }, (_, i) => running[(this.progressTurn + i) % running.length]);
    this.progressTurn = (this.progressTurn + take) % running.length;
    await Promise.all(
      turn.map(async (run) => {
        const [details, state] = await Promise.all([progressOf(this.reads, run.workflowId, run.runId), run.kind === 'child' ? this.reads.state(run.sessionId) : undefined]);
        if (details) this.progress.set(run.sessionId, details);
        if (state) this.own.set(run.sessionId, { ...(state.subagentType ? { subagentType: state.subagentType } : {}), ...(state.watchdog ? { deadlineAt: state.watchdog.deadlineAt, pausedSince: state.watchdog.pausedSince } : {}) });
      }),
    );
  }
}

/** The running activity's last heartbeat details (what it has streamed so far), if any. */
export async function progressOf(reads: TemporalReads, workflowId: string, runId?: string): Promise<ProgressDetails | undefined> {
  const description = await reads.describe(workflowId, runId).catch(() => undefined);
  return description ? (await liveProgress(reads.client, description)).find((p) => p.details)?.details : undefined;
}

function latestRuns(runs: readonly RunRow[]): Map<string, RunRow> {
  const latest = new Map<string, RunRow>();
  for (const run of runs) {
    const known = latest.get(run.sessionId);
    if (!known || run.startTime > known.startTime) latest.set(run.sessionId, run);
  }
  return latest;
}
