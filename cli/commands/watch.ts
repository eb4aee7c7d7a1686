/**
 * `bamboo watch`: live progress of a session (and with --tree, its children). Token
 * progress comes from the running activity's heartbeat details, not from history.
 */
import type { Client } from '@temporalio/client';
import { print, type GlobalOptions } from '../context';
import { truncate } from '../format';
import { viewSession, type SessionView } from '../sessions-api';

export async function watchSession(client: Client, sessionId: string, opts: { tree: boolean; intervalMs: number }, options: GlobalOptions): Promise<void> {
  let last = '';
  for (;;) {
    const view = await viewSession(client, sessionId);
    const children = opts.tree ? await Promise.all((view.state?.children ?? []).filter((c) => c.status === 'running').map((c) => viewSession(client, c.childSessionId))) : [];
    const lines = [line(view), ...children.map((c) => `  └ ${line(c)}`)];
    const text = lines.join('\n');
    if (options.json) console.log(JSON.stringify({ at: new Date().toISOString(), session: view, children }));
    else if (text !== last) console.log(`${new Date().toISOString().slice(11, 19)}  ${text}`);
    last = text;
    if (view.executionStatus !== 'RUNNING') {
      print(options, { sessionId, closed: view.executionStatus }, () => `session ${sessionId} closed (${view.executionStatus.toLowerCase()})`);
      return;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

function line(view: SessionView): string {
  const status = view.state ? `${view.state.status}${view.state.phase ? `/${view.state.phase}` : ''}` : (view.result?.status ?? view.executionStatus.toLowerCase());
  const live = (view.live ?? [])
    .map((l) => (l.details ? `${l.details.phase}: ${l.details.textChars} chars "${truncate(l.details.tail, 60)}"` : l.activity))
    .join('; ');
  const waiting = view.state?.pendingRequests?.length ? ` · ${view.state.pendingRequests.length} request(s) waiting for a person (bamboo requests ${view.sessionId})` : '';
  return `${view.sessionId} ${status}${live ? ` · ${live}` : ''}${waiting}`;
}
