/**
 * Cassettes as regression evals: what to check of a replay (cli/replay-agent.ts) when a prompt,
 * a tool or the policy changed — usually replayed with `onDivergence: 'live'`, so the new
 * behaviour runs on to the end. Each check that fails says why, in one line; none: it passed.
 */
import type { ReplayReport } from '../cli/replay-agent';

export interface ReplayExpectations {
  /** No divergence at all, every recorded call made again. */
  identical?: boolean;
  /** Every session made the tool calls it recorded, in order, with the same arguments. */
  sameToolCalls?: boolean;
  /** The new run spawned the recorded sessions, in their places, and no other. */
  sameSpawns?: boolean;
  /** The root's last answer: true passes; false or a string (why) fails. */
  finalAnswer?: (answer: string) => boolean | string;
}

export function replayFindings(report: ReplayReport, expected: ReplayExpectations): string[] {
  const findings: string[] = [];
  if (expected.identical && !report.identical) {
    findings.push(report.divergence ? `not identical: ${report.divergence.kind} at ${report.divergence.path.join(' › ')}` : `not identical: ${report.unplayed.length} sessions left calls unmade`);
  }
  if (expected.sameToolCalls) {
    for (const s of report.toolCalls) {
      if (s.recorded.join('\n') !== s.asked.join('\n')) findings.push(`${s.path.join(' › ')}: tool calls ${JSON.stringify(s.asked)}, recorded ${JSON.stringify(s.recorded)}`);
    }
  }
  if (expected.sameSpawns) {
    for (const s of report.toolCalls.filter((t) => !t.reached)) findings.push(`${s.path.join(' › ')}: recorded, never spawned`);
    for (const d of report.divergences.filter((d) => d.kind === 'unknown-session')) findings.push(`${d.path.join(' › ') || d.replaySessionId}: spawned, not recorded (${d.asked})`);
  }
  if (expected.finalAnswer) {
    const verdict = expected.finalAnswer(report.finalAnswer);
    if (verdict !== true) findings.push(`final answer: ${typeof verdict === 'string' ? verdict : `failed the check: ${JSON.stringify(report.finalAnswer.slice(0, 200))}`}`);
  }
  return findings;
}
