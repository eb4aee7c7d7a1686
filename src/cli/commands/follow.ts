/** `bamboo run` follows its session: new messages, children's statuses, until the session is idle. */
import type { Client } from '@temporalio/client';
import { sessionState, sessionTranscript } from '../../client/sessions';
import { print, type GlobalOptions } from '../context';
import { truncate } from '../format';

const POLL_MS = 500;

export async function followSession(client: Client, sessionId: string, options: GlobalOptions): Promise<void> {
  const log = (line: string) => {
    if (!options.json) console.log(line);
  };
  log(`session ${sessionId} started; following until it is idle (Ctrl-C stops following, not the session)`);
  let shown = 0;
  const statuses = new Map<string, string>();
  let phase = '';
  for (;;) {
    const state = await sessionState(client, sessionId);
    const messages = await sessionTranscript(client, sessionId);
    for (const m of messages.slice(shown)) {
      if (m.metadata?.runtime === 'children') log(`  ⟲ resumed with the children's results (${truncate(m.content, 100)})`);
      else if (m.role === 'assistant' && m.content) log(`assistant: ${m.content}`);
      else if (m.role === 'assistant' && m.toolCalls?.length) log(`  → ${m.toolCalls.map((c) => c.name).join(', ')}`);
      else if (m.role === 'tool') log(`  ← ${truncate(m.content, 100)}`);
    }
    shown = messages.length;
    for (const child of state.children) {
      if (statuses.get(child.childSessionId) !== child.status) log(`  child ${child.childSessionId}: ${child.status}`);
      statuses.set(child.childSessionId, child.status);
    }
    if (state.phase !== phase && state.phase === 'waiting') log(`  … waiting for children (${state.waiting?.policy})`);
    phase = state.phase ?? '';
    const childrenDone = state.children.every((c) => !['pending', 'running'].includes(c.status));
    if (state.phase === 'idle' && !state.waiting && childrenDone && state.lastRunStatus) {
      print(options, { sessionId, state, messages }, () => `session ${sessionId} is idle (last turn ${state.lastRunStatus}${state.lastRunError ? `: ${state.lastRunError}` : ''})`);
      if (state.lastRunStatus !== 'completed') process.exitCode = 1;
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
