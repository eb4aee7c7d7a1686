/** Small text formatting helpers for CLI output. */
import type { SessionRunState } from '../common';

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

export function describeState(state: SessionRunState): string {
  const lines = [
    `session   ${state.sessionId} (${state.kind})`,
    `status    ${state.status}${state.phase ? ` · ${state.phase}` : ''}${state.lastRunError ? ` · ${state.lastRunError}` : ''}`,
    `messages  ${state.messageCount} · turn ${state.turn} · ${state.pendingInjectedMessages} queued`,
  ];
  if (state.waiting) lines.push(`waiting   ${state.waiting.policy} on ${state.waiting.childSessionIds.length} child(ren) until ${state.waiting.leaseExpiresAt}`);
  if (state.children.length) {
    lines.push('children');
    for (const c of state.children) lines.push(`  ${c.childSessionId}  ${c.status}`);
  }
  return lines.join('\n');
}

export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
