/**
 * `bamboo run` follows its session: new messages, children's statuses, until the session is
 * idle — or until it is closed elsewhere (`bamboo cancel`, `temporal workflow cancel` or
 * `terminate`), which ends the command with exit code 1.
 */
import { isSessionIdle, type BambooClient } from '../../client/bamboo-client';
import { sessionWorkflowId, eventsQuery } from '../../common';
import { print, type GlobalOptions } from '../context';
import { truncate } from '../format';
import { describeSession } from '../sessions-api';

const POLL_MS = 500;

/** Where following starts: a new session from its beginning, a running one after what it held. */
export interface FollowFrom {
  /** Messages already in the transcript (not printed again). */
  shown: number;
  /** The last event sequence number before our message: the answer's turn starts after it. */
  afterSeq: number;
}

export const FROM_START: FollowFrom = { shown: 0, afterSeq: 0 };

/** The session's position now, for following a message sent to it. */
export async function followPosition(bamboo: BambooClient, sessionId: string): Promise<FollowFrom> {
  const handle = bamboo.client.workflow.getHandle(sessionWorkflowId(sessionId));
  const [state, recent] = await Promise.all([bamboo.getSession(sessionId).state(), handle.query(eventsQuery, { afterSeq: 0 })]);
  return { shown: state.messageCount, afterSeq: recent.at(-1)?.seq ?? 0 };
}

export async function followSession(bamboo: BambooClient, sessionId: string, options: GlobalOptions, from: FollowFrom = FROM_START): Promise<void> {
  const { client } = bamboo;
  const session = bamboo.getSession(sessionId);
  const log = (line: string) => {
    if (!options.json) console.log(line);
  };
  log(`following session ${sessionId} until it is idle (Ctrl-C stops following, not the session)`);
  const handle = client.workflow.getHandle(sessionWorkflowId(sessionId));
  let shown = from.shown;
  let turnStarted = false;
  const statuses = new Map<string, string>();
  let phase = '';
  for (;;) {
    const description = await describeSession(client, sessionId);
    if (description.status.name !== 'RUNNING') {
      // Closed elsewhere (cancelled, terminated, timed out) or ended by its idle TTL.
      const result = description.status.name === 'COMPLETED' ? await client.workflow.getHandle(description.workflowId, description.runId).result() : undefined;
      const ended = result && typeof result === 'object' && 'status' in result ? String(result.status) : description.status.name.toLowerCase();
      print(options, { sessionId, executionStatus: description.status.name, result }, () => `session ${sessionId} ended while it was followed (${ended})`);
      process.exitCode = 1;
      return;
    }
    const state = await session.state();
    const messages = await session.transcript();
    if (!turnStarted) turnStarted = (await handle.query(eventsQuery, { afterSeq: from.afterSeq })).some((e) => e.type === 'execution_started');
    for (const m of messages.slice(shown)) {
      if (m.metadata?.runtime === 'children') log(`  ⟲ resumed with the children's results (${truncate(m.content, 100)})`);
      else if (m.role === 'assistant' && m.content) log(`assistant: ${m.content}`);
      else if (m.role === 'assistant' && m.toolCalls?.length) log(`  → ${m.toolCalls.map((c) => c.name).join(', ')}`);
      else if (m.role === 'tool') log(`  ← ${truncate(m.content, 100)}`);
    }
    shown = Math.max(shown, messages.length);
    for (const child of state.children) {
      if (statuses.get(child.childSessionId) !== child.status) log(`  child ${child.childSessionId}: ${child.status}`);
      statuses.set(child.childSessionId, child.status);
    }
    if (state.phase !== phase && state.phase === 'waiting') log(`  … waiting for children (${state.waiting?.policy})`);
    phase = state.phase ?? '';
    // Idle after a turn that took our message (started after `afterSeq`), nothing queued.
    if (turnStarted && isSessionIdle(state)) {
      print(options, { sessionId, state, messages }, () => `session ${sessionId} is idle (last turn ${state.lastRunStatus}${state.lastRunError ? `: ${state.lastRunError}` : ''})`);
      if (state.lastRunStatus !== 'completed') process.exitCode = 1;
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
