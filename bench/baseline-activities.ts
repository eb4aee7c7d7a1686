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
