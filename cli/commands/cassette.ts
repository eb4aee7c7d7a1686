/**
 * `bamboo cassette export <root> [--out file]`: the tree's cassette (common/cassette.ts) — every
 * session's model calls and answers, tool calls and outcomes, spawns — read from its histories.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { exportCassette } from '../../client/cassette';
import { withClient, type GlobalOptions } from '../context';

export function registerCassetteCommand(program: Command, globals: () => GlobalOptions): void {
  const cassette = program.command('cassette').description("a session tree's recorded calls, as a file");
  cassette
    .command('export')
    .description("write a root's cassette: each session's model calls and answers, tool calls and outcomes, spawns, in order")
    .argument('<root>', 'root session id')
    .option('--out <file>', 'write it here (default: standard output)')
    .action(async (root: string, opts: { out?: string }) => {
      await withClient(globals(), async (client) => {
        const recorded = await exportCassette(client, root);
        const text = `${JSON.stringify(recorded, null, 2)}\n`;
        if (!opts.out) return void process.stdout.write(text);
        writeFileSync(opts.out, text, { mode: 0o600 }); // decoded transcripts: readable by their owner only
        const steps = recorded.sessions.flatMap((s) => s.runs.flatMap((r) => r.steps));
        console.error(`wrote ${opts.out}: ${recorded.sessions.length} sessions, ${steps.filter((s) => s.kind === 'model').length} model calls, ${steps.filter((s) => s.kind === 'tool').length} tool calls, ${steps.filter((s) => s.kind === 'spawn').length} spawns`);
      });
    });
}
