/**
 * A running session's steers in a small simulated world, for model-based tests: the real
 * plain state (SteerReceipts) and the queue of injected messages it guards, driven as the
 * sessions drive them — Steering.accept, the root's `takePending` / the child's `takeInjected`
 * at a turn boundary, continue-as-new (the root folds its queue into the session, a child
 * carries it), the run's end (cancelTree / finish: the queue appended to the final session,
 * then `ended()`), a root that goes idle long enough.
 *
 * Each method says which session code it stands for: keep them in step when root-session.ts,
 * child-session.ts or steering.ts change.
 */
import type { SteerReceipt } from '../../common';
import { SteerReceipts } from '../../workflows/steer-receipts';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

export type Flavour = 'root' | 'child';

/** A message as it sits in the final session: `turn` is the turn that began after it was merged, null when appended at the end. */
interface Merged {
  content: string;
  /** undefined: merged, its turn not begun yet (the same workflow task begins it: see beginTurn). */
  turn?: number | null;
}

/** One Steering.accept call: its ticket, and the receipts it returned (one, once it resolves). */
interface Steer {
  messageId: string;
  acceptedAt: string;
  content: string;
  generation: number;
  returned: SteerReceipt[];
}

export class SteeringWorld {
  receipts = new SteerReceipts();
  /** The session's queue: `root.pendingUser`, or a child's `run.injected`. */
  queue: string[] = [];
  /** What the session holds, in order: merged at a turn boundary, folded at continue-as-new, or appended at the end. */
  readonly transcript: Merged[] = [];
  /** Every message as it arrived (steers and injected ones): the order the session must keep. */
  readonly arrived: string[] = [];
  readonly steers: Steer[] = [];
  turn = 0;
  generation = 0;
  /** running; closing: the run is ending (no steer accepted: the validators); ended. */
  status: 'running' | 'closing' | 'ended' = 'running';
  private clock = T0;
  private next = 1;

  constructor(readonly flavour: Flavour) {}

  tick(): void {
    this.clock += 1000;
  }

  /** Accept calls not returned yet (Temporal's allHandlersFinished is false while any waits). */
  waiting(): Steer[] {
    return this.steers.filter((s) => s.returned.length === 0);
  }

  // ── messages arrive ───────────────────────────────────────────────────────

  /** The Update `steer` (its validator passed: the run is running): Steering.accept up to its wait. */
  steer(): void {
    const content = `steer-${this.next++}`;
    const steer: Steer = { messageId: `msg-${this.next++}`, acceptedAt: new Date(this.clock).toISOString(), content, generation: this.generation, returned: [] };
    this.steers.push(steer);
    this.receipts.accept({ messageId: steer.messageId, acceptedAt: steer.acceptedAt });
    this.enqueue(content);
  }

  /** Signal `injectMessage` (or a root's `userMessage`): queued with no receipt, at any time the run is open. */
  inject(): void {
    this.enqueue(`injected-${this.next++}`);
  }

  private enqueue(content: string): void {
    this.queue.push(content);
    this.arrived.push(content);
  }

  // ── turns ─────────────────────────────────────────────────────────────────

  /**
   * A turn begins: the queue is taken at the boundary — `takePending()` (root: merged at
   * `turn + 1`; a root's runTurn takes it twice, the second time empty) or `takeInjected(turn)`
   * (child) — then `onTurn`. All of it in one workflow task.
   */
  beginTurn(twice: boolean): void {
    this.take();
    if (twice) this.take();
    this.turn += 1;
    for (const merged of this.transcript) if (merged.turn === undefined) merged.turn = this.turn;
  }

  /** RootSession.takePending / ChildRun.takeInjected. */
  private take(): void {
    this.receipts.merged(this.turn + 1);
    for (const content of this.queue.splice(0)) this.transcript.push({ content });
  }

  // ── continue-as-new ──────────────────────────────────────────────────────

  /** continueAsNewDue and continueAsNewNow: not while a steer is queued, and only once every handler has finished. */
  mayContinueAsNew(): boolean {
    return this.status === 'running' && !this.receipts.hasQueued() && this.waiting().length === 0;
  }

  /** The root folds its queue into the session (its next run starts with a turn for it, counting from 1); a child carries its queue. */
  continueAsNew(): void {
    if (!this.mayContinueAsNew()) return;
    if (this.flavour === 'root') {
      for (const content of this.queue.splice(0)) this.transcript.push({ content });
      this.turn = 0;
    }
    this.receipts = new SteerReceipts();
    this.generation += 1;
  }

