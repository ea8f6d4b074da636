import type { DayPlan, PlanSource } from './day-plan.ts';

const CLOSED: DayPlan = Object.freeze({ staffed: [], staffless: [] }) as DayPlan;

/**
 * Day plans computed ahead (compiler.ts) for a range of dates. A date outside the range is closed, so
 * the door fails secure, and `onMiss` asks for a new computation.
 */
export class PlanTable implements PlanSource {
  private plans = new Map<string, DayPlan>();

  constructor(private readonly onMiss: (date: string) => void = () => {}) {}

  load(plans: Map<string, DayPlan>): void {
    this.plans = plans;
  }

  covers(date: string): boolean {
    return this.plans.has(date);
  }

  /** The last date covered, or undefined while nothing is loaded. */
  get lastDate(): string | undefined {
    let last: string | undefined;
    for (const date of this.plans.keys()) if (!last || date > last) last = date;
    return last;
  }

  plan(date: string): DayPlan {
    const plan = this.plans.get(date);
    if (plan) return plan;
    this.onMiss(date);
    return CLOSED;
  }
}
