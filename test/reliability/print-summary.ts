/** Prints test-output/reliability-summary.json (written by the reliability suite) as a table. */
import { existsSync, readFileSync } from 'node:fs';
import { SUMMARY_FILE } from './support/paths';
import type { KnownBug, ScenarioRecord } from './support/summary';

interface Summary {
  seed: number;
  startedAt: string;
  finishedAt: string;
  cores: number;
  totals: Pick<ScenarioRecord, 'runs' | 'faults' | 'inputs' | 'lost' | 'duplicated' | 'serverErrors'>;
  scenarios: ScenarioRecord[];
  knownBugs: KnownBug[];
}

if (!existsSync(SUMMARY_FILE)) {
  console.log(`no reliability summary at ${SUMMARY_FILE} (did the suite run?)`);
  process.exit(0);
}
const summary = JSON.parse(readFileSync(SUMMARY_FILE, 'utf8')) as Summary;
const TITLE = 66;
const pad = (value: unknown, width: number) => String(value).padStart(width);
const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
const minutes = (ms: number) => `${Math.floor(ms / 60000)}m${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}s`;

function render(key: string, value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) return;
    out.push(`${indent}${key}:`);
    for (const item of value) out.push(`${indent}  - ${cut(typeof item === 'string' ? item : JSON.stringify(item), 300)}`);
  } else if (value && typeof value === 'object') {
    const json = JSON.stringify(value);
    if (json.length <= 160) out.push(`${indent}${key}: ${json}`);
    else {
      out.push(`${indent}${key}:`);
      for (const [k, v] of Object.entries(value)) out.push(`${indent}  ${k}: ${cut(typeof v === 'string' ? v : JSON.stringify(v), 260)}`);
    }
  } else if (value !== undefined) {
    out.push(`${indent}${key}: ${cut(String(value), 300)}`);
  }
}

const lines: string[] = [''];
const elapsed = Date.parse(summary.finishedAt) - Date.parse(summary.startedAt);
lines.push(`Bamboo reliability summary — REL_SEED=${summary.seed}, ${summary.cores} cores, ${minutes(elapsed)} (${summary.startedAt})`);
lines.push('');
lines.push(`${'scenario'.padEnd(TITLE)} ${pad('result', 6)} ${pad('runs', 6)} ${pad('faults', 6)} ${pad('inputs', 6)} ${pad('lost', 5)} ${pad('dup', 4)} ${pad('srvErr', 6)} ${pad('time', 7)}`);
for (const s of summary.scenarios) {
  lines.push(
    `${cut(s.title, TITLE - 1).padEnd(TITLE)} ${pad(s.status === 'passed' ? 'ok' : 'FAIL', 6)} ${pad(s.runs, 6)} ${pad(s.faults, 6)} ${pad(s.inputs, 6)} ${pad(s.lost, 5)} ${pad(s.duplicated, 4)} ${pad(s.serverErrors, 6)} ${pad(minutes(s.durationMs), 7)}`,
  );
}
const t = summary.totals;
lines.push(`${'total'.padEnd(TITLE)} ${pad('', 6)} ${pad(t.runs, 6)} ${pad(t.faults, 6)} ${pad(t.inputs, 6)} ${pad(t.lost, 5)} ${pad(t.duplicated, 4)} ${pad(t.serverErrors, 6)}`);
lines.push('');
lines.push('runs: workflow runs started and checked · faults: kills, server stops, provider and runner failures injected ·');
lines.push('inputs: invalid or hostile inputs tried · lost/dup: child runs whose completion was lost / delivered or reported twice ·');
lines.push('srvErr: see each scenario\'s note');
const audited = summary.scenarios.filter((s) => s.crossCheck);
if (audited.length > 0) {
  lines.push('');
  lines.push('The engine\'s figures (parents\' state and transcripts) beside the audit\'s (Temporal\'s visibility, describe() and every run\'s history):');
  lines.push(`${'scenario'.padEnd(40)} ${pad('children', 9)} ${pad('chains', 7)} ${pad('runs', 6)} ${pad('reported/sig', 13)} ${pad('lost', 7)} ${pad('dup', 7)} ${pad('tokens', 10)} ${pad('agree', 6)}`);
  for (const s of audited) {
    const { engine, audit, findings } = s.crossCheck!;
    const both = (a: number, b: number) => `${a}/${b}`;
    lines.push(
      `${cut(s.id, 39).padEnd(40)} ${pad(both(engine.children, audit.childSessions), 9)} ${pad(audit.chains, 7)} ${pad(audit.runs, 6)} ${pad(both(engine.reported, audit.signalsReceived), 13)} ${pad(both(engine.lost, audit.lost), 7)} ${pad(both(engine.duplicated, audit.duplicated), 7)} ${pad(audit.usage.inputTokens + audit.usage.outputTokens, 10)} ${pad(findings.length === 0 ? 'yes' : `NO ${findings.length}`, 6)}`,
    );
    for (const finding of findings.slice(0, 5)) lines.push(`    ${cut(finding, 200)}`);
  }
  lines.push('(engine/audit; chains: separate starts of a child session; runs: every workflow run, continue-as-new and the roots included;');
  lines.push(' reported/sig: results in the parents\' transcripts / completion signals in all the parents\' runs (a terminated run is reported without one);');
lines.push(' tokens: every callModel result in every run; agree: the audit found no disagreement with the engine\'s view)');
}
lines.push('');
for (const s of summary.scenarios) {
  lines.push(`· ${s.title} — ${s.status}`);
  for (const [key, value] of Object.entries(s.details)) render(key, value, '    ', lines);
  for (const note of s.notes) lines.push(`    note: ${note}`);
  if (s.scaledDown) lines.push(`    SCALED DOWN: ${s.scaledDown}`);
}
const scaled = summary.scenarios.filter((s) => s.scaledDown);
lines.push('');
lines.push(
  scaled.length === 0
    ? 'Scaled down from issue 7: nothing (100 children with 3 worker kills, 1,000+ bad inputs, 1,000 concurrent load runs, all at full size).'
    : `Scaled down from issue 7: ${scaled.map((s) => `${s.id}: ${s.scaledDown}`).join('; ')}.`,
);
if (summary.knownBugs.length > 0) {
  lines.push('');
  lines.push('Product bugs the suite found (each has a test asserting the fix; REPRODUCED means it is back):');
  for (const b of summary.knownBugs) {
    lines.push(`  [${b.reproduced ? 'REPRODUCED' : 'not seen'}] ${b.id}: ${b.title}`);
    lines.push(`      where: ${b.where}`);
    if (b.evidence) lines.push(`      seen: ${cut(b.evidence, 400)}`);
  }
}
lines.push('');
console.log(lines.join('\n'));
