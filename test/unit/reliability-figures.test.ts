/**
 * The reliability figures quoted in the README are the last full run's, as docs/reliability.md
 * records them (its table is copied from that run's test-output/reliability-summary.json, which
 * is not committed): this keeps the two documents and the table's own total in step, so a
 * re-run's figures cannot land in one place and not the other.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const COLUMNS = ['runs', 'faults', 'inputs', 'lost', 'duplicated'] as const;
type Figures = Record<(typeof COLUMNS)[number], number>;

/** `1,708` → 1708; `—` (not counted) → 0. */
const count = (cell: string) => (cell.replace(/\*/g, '').trim() === '—' ? 0 : Number(cell.replace(/[*,]/g, '').trim()));

/** The scenario rows and the total row of the first table under "## Reliability suite" (the audit's follows it). */
function suiteTable(): { rows: Figures[]; total: Figures } {
  const section = read('docs/reliability.md').split('\n## Reliability suite\n')[1].split('\n## ')[0];
  const table = section.slice(section.indexOf('\n|')).split('\n\n')[0];
  const lines = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| scenario') && !line.startsWith('|---'));
  const figures = lines.map((line) => {
    const cells = line.split('|').slice(2, 2 + COLUMNS.length);
    return Object.fromEntries(COLUMNS.map((c, i) => [c, count(cells[i])])) as Figures;
  });
  const totalAt = lines.findIndex((line) => line.startsWith('| **total**'));
  expect(totalAt).toBe(lines.length - 1);
  return { rows: figures.slice(0, -1), total: figures[totalAt] };
}

test("the reliability table's total row is the sum of its scenarios", () => {
  const { rows, total } = suiteTable();
  expect(rows.length).toBeGreaterThanOrEqual(10);
  const sum = Object.fromEntries(COLUMNS.map((c) => [c, rows.reduce((n, row) => n + row[c], 0)]));
  expect(sum).toEqual(total);
});

test("the README quotes the reliability table's totals", () => {
  const { total } = suiteTable();
  const readme = read('README.md');
  const runs = /\((\d+) lost, (\d+) duplicated in ([\d,]+) runs[,)]/.exec(readme);
  expect(runs && { lost: count(runs[1]), duplicated: count(runs[2]), runs: count(runs[3]) }).toEqual({ lost: total.lost, duplicated: total.duplicated, runs: total.runs });
  const inputs = /the reliability suite's ([\d,]+)\s+bad inputs/.exec(readme);
  expect(inputs && count(inputs[1])).toBe(total.inputs);
});
