import { Context } from '@temporalio/activity';

/** The baseline's activity for throughput: nothing. */
export async function noop(): Promise<void> {}

/** The baseline's activity for memory: a bare streamed call, one heartbeat a second for `secs` seconds. */
export async function streamFor(secs: number): Promise<void> {
  const ctx = Context.current();
  for (let second = 1; second <= secs; second++) {
    await ctx.sleep(1000);
    ctx.heartbeat(second);
  }
}

/** The fair baseline's model call: one token a second for `secs` seconds, each with a heartbeat (as the scripted provider's `[[sleep:S]]` streams). */
export async function modelCall(secs: number): Promise<string> {
  const ctx = Context.current();
  let text = '';
  for (let second = 1; second <= secs; second++) {
    await ctx.sleep(1000);
    text += 'token ';
    ctx.heartbeat(second);
  }
  return text || 'answer';
}
