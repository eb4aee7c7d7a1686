/**
 * The reliability and security suite (`npm run test:reliability`, issues 7 and 11): the fault
 * matrix of ways a child closes, faults, load and bad input against real Temporal servers and
 * real worker processes, with nothing lost or doubled. Scenarios run one after another in this order (the secrets check comes last: it
 * exports every history the others produced). Figures go to test-output/reliability-summary.json,
 * printed by test/reliability/print-summary.ts. REL_SEED=<n> repeats a run's random choices.
 */
import { format } from 'node:util';
import { closeClients, servers } from './support/context';
import { recordOutput, stopAllProcesses } from './support/processes';
import { setSeed, writeSummary } from './support/summary';
import { SEED } from './support/util';
import { startTestWorker } from '../helpers/temporal';
import { faultMatrixScenario } from './scenarios/fault-matrix';
import { workerCrashScenario } from './scenarios/worker-crashes';
import { serverRestartScenario } from './scenarios/server-restart';
import { twoWorkersScenario } from './scenarios/two-workers';
import { providerFaultsScenario } from './scenarios/provider-faults';
import { externalRunnersScenario } from './scenarios/external-runners';
import { badInputScenario } from './scenarios/bad-input';
import { loadScenario } from './scenarios/load';
import { secretsScenario } from './scenarios/secrets';
import { approvalsScenario } from './scenarios/approvals';
import { interleavingsSoakScenario } from './scenarios/interleavings-soak';
import { budgetFaultsScenario } from './scenarios/budget-faults';

jest.setTimeout(600_000);

/** This process's console (in-process workers log here) is kept for the secrets check. */
function teeConsole(): void {
  let text = '';
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      text += `${format(...args)}\n`;
      original(...args);
    };
  }
  recordOutput('jest process console', () => text);
}

teeConsole();

beforeAll(async () => {
  setSeed(SEED);
  console.log(`reliability suite: REL_SEED=${SEED}`);
  // test/helpers/temporal.ts installs the Temporal Runtime (quiet logger) on its first worker;
  // the product's startDevServer (scenario 2) would otherwise create the Runtime first, and
  // later in-process workers could not install theirs. So start (and stop) one worker now.
  const warmup = await startTestWorker();
  await warmup.stop();
});

afterAll(async () => {
  writeSummary();
  await stopAllProcesses();
  await closeClients();
  await Promise.all(servers.map((s) => s.stop?.().catch(() => undefined)));
});

faultMatrixScenario();
workerCrashScenario();
serverRestartScenario();
twoWorkersScenario();
providerFaultsScenario();
externalRunnersScenario();
badInputScenario();
loadScenario();
approvalsScenario();
interleavingsSoakScenario();
budgetFaultsScenario();
secretsScenario();