  // ── the run ends ─────────────────────────────────────────────────────────

  /**
   * The run begins to end: a root's cancelTree sets its phase `cancelling`; a child's finish
   * appends its queue to the session and sets its terminal status. No steer is accepted from
   * here; injected messages still are.
   */
  beginEnd(): void {
    this.status = 'closing';
    if (this.flavour === 'child') this.appendQueued();
  }

  /** The last step: the queue appended to the final session, then Steering.ended(). */
  finishEnd(): void {
    this.appendQueued();
    this.receipts.ended();
    this.status = 'ended';
  }

  /** A root idle for idleTtlSecs with nothing queued returns (converse): no ended() on that path. */
  idleEnd(): void {
    if (this.queue.length > 0 || this.status !== 'running') return;
    this.status = 'ended';
  }

  /** appendInjected / cancelTree: leftover messages join the final session. */
  private appendQueued(): void {
    for (const content of this.queue.splice(0)) this.transcript.push({ content, turn: null });
  }

  // ── Temporal ─────────────────────────────────────────────────────────────

  /** The end of a workflow task: each accept whose condition now holds takes its receipt and returns it. */
  settle(): void {
    for (const steer of this.waiting()) {
      if (steer.generation !== this.generation || !this.receipts.has(steer.messageId)) continue;
      steer.returned.push(this.receipts.take(steer.messageId)!);
      if (this.receipts.has(steer.messageId)) throw new Error(`the receipt of ${steer.messageId} can be taken twice`);
    }
  }
}

function expectThat<T>(actual: T, what: string, expected: T): void {
  if (actual !== expected) throw new Error(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

/** After every step. */
export function steeringInvariant(w: SteeringWorld): void {
  // Order kept: the session, then the queue, hold the messages as they arrived.
  expectThat(JSON.stringify([...w.transcript.map((m) => m.content), ...w.queue]), 'the messages in order', JSON.stringify(w.arrived));
  const where = new Map(w.transcript.map((m) => [m.content, m]));
  let unreceipted = 0;
  for (const steer of w.steers) {
    if (steer.returned.length > 1) throw new Error(`steer ${steer.messageId} returned ${steer.returned.length} receipts`);
    const merged = where.get(steer.content);
    const receipt = steer.returned[0];
    const ready = receipt !== undefined || (steer.generation === w.generation && w.receipts.has(steer.messageId));
    if (!ready) {
      unreceipted += 1;
      // No receipt yet: its message is still queued — or, a child run ending, already appended to the final session.
      if (merged && !(merged.turn === null && w.status === 'closing')) throw new Error(`steer ${steer.messageId} has no receipt but its message is in the session (turn ${merged.turn})`);
      continue;
    }
    if (!merged) throw new Error(`steer ${steer.messageId} has a receipt but its message is still queued`);
    if (!receipt) continue;
    expectThat(receipt.messageId, `steer ${steer.messageId}'s receipt id`, steer.messageId);
    expectThat(receipt.acceptedAt, `steer ${steer.messageId}'s receipt time`, steer.acceptedAt);
    // Merged at the turn that began with it; null only when the run ended with it unmerged (then it is in the final session).
    if (merged.turn !== undefined) expectThat(receipt.mergedAtTurn, `steer ${steer.messageId} (${steer.content}) merged at`, merged.turn);
    else if (receipt.mergedAtTurn === null) throw new Error(`steer ${steer.messageId} says unmerged, but it was merged for the coming turn`);
  }
  // hasQueued exactly while an accepted steer has no receipt.
  expectThat(w.receipts.hasQueued(), `hasQueued with ${unreceipted} steers without a receipt`, unreceipted > 0);
}

/** Once the run has ended: every accepted steer returned exactly one receipt, nothing is left queued. */
export function steeringEnded(w: SteeringWorld): void {
  expectThat(w.queue.length, 'messages left queued', 0);
  const stranded = w.steers.filter((s) => s.returned.length !== 1).map((s) => s.messageId);
  expectThat(JSON.stringify(stranded), 'steers without exactly one receipt', '[]');
  expectThat(w.receipts.hasQueued(), 'hasQueued at the end', false);
}
