/**
 * A person in the loop: `bamboo requests [<root>]`, `bamboo approve|deny <root> <requestId>
 * [--reason]`, `bamboo answer <root> <requestId> "<text>"`, `bamboo steer <id> "<message>"`.
 * A decision or steer the workflow rejects exits 1 with the workflow validator's own text.
 */
import type { Command } from 'commander';
import { BambooRootSessionId, RespondInputSchema, SteerInputSchema, type PendingRequest, type RespondInput, type RespondReceipt, type SteerReceipt } from '../../common';
import type { BambooClient } from '../../client/bamboo-client';
import { treesWaitingForAPerson, UpdateRejectedError } from '../../client/requests';
import { CliError, ExitCode, print, validated, withBamboo, type GlobalOptions } from '../context';
import { table, truncate } from '../format';
import { describeSession } from '../sessions-api';

type Globals = () => GlobalOptions;

const DECIDED: Record<RespondReceipt['decision'], string> = { approve: 'approved', deny: 'denied', answer: 'answered' };

export function registerRequestCommands(program: Command, globals: Globals): void {
  program
    .command('requests')
    .description("requests waiting for a person: a root's pending requests, or (no root) every root that has some")
    .argument('[root]', 'root session id')
    .action(async (root: string | undefined) => {
      await withBamboo(globals(), async (bamboo) => {
        if (root) {
          const requests = await rootRequests(bamboo, root);
          print(globals(), requests, () => (requests.length === 0 ? 'no pending requests' : requestTable(requests)));
          return;
        }
        const trees = await treesWaitingForAPerson(bamboo.client);
        print(globals(), trees, () =>
          trees.length === 0
            ? 'no root sessions waiting for a person'
            : table([['ROOT', 'PENDING', 'STARTED'], ...trees.map((t) => [t.rootSessionId, String(t.pendingRequests), t.startTime])]),
        );
      });
    });

  for (const decision of ['approve', 'deny'] as const) {
    program
      .command(decision)
      .description(`${decision} a tool call waiting for a person (a question can be denied too)`)
      .argument('<root>', 'root session id')
      .argument('<requestId>', 'request id (bamboo requests <root>)')
      .option('--reason <text>', 'why; the model reads it with a denial')
      .action((root: string, requestId: string, opts: { reason?: string }) =>
        decide(globals(), root, validated(RespondInputSchema, { requestId, decision, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) }, 'decision')),
      );
  }

  program
    .command('answer')
    .description("answer an agent's question waiting for a person")
    .argument('<root>', 'root session id')
    .argument('<requestId>', 'request id (bamboo requests <root>)')
    .argument('<text>', 'the answer')
    .action((root: string, requestId: string, text: string) => decide(globals(), root, validated(RespondInputSchema, { requestId, decision: 'answer', text }, 'answer')));

  program
    .command('steer')
    .description('steer a running session: the message is merged at its next turn boundary; prints the turn')
    .argument('<id>', 'session id (root or child)')
    .argument('<message>', 'message text')
    .action(async (id: string, message: string) => {
      const { content } = validated(SteerInputSchema, { content: message }, 'message');
      await withBamboo(globals(), async (bamboo) => {
        const description = await describeSession(bamboo.client, id);
        if (description.status.name !== 'RUNNING') throw new CliError(`session ${id} is not running (${description.status.name.toLowerCase()})`, ExitCode.failed);
        const receipt = await rejectedAsCliError(() => bamboo.getSession(id).steer(content));
        print(globals(), receipt, () => describeSteer(receipt));
      });
    });
}

/** The root's pending requests; a closed root has none left (its requests ended with it). */
async function rootRequests(bamboo: BambooClient, root: string): Promise<PendingRequest[]> {
  const description = await describeSession(bamboo.client, root);
  if (description.type !== 'sessionWorkflow') throw notARoot(root, description.typedSearchAttributes.get(BambooRootSessionId));
  if (description.status.name !== 'RUNNING') return [];
  return bamboo.getSession(root).pendingRequests();
}

async function decide(globals: GlobalOptions, root: string, input: RespondInput): Promise<void> {
  await withBamboo(globals, async (bamboo) => {
    const description = await describeSession(bamboo.client, root);
    if (description.type !== 'sessionWorkflow') throw notARoot(root, description.typedSearchAttributes.get(BambooRootSessionId));
    if (description.status.name !== 'RUNNING') throw new CliError(`session ${root} is not running (${description.status.name.toLowerCase()}): its requests ended with it`, ExitCode.failed);
    const receipt = await rejectedAsCliError(() => bamboo.getSession(root).respond(input));
    print(globals, receipt, () => `${DECIDED[receipt.decision]} request ${receipt.requestId} (${receipt.delivered ? 'delivered' : 'not delivered: the session that asked has stopped waiting'})`);
  });
}

export function describeSteer(receipt: SteerReceipt): string {
  return receipt.mergedAtTurn === null ? 'not merged: the run ended first (the message is in its final session)' : `merged at turn ${receipt.mergedAtTurn}`;
}

function requestTable(requests: PendingRequest[]): string {
  return table([
    ['REQUEST', 'SESSION', 'KIND', 'TOOL/QUESTION', 'ARGUMENTS', 'REQUESTED', 'EXPIRES'],
    ...requests.map((r) => [
      r.requestId,
      r.sessionId,
      r.kind,
      truncate(r.kind === 'tool' ? (r.tool ?? '-') : (r.question ?? '-'), 60),
      r.argumentsPreview ? truncate(r.argumentsPreview, 60) : '-',
      r.requestedAt,
      r.expiresAt,
    ]),
  ]);
}

function notARoot(id: string, rootSessionId: string | undefined): CliError {
  const where = rootSessionId ? `: its requests go to its root, ${rootSessionId}` : '';
  return new CliError(`session ${id} is a child session, not a root${where}`, ExitCode.usage);
}

async function rejectedAsCliError<T>(update: () => Promise<T>): Promise<T> {
  try {
    return await update();
  } catch (error) {
    if (error instanceof UpdateRejectedError) throw new CliError(error.message, ExitCode.failed);
    throw error;
  }
}
