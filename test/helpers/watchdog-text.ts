/**
 * The watchdog texts name the seconds that really passed (the reference's behaviour), so on a
 * busy machine they may say a second or two more than the limit. Tests check the text's exact
 * shape and that it never says less than the limit — a watchdog cannot fire early — and never
 * an upper bound: how late a timer fires is the machine's business, not the engine's.
 */
import { idleTimeoutMessage, totalTimeoutMessage } from '../../common';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The seconds named by an idle or total watchdog text for the given limit; throws, quoting the
 * text, when it is not that exact message for some number of seconds.
 */
export function watchdogSeconds(error: string | undefined, kind: 'idle' | 'total', limitSecs: number): number {
  const template = kind === 'idle' ? idleTimeoutMessage(0, limitSecs) : totalTimeoutMessage(0, limitSecs);
  const [before, after] = template.split(' 0 seconds');
  const match = new RegExp(`^${escape(before)} (\\d+) seconds${escape(after)}$`).exec(error ?? '');
  if (!match) throw new Error(`not the ${kind} watchdog's text for a limit of ${limitSecs} s: ${JSON.stringify(error)}`);
  return Number(match[1]);
}
