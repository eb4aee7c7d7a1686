/** `bamboo usage`'s table (renderUsage): one way to say each kind of cost, on every row. */
import type { SessionUsage, Usage } from '../../common';
import { renderUsage, type UsageRow } from '../../cli/commands/usage';

const none: Usage = { inputTokens: 0, outputTokens: 0 };
const some: Usage = { inputTokens: 120, outputTokens: 30 };

function costColumn(rows: UsageRow[], total: Pick<SessionUsage, 'subtree' | 'costMicroUsd' | 'unpricedCalls'>): Record<string, string> {
  const report = { sessionId: 'r', rows, total: { self: none, children: [], childRuns: 0, ...total } };
  const lines = renderUsage(report).split('\n').slice(1, rows.length + 2);
  return Object.fromEntries(lines.map((line) => [line.trim().split(/\s+/)[0], line.split(/\s{2,}/).at(-1)!]));
}

test('no calls: —; priced: dollars; no price: "no price"; both: dollars + "no price (N calls)"', () => {
  const rows: UsageRow[] = [
    { sessionId: 'idle', depth: 0, usage: none, costMicroUsd: 0, unpricedCalls: 0 },
    { sessionId: 'priced', depth: 1, usage: some, costMicroUsd: 1234, unpricedCalls: 0 },
    { sessionId: 'unpriced', depth: 1, usage: some, costMicroUsd: 0, unpricedCalls: 2 },
    { sessionId: 'mixed', depth: 1, usage: some, costMicroUsd: 1234, unpricedCalls: 3 },
  ];
  expect(costColumn(rows, { subtree: some, costMicroUsd: 2468, unpricedCalls: 5 })).toEqual({
    idle: '—',
    priced: '$0.001234',
    unpriced: 'no price',
    mixed: '$0.001234 + no price (3 calls)',
    total: '$0.002468 + no price (5 calls)',
  });
  expect(costColumn([rows[0]], { subtree: none, costMicroUsd: 0, unpricedCalls: 0 })).toEqual({ idle: '—', total: '—' });
});
