/** What the model-based tests share: how many sequences they run, and their one kind of step. */
import type fc from 'fast-check';

/** Sequences per model-based property: BAMBOO_MODEL_RUNS (a soak: 200000), else `normal`. */
export const modelRuns = (normal: number) => Number(process.env.BAMBOO_MODEL_RUNS ?? normal);

/**
 * A named step of a simulated world: drawn only when `applies`, and `run` does it and checks
 * what must hold after it (each test says which: the end of the workflow task, its invariants).
 */
export class ModelStep<W extends object> implements fc.Command<W, W> {
  constructor(
    private readonly name: string,
    private readonly applies: (w: Readonly<W>) => boolean,
    private readonly runStep: (w: W) => void,
  ) {}
  check(w: Readonly<W>): boolean {
    return this.applies(w);
  }
  run(_model: W, w: W): void {
    this.runStep(w);
  }
  toString(): string {
    return this.name;
  }
}

/** `n` copies of a command's arbitrary: how often it is drawn against the others. */
export const weighted = <W extends object>(n: number, arb: fc.Arbitrary<fc.Command<W, W>>) => Array.from({ length: n }, () => arb);
