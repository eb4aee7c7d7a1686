/**
 * A parent's budget ledger over its children (common/budget.ts has the arithmetic): what it
 * spent — its own calls, its children's reports, the runs charged their whole share — and
 * what it holds for children queued or running (each child's `reservation`). Plain state:
 * the ChildTracker tells it what happened.
 */
import { addAmounts, allotment, amountsOfSpend, budgetStatus, firstExhausted, limitsOf, MODEL_CALL_RESOURCES, NOTHING, type Amounts, type Budget, type BudgetStatus } from '../common/budget';
import type { TrackedChild } from '../common/children';
import type { SessionOptions } from '../common/options';
import type { CarriedState } from '../common/root-session';
import { addSpend, NO_SPEND, type Spend } from '../common/spend';

/** A spawn's share of the budget: none when the session has no budget. */
export type Reserved = { ok: true; reservation?: Amounts; childBudget?: Budget } | { ok: false; message: string };

export interface ChildLedgerDeps {
  options: SessionOptions;
  /** The parent's spawn depth (root = 0): whether its children may spawn in turn. */
  parentDepth: number;
  /** What the parent's own model calls spent so far (its budget covers them too). */
  selfSpend: () => Spend;
  /** The children whose reservations the ledger sums. */
  children: () => Iterable<TrackedChild>;
  carried?: Pick<CarriedState, 'childrenSpend' | 'budgetCharged'>;
}

export class ChildLedger {
  /** Everything the children reported spending, each fresh completion once (survives pruning). */
  childrenSpend: Spend;
  /** Budget charged for runs that closed without a report of their spend: their whole share. */
  private charged: Amounts;

  constructor(private readonly deps: ChildLedgerDeps) {
    this.childrenSpend = deps.carried?.childrenSpend ?? NO_SPEND;
    this.charged = deps.carried?.budgetCharged ?? NOTHING;
  }

  /** Spent by the parent's own calls, its children's reports and the runs charged in full. */
  spent(): Amounts {
    return addAmounts(addAmounts(amountsOfSpend(this.deps.selfSpend()), amountsOfSpend(this.childrenSpend)), this.charged);
  }

  /** Held for children queued or running. */
  reserved(): Amounts {
    let sum: Amounts = NOTHING;
    for (const child of this.deps.children()) if (child.reservation) sum = addAmounts(sum, child.reservation);
    return sum;
  }

  private committed(): Amounts {
    return addAmounts(this.spent(), this.reserved());
  }

  /** The contract's text when a model call has nothing left to spend; undefined otherwise. */
  exhausted(): string | undefined {
    const { budget } = this.deps.options;
    return budget ? firstExhausted(limitsOf(budget), this.committed(), MODEL_CALL_RESOURCES) : undefined;
  }

  /**
   * A child run's share of what is left (see `allotment`), or why it cannot have one.
   * @param spawnsLeft the spawns of this round not handled yet, this one included.
   */
  reserve(spawnsLeft: number): Reserved {
    const { budget, maxSpawnDepth } = this.deps.options;
    if (!budget) return { ok: true };
    return allotment(limitsOf(budget), this.committed(), spawnsLeft, this.deps.parentDepth + 1 < maxSpawnDepth);
  }

  budgetStatus(): BudgetStatus | undefined {
    const { budget } = this.deps.options;
    return budget ? budgetStatus(budget, this.spent(), this.reserved()) : undefined;
  }

  /** The options a child run gets: the parent's, with the child's own share as its budget. */
  optionsFor(childBudget: Budget | undefined): SessionOptions {
    return childBudget ? { ...this.deps.options, budget: childBudget } : this.deps.options;
  }

  /** A fresh report's spend, on the child and in the parent's total: the run itself is one child run, its report counts the ones beneath it. */
  count(child: TrackedChild, spend: Spend): void {
    const counted = { ...spend, sessions: (spend.sessions ?? 0) + 1 };
    child.spend = addSpend(child.spend ?? NO_SPEND, counted);
    this.childrenSpend = addSpend(this.childrenSpend, counted);
  }

  /**
   * The child's run is over: its share is released — charged in full when the run said nothing
   * of what it spent (terminated, say). Such a run is still one child run: it is counted as one,
   * and its share charged for the rest, so what the budget holds is the same as charging it all
   * — and with no budget only the count changes (the budget decides nothing either way).
   */
  release(child: TrackedChild, reportedSpend: boolean): void {
    if (!reportedSpend && (child.reservation || !this.deps.options.budget)) {
      this.count(child, NO_SPEND);
      if (child.reservation) this.charged = addAmounts(this.charged, { ...child.reservation, sessions: Math.max(0, child.reservation.sessions - 1) });
    }
    child.reservation = undefined;
  }

  /** What continue-as-new carries of the ledger (the reservations travel on the children). */
  carried(): Pick<CarriedState, 'childrenSpend' | 'budgetCharged'> {
    return {
      ...(this.childrenSpend === NO_SPEND ? {} : { childrenSpend: this.childrenSpend }),
      ...(this.charged === NOTHING ? {} : { budgetCharged: this.charged }),
    };
  }
}
