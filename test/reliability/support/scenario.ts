/**
 * The frame every fault scenario shares: its record passes only when the body returns, and
 * whatever happens the roots it started are terminated and its worker processes stopped.
 */
import type { Client } from '@temporalio/client';
import type { ManagedProcess } from '../../helpers/processes';
import { finishScenario, type ScenarioRecord } from './summary';
import { terminateRoots } from './trees';

export interface ScenarioScope {
  /** Worker processes stopped (SIGTERM) when the scenario ends. */
  readonly workers: ManagedProcess[];
  /** Root sessions terminated when the scenario ends, with the client of their server. */
  terminateAtEnd(client: Client, rootIds: readonly string[]): void;
}

export async function runScenario(record: ScenarioRecord & { started: number }, body: (scope: ScenarioScope) => Promise<void>): Promise<void> {
  const ends: (() => Promise<void>)[] = [];
  const scope: ScenarioScope = { workers: [], terminateAtEnd: (client, rootIds) => void ends.push(() => terminateRoots(client, [...rootIds])) };
  let passed = false;
  try {
    await body(scope);
    passed = true;
  } finally {
    finishScenario(record, passed);
    for (const end of ends) await end().catch(() => undefined);
    await Promise.all(scope.workers.map((w) => w.kill('SIGTERM')));
  }
}
