/**
 * `bamboo usage <id> [--tree]`: a session's ledger as a table — its own model calls, each
 * child's (a child's figures include its own children), and the total; with --tree, every
 * descendant indented under its parent. Cost is shown where the models have a price (costText
 * says how each row reads). Under
 * the table: the child runs the subtree started and, when the session has a budget, one line
 * per limited resource. `--json` prints the report, the `usage` query's answer as `total`.
 */
import type { Command } from 'commander';
import type { BambooClient } from '../../client/bamboo-client';
import { formatUsd, totalTokens, usdToMicro, type BudgetStatus, type SessionUsage, type Usage } from '../../common';
import { print, withBamboo, type GlobalOptions } from '../context';
import { table } from '../format';

export interface UsageRow {
  sessionId: string;
  /** 0: the session's own calls; 1: its children; 2: their children… */
  depth: number;
  usage: Usage;
  costMicroUsd: number;
  unpricedCalls: number;
}

export interface UsageReport {
  sessionId: string;
  rows: UsageRow[];
  total: SessionUsage;
}

export function registerUsageCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('usage')
    .description("a session's tokens and cost: its own, each child's, the subtree's")
    .argument('<id>', 'session id')
    .option('--tree', 'every descendant, not only the children')
    .action(async (id: string, opts: { tree?: boolean }) => {
      await withBamboo(globals(), async (bamboo) => {
        const report = await usageReport(bamboo, id, Boolean(opts.tree));
        print(globals(), report, () => renderUsage(report));
      });
    });
}

export async function usageReport(bamboo: BambooClient, sessionId: string, tree: boolean): Promise<UsageReport> {
  const total = await bamboo.getSession(sessionId).usage();
  const rows: UsageRow[] = [{ sessionId: `${sessionId} (own calls)`, depth: 0, usage: total.self, ...ownCost(total) }];
  await addChildren(bamboo, total, 1, tree, rows);
  return { sessionId, rows, total };
}

async function addChildren(bamboo: BambooClient, ledger: SessionUsage, depth: number, tree: boolean, rows: UsageRow[]): Promise<void> {
  for (const child of ledger.children) {
    rows.push({ sessionId: child.childSessionId, depth, usage: child.usage, costMicroUsd: child.costMicroUsd, unpricedCalls: child.unpricedCalls });
    if (!tree) continue;
    // The child's latest run knows its own children; a run that cannot answer is shown without them.
    const childLedger = await childUsage(bamboo, child.childSessionId);
    if (childLedger) await addChildren(bamboo, childLedger, depth + 1, tree, rows);
  }
}

async function childUsage(bamboo: BambooClient, childSessionId: string): Promise<SessionUsage | undefined> {
  try {
    return await bamboo.getSession(childSessionId).usage();
  } catch {
    return undefined;
  }
}

/** The session's own calls' cost: the subtree's minus what the children reported. */
function ownCost(ledger: SessionUsage): Pick<UsageRow, 'costMicroUsd' | 'unpricedCalls'> {
  const children = ledger.children.reduce((n, c) => ({ cost: n.cost + c.costMicroUsd, unpriced: n.unpriced + c.unpricedCalls }), { cost: 0, unpriced: 0 });
  return { costMicroUsd: ledger.costMicroUsd - children.cost, unpricedCalls: ledger.unpricedCalls - children.unpriced };
}

export function renderUsage(report: UsageReport): string {
  const line = (name: string, usage: Usage, costMicroUsd: number, unpricedCalls: number) => [
    name,
    String(usage.inputTokens),
    String(usage.outputTokens),
    String(usage.cachedInputTokens ?? 0),
    String(usage.inputTokens + usage.outputTokens),
    costText(usage, costMicroUsd, unpricedCalls),
  ];
  const ledger = table([
    ['SESSION', 'INPUT', 'OUTPUT', 'CACHED', 'TOKENS', 'COST'],
    ...report.rows.map((r) => line(`${'  '.repeat(r.depth)}${r.sessionId}`, r.usage, r.costMicroUsd, r.unpricedCalls)),
    line('total', report.total.subtree, report.total.costMicroUsd, report.total.unpricedCalls),
  ]);
  const below = [['child runs', String(report.total.childRuns)]];
  if (report.total.budget) budgetLines(report.total.budget).forEach((text, i) => below.push([i === 0 ? 'budget' : '', text]));
  return `${ledger}\n\n${table(below)}`;
}

/**
 * One line per limited resource: `tokens    900 used + 350 reserved of 1000 (0 left)`.
 * Reserved is what queued and running children hold; it is shown only when there is some.
 */
export function budgetLines(budget: BudgetStatus): string[] {
  const { limits, used: u, reserved: r, remaining: rest } = budget;
  const count = (n: number) => String(n);
  const maxCostMicroUsd = limits.maxCostUsd === undefined ? undefined : usdToMicro(limits.maxCostUsd);
  const resources = [
    { name: 'tokens', limit: limits.maxTokens, used: u.tokens, reserved: r.tokens, left: rest.tokens, show: count },
    { name: 'cost', limit: maxCostMicroUsd, used: u.costMicroUsd, reserved: r.costMicroUsd, left: rest.costMicroUsd, show: formatUsd },
    { name: 'sessions', limit: limits.maxSessions, used: u.sessions, reserved: r.sessions, left: rest.sessions, show: count },
  ];
  return resources.flatMap(({ name, limit, used, reserved, left, show }) =>
    limit === undefined ? [] : [`${name.padEnd(8)}  ${show(used)} used${reserved > 0 ? ` + ${show(reserved)} reserved` : ''} of ${show(limit)} (${show(left ?? 0)} left)`],
  );
}

/**
 * One way per kind of cost, on every row: `—` where no model call was counted (no tokens, no
 * cost: nothing to price — not `$0.000000`, which would claim a price), `$0.001234` where every
 * call had a price, `no price` where none had, `$0.001234 + no price (3 calls)` for both.
 */
export function costText(usage: Usage, costMicroUsd: number, unpricedCalls: number): string {
  if (unpricedCalls === 0 && costMicroUsd === 0 && totalTokens(usage) === 0) return NO_COST;
  if (unpricedCalls === 0) return formatUsd(costMicroUsd);
  if (costMicroUsd === 0) return 'no price';
  return `${formatUsd(costMicroUsd)} + no price (${unpricedCalls} calls)`;
}

/** The cost column of a row with nothing spent. */
export const NO_COST = '—';
