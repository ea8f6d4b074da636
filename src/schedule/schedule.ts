import type { ScheduleState } from '../contract/events.ts';
import type { ScheduleException } from './config.ts';
import {
  type DayPlan,
  type Interval,
  type PlanSource,
  type PublicHoliday,
  ScheduleConfigError,
} from './day-plan.ts';
import { addDays, DAY_MS, parseDateKey, Zone } from '../time/zone.ts';

export { ScheduleConfigError, type SiteSettings } from './day-plan.ts';

export interface ScheduleChange {
  state: ScheduleState;
  at: Date;
}

export interface ClosingSoon {
  /** Whole minutes left, rounded up. */
  minutes: number;
  /** When the staffless period ends. */
  at: Date;
}

/** One local day in words (for dashboards and `check-config`). */
export interface DayHours {
  date: string;
  /** `HH:MM` wall-clock ranges, end exclusive; `24:00` is the end of the day. */
  staffed: { from: string; to: string }[];
  staffless: { from: string; to: string }[];
  holiday?: PublicHoliday | undefined;
  exception?: ScheduleException | undefined;
}

/** How far ahead `nextChange` looks. */
export const SEARCH_HORIZON_MS = 8 * DAY_MS;

function hhmm(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

const inside = (intervals: Interval[], ms: number): boolean => intervals.some(([s, e]) => ms >= s && ms < e);

export interface ScheduleOptions {
  timezone: string;
  /** Minutes before staffless hours end (into closed) that `closing_soon` is raised; 0 = never. */
  closingSoonMinutes: number;
}

/** The site's zone; an unknown one is a config error naming `site.timezone`. */
export function zoneOf(timezone: string): Zone {
  try {
    return new Zone(timezone);
  } catch {
    throw new ScheduleConfigError('site.timezone', timezone, 'not an IANA time zone');
  }
}

/**
 * A door's staffed / staffless / closed periods in the site's time zone, over day plans from a PlanSource:
 * the calendar libraries (planner.ts) or plans they computed in a child process (plan-table.ts).
 */
export class DoorSchedule {
  private readonly zone: Zone;

  constructor(
    private readonly plans: PlanSource,
    private readonly options: ScheduleOptions,
  ) {
    this.zone = zoneOf(options.timezone);
  }

  get timezone(): string {
    return this.zone.timeZone;
  }

  get closingSoonMinutes(): number {
    const minutes = this.options.closingSoonMinutes;
    return Number.isFinite(minutes) && minutes > 0 ? minutes : 0;
  }

  stateAt(date: Date): ScheduleState {
    return this.stateAtMs(date.getTime());
  }

  /** The first instant after `from` (within 8 days) where the state differs from the state at `from`. */
  nextChange(from: Date): ScheduleChange | null {
    const start = from.getTime();
    const end = start + SEARCH_HORIZON_MS;
    const current = this.stateAtMs(start);
    // The state only changes at a period boundary or where the wall clock jumps (DST).
    const transitions = this.zone.transitionsBetween(start, end);
    const firstDifferent = (candidates: number[]): ScheduleChange | undefined => {
      for (const instant of [...new Set(candidates)].sort((a, b) => a - b)) {
        const state = this.stateAtMs(instant);
        if (state !== current) return { state, at: new Date(instant) };
      }
      return undefined;
    };
    const lastDay = this.zone.localDay(end).key;
    // Days in order; a day's boundaries all fall before the next day's, so stop at the first change.
    for (let day = addDays(this.zone.localDay(start).key, -1); day <= lastDay; day = addDays(day, 1)) {
      const plan = this.plan(day);
      const boundaries = new Set<number>([0]);
      for (const [s, e] of [...plan.staffed, ...plan.staffless]) {
        boundaries.add(s);
        boundaries.add(e);
      }
      const offsets = this.zone.offsetsAround(day);
      const candidates: number[] = [];
      for (const b of boundaries) {
        for (const instant of this.zone.instantsOf(day, b, offsets)) {
          if (instant > start && instant <= end) candidates.push(instant);
        }
      }
      if (candidates.length === 0) continue;
      const upTo = Math.max(...candidates);
      while (transitions.length > 0 && transitions[0]! <= upTo) candidates.push(transitions.shift()!);
      const change = firstDifferent(candidates);
      if (change) return change;
    }
    return firstDifferent(transitions) ?? null;
  }

  /**
   * Every change of state in `(from, to]`, in order: what calling `nextChange` again and again gives, in one
   * pass over the days (the state engine computes days of timeline at once).
   */
  changesBetween(from: Date, to: Date): ScheduleChange[] {
    const start = from.getTime();
    const end = to.getTime();
    const candidates = new Set<number>(this.zone.transitionsBetween(start, end));
    const lastDay = this.zone.localDay(end).key;
    for (let day = addDays(this.zone.localDay(start).key, -1); day <= lastDay; day = addDays(day, 1)) {
      const plan = this.plan(day);
      const boundaries = new Set<number>([0]);
      for (const [s, e] of [...plan.staffed, ...plan.staffless]) {
        boundaries.add(s);
        boundaries.add(e);
      }
      const offsets = this.zone.offsetsAround(day);
      for (const b of boundaries) {
        for (const instant of this.zone.instantsOf(day, b, offsets)) {
          if (instant > start && instant <= end) candidates.add(instant);
        }
      }
    }
    const changes: ScheduleChange[] = [];
    let current = this.stateAtMs(start);
    for (const instant of [...candidates].sort((a, b) => a - b)) {
      const state = this.stateAtMs(instant);
      if (state === current) continue;
      changes.push({ state, at: new Date(instant) });
      current = state;
    }
    return changes;
  }

  /**
   * Set while staffless hours end within `closing_soon_minutes` and closed hours follow.
   * `next` may pass `nextChange(at)` when the caller already has it.
   */
  closingSoon(at: Date, next?: ScheduleChange | null): ClosingSoon | null {
    const window = this.closingSoonMinutes * 60_000;
    if (window <= 0 || this.stateAt(at) !== 'staffless') return null;
    if (next === undefined) next = this.nextChange(at);
    if (next?.state !== 'closed') return null;
    const left = next.at.getTime() - at.getTime();
    if (left > window) return null;
    return { minutes: Math.ceil(left / 60_000), at: next.at };
  }

  /** The public holiday on the local date of `date`, if any (whether or not it closes the door). */
  holidayAt(date: Date): PublicHoliday | undefined {
    return this.plan(this.zone.localDay(date.getTime()).key).holiday;
  }

  /** The periods of one local date `YYYY-MM-DD`. */
  day(date: string): DayHours {
    if (!parseDateKey(date)) throw new Error(`not a date: ${date}`);
    const plan = this.plan(date);
    const show = (list: Interval[]) => list.map(([s, e]) => ({ from: hhmm(s), to: hhmm(e) }));
    return {
      date,
      staffed: show(plan.staffed),
      staffless: show(plan.staffless),
      holiday: plan.holiday,
      exception: plan.exception,
    };
  }

  private stateAtMs(instant: number): ScheduleState {
    const { key, msOfDay } = this.zone.localDay(instant);
    const plan = this.plan(key);
    if (inside(plan.staffed, msOfDay)) return 'staffed';
    if (inside(plan.staffless, msOfDay)) return 'staffless';
    return 'closed';
  }

  private plan(date: string): DayPlan {
    return this.plans.plan(date);
  }
}
