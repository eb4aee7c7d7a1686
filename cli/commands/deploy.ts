/**
 * `bamboo deploy check|status|promote|ramp|rollback` (cli/deploy.ts): the replay gate over the
 * open sessions a new build would take, and the worker deployment's routing.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { dataConverterFromEnv } from '../../worker/codec/aes-gcm';
import { isWorkflowBundle } from '../../worker/bundle';
import { DEFAULT_DEPLOYMENT_NAME } from '../../worker/versioning';
import { checkOpenRuns, deploymentStatus, promote, ramp, rollback } from '../deploy';
import { CliError, ExitCode, print, withClient, type GlobalOptions } from '../context';
import { quietRuntime } from '../quiet-runtime';

const nameOption = ['--deployment <name>', 'the worker deployment (BAMBOO_DEPLOYMENT_NAME)', process.env.BAMBOO_DEPLOYMENT_NAME ?? DEFAULT_DEPLOYMENT_NAME] as const;

export function registerDeployCommand(program: Command, globals: () => GlobalOptions): void {
  const deploy = program.command('deploy').description('deploy under running sessions: a replay gate and the worker deployment’s versions');

  deploy
    .command('check')
    .description('replay every open session run against a new build’s workflows; list each one it would break (exit 1 if any)')
    .argument('<build>', 'the new build: a workflow bundle (npm run bundle-workflows) or a workflows module')
    .option('--query <visibility>', 'check only the open runs this also matches (e.g. TemporalWorkerDeploymentVersion = "bamboo:1.0.0")')
    .option('--concurrency <n>', 'histories downloaded at once', '8')
    .option('--limit <n>', 'check at most this many runs')
    .action(async (build: string, opts: { query?: string; concurrency: string; limit?: string }) => {
      const options = globals();
      const path = resolve(build);
      if (!existsSync(path)) throw new CliError(`no build at ${path}`, ExitCode.usage);
      const concurrency = positive(opts.concurrency, '--concurrency');
      const limit = opts.limit === undefined ? undefined : positive(opts.limit, '--limit');
      quietRuntime();
      // A bundle says so on its first line (npm run bundle-workflows); anything else is a workflows module to bundle.
      const code = statSync(path).isFile() && isWorkflowBundle(path) ? { bundlePath: path } : { workflowsPath: path };
      const report = await withClient(options, (client) => checkOpenRuns(client, { ...code, dataConverter: dataConverterFromEnv(), concurrency, ...(opts.query ? { query: opts.query } : {}), ...(limit ? { limit } : {}) }));
      print(options, report, () =>
        [
          `checked ${report.checked} open session runs against ${build} in ${(report.ms / 1000).toFixed(1)} s: ${report.failures.length === 0 ? 'none would break' : `${report.failures.length} would break`}`,
          ...report.failures.map((f) => `  ${f.sessionWorkflowId} (${f.workflowType}, run ${f.runId}): ${f.error}`),
        ].join('\n'),
      );
      if (report.failures.length > 0) process.exitCode = ExitCode.failed;
    });

  deploy
    .command('status')
    .description('the deployment’s versions: which is current, which ramps, and each one’s open runs by workflow type')
    .option(...nameOption)
    .action(async (opts: { deployment: string }) => {
      const options = globals();
      const status = await withClient(options, (client) => deploymentStatus(client, opts.deployment));
      print(options, status, () =>
        [
          `deployment ${status.deploymentName}: current ${status.current ?? '(none: unversioned workers take new runs)'}${status.ramping ? `, ramping ${status.ramping.buildId} at ${status.ramping.percentage}%` : ''}`,
          ...status.versions.map((v) => `  ${v.buildId}  ${v.status}  open roots ${v.openRuns.sessionWorkflow}, open child runs ${v.openRuns.childSessionWorkflow}`),
        ].join('\n'),
      );
    });

  deploy
    .command('promote')
    .description('make a version current: new sessions start on it, and roots move to it at their next turn')
    .argument('<build-id>')
    .option(...nameOption)
    .action(async (buildId: string, opts: { deployment: string }) => {
      await withClient(globals(), (client) => promote(client, opts.deployment, buildId));
      console.log(`${opts.deployment}: ${buildId} is current`);
    });

  deploy
    .command('ramp')
    .description('send a share of new runs to a version (0 stops the ramp)')
    .argument('<build-id>')
    .argument('<percent>')
    .option(...nameOption)
    .action(async (buildId: string, percent: string, opts: { deployment: string }) => {
      const percentage = Number(percent);
      if (!(percentage >= 0 && percentage <= 100)) throw new CliError(`<percent> must be from 0 to 100, got ${JSON.stringify(percent)}`, ExitCode.usage);
      await withClient(globals(), (client) => ramp(client, opts.deployment, buildId, percentage));
      console.log(`${opts.deployment}: ${buildId} ramping at ${percentage}%`);
    });

  deploy
    .command('rollback')
    .description('send new work back to a version (and stop any ramp); runs pinned to the other finish there')
    .argument('<build-id>')
    .option(...nameOption)
    .action(async (buildId: string, opts: { deployment: string }) => {
      await withClient(globals(), (client) => rollback(client, opts.deployment, buildId));
      console.log(`${opts.deployment}: rolled back to ${buildId}`);
    });
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a whole number from 1, got ${JSON.stringify(value)}`, ExitCode.usage);
  return n;
}
