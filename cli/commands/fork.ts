/**
 * `bamboo fork <session> --at-turn N [--model M] [--prompt-file F]`: a new root whose transcript
 * is the session's up to the end of turn N; its next turn runs live (client/fork.ts).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { errorMessage } from '../../common';
import { forkSession } from '../../client/fork';
import { taskQueue } from '../../worker/config/env';
import { CliError, ExitCode, print, withClient, type GlobalOptions } from '../context';

export function registerForkCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('fork')
    .description("start a new root from a session's transcript up to the end of a turn; the next turn runs live")
    .argument('<session>', 'the session to fork (root or child)')
    .requiredOption('--at-turn <n>', 'turns kept whole, from 1')
    .option('--model <model>', "the new root's model (default: the session's)")
    .option('--prompt-file <file>', "the next user message (default: the session's own next one)")
    .action(async (sessionId: string, opts: { atTurn: string; model?: string; promptFile?: string }) => {
      const options = globals();
      const atTurn = Number(opts.atTurn);
      if (!Number.isInteger(atTurn) || atTurn < 1) throw new CliError(`--at-turn must be a whole number from 1, got ${JSON.stringify(opts.atTurn)}`, ExitCode.usage);
      let prompt: string | undefined;
      try {
        prompt = opts.promptFile ? readFileSync(opts.promptFile, 'utf8') : undefined;
      } catch (error) {
        throw new CliError(`cannot read --prompt-file: ${errorMessage(error)}`, ExitCode.usage);
      }
      await withClient(options, async (client) => {
        const fork = await forkSession(client, { sessionId, atTurn, taskQueue: taskQueue(), ...(opts.model ? { model: opts.model } : {}), ...(prompt !== undefined ? { prompt } : {}) }).catch((error: unknown) => {
          throw new CliError(errorMessage(error));
        });
        print(options, { rootSessionId: fork.rootSessionId, copiedMessages: fork.copied, prompt: fork.prompt }, () =>
          [`forked ${sessionId} at turn ${atTurn} as ${fork.rootSessionId} (${fork.copied} messages copied); its next turn runs live`, `watch it: bamboo watch ${fork.rootSessionId}`].join('\n'),
        );
      });
    });
}
