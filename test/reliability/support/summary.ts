/**
 * The figures each scenario reports (runs, faults injected, inputs tried, lost, duplicated,
 * server errors…), collected in this process and written to test-output/reliability-summary.json
 * by the suite's afterAll; `print-summary.ts` prints them after Jest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { SUMMARY_FILE } from './paths';
import type { AuditTotals } from '../../helpers/tree-audit';
import { addUsage, type Usage } from '../../../common';

export interface ScenarioRecord {
  id: string;
  title: string;
  status: 'passed' | 'failed';
  /** Workflow runs the scenario started and checked (child runs, root sessions). */
  runs: number;
  /** Faults injected (kills, server stops, provider/runner failures). */
  faults: number;
  /** Invalid or hostile inputs tried. */
  inputs: number;
  /** Child runs that never reached a terminal status, or whose result never reached their parent. */
  lost: number;
  /** Child runs whose completion was signalled or reported more than once. */
  duplicated: number;
  /** Server-side errors observed (see notes for what is counted). */
  serverErrors: number;
  durationMs: number;
  details: Record<string, unknown>;
  notes: string[];
  /** What was scaled down from the numbers, if anything. */
  scaledDown?: string;
  /**
   * The same figures twice: as the engine reports them (the parents' state and transcripts) and
   * as the tree audit rebuilt them from Temporal's records alone. A scenario fails when they disagree.
   */
  crossCheck?: { engine: EngineFigures; audit: Omit<AuditTotals, 'findings'>; findings: string[] };
}

export interface EngineFigures {
  children: number;
  /** Child results the parents' transcripts report (a terminated run is reported without a signal). */
  reported: number;
  lost: number;
  duplicated: number;
}

export interface KnownBug {
  id: string;
  title: string;
  where: string;
  /** True when this run reproduced it. */
  reproduced: boolean;
  evidence?: string;
}

const records: ScenarioRecord[] = [];
const bugs: KnownBug[] = [];
const startedAt = new Date();
let seed = 0;

export function setSeed(value: number): void {
  seed = value;
}

/** Starts a scenario's record; mark it passed with `pass(record)` at the end of the test. */
export function beginScenario(id: string, title: string, scaledDown?: string): ScenarioRecord & { started: number } {
  const record = {
    id,
    title,
    status: 'failed' as const,
    runs: 0,
    faults: 0,
    inputs: 0,
    lost: 0,
    duplicated: 0,
    serverErrors: 0,
    durationMs: 0,
    details: {},
    notes: [],
    scaledDown,
    started: Date.now(),
  };
  records.push(record);
  return record;
}

export function finishScenario(record: ScenarioRecord & { started: number }, passed: boolean): void {
  record.status = passed ? 'passed' : 'failed';
  record.durationMs = Date.now() - record.started;
}

export function scenarioRecord(id: string): ScenarioRecord | undefined {
  return records.find((r) => r.id === id);
}

/**
 * Adds an audit to the scenario's record, beside the engine's figures.
 */
export function recordAudit(record: ScenarioRecord, audit: AuditTotals, engine: EngineFigures): void {
  const { findings, ...figures } = audit;
  const previous = record.crossCheck;
  // A scenario may audit several batches of trees: the figures add up.
  const add = <T extends object>(a: T | undefined, b: T): T => {
    if (!a) return b;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) {
      const w = (a as Record<string, unknown>)[k];
      out[k] = typeof v === 'number' ? v + (w as number) : k === 'usage' ? addUsage(v as Usage, w as Usage) : v;
    }
    return out as T;
  };
  record.crossCheck = { engine: add(previous?.engine, engine), audit: add(previous?.audit, figures), findings: [...(previous?.findings ?? []), ...findings] };
}

export function recordBug(bug: KnownBug): void {
  const existing = bugs.find((b) => b.id === bug.id);
  if (existing) Object.assign(existing, bug);
  else bugs.push(bug);
}

export function writeSummary(): void {
  const totals = records.reduce(
    (t, r) => ({
      runs: t.runs + r.runs,
      faults: t.faults + r.faults,
      inputs: t.inputs + r.inputs,
      lost: t.lost + r.lost,
      duplicated: t.duplicated + r.duplicated,
      serverErrors: t.serverErrors + r.serverErrors,
    }),
    { runs: 0, faults: 0, inputs: 0, lost: 0, duplicated: 0, serverErrors: 0 },
  );
  mkdirSync(dirname(SUMMARY_FILE), { recursive: true });
  writeFileSync(
    SUMMARY_FILE,
    JSON.stringify(
      {
        seed,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        cores: cpus().length,
        totals,
        scenarios: records.map(({ ...r }) => {
          delete (r as Partial<typeof r> & { started?: number }).started;
          return r;
        }),
        knownBugs: bugs,
      },
      null,
      2,
    ),
  );
}
