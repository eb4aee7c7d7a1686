/**
 * What a running activity reports in its heartbeat details: a small progress record the Web
 * UI's pending-activity view and `bamboo watch` show, without writing tokens into history.
 */
export interface ProgressDetails {
  /** What the attempt is doing: `model …`, `tool …`, `external runner …`. */
  phase: string;
  /** Real progress events so far (streamed chunks, runner events, tool notes). */
  events: number;
  textChars: number;
  /** The last characters of streamed text. */
  tail: string;
  note?: string;
  lastProgressAt: string;
}
