import type { ScheduleException } from './config.ts';

/** A wall-clock range within one local day in ms since midnight, end exclusive. */
export type Interval = readonly [start: number, end: number];

export interface PublicHoliday {
  /** Local date `YYYY-MM-DD`. */
  date: string;
  name: string;
  /** Wall-clock start within the day in ms (0 for whole-day holidays). */
  startMs: number;
}

/**
 * One local day as the calendar libraries see it. This is all a schedule needs from them, so the
 * controller can hold plans computed elsewhere (see compiler.ts) instead of the libraries themselves.
 */
export interface DayPlan {
  staffed: Interval[];
  staffless: Interval[];
  holiday?: PublicHoliday | undefined;
  exception?: ScheduleException | undefined;
}

/** Where a schedule gets the plan of a local date `YYYY-MM-DD`. */
export interface PlanSource {
  plan(date: string): DayPlan;
}

export interface SiteSettings {
  timezone: string;
  country: string;
  region?: string | undefined;
}

/** A schedule setting that cannot be used; `field` names it the way the config file does. */
export class ScheduleConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: string,
    readonly detail: string,
  ) {
    super(`schedule ${field} ${JSON.stringify(value)}: ${detail}`);
    this.name = 'ScheduleConfigError';
  }
}
