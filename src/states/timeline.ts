/**
 * The site's states and what they drive, as pure functions of the schedule's day plans and the config:
 * periods of states, output changes and announcement times. No clock and no I/O, so a test can walk any
 * day (DST, holidays) and the engine only looks up what is due.
 */
import type { ScheduleState, SiteState } from '../contract/events.ts';
import type { PlanSource } from '../schedule/day-plan.ts';
import { DoorSchedule } from '../schedule/schedule.ts';
import type { OutputConfig } from './config.ts';

const MINUTE_MS = 60_000;

/** What the timeline needs of a schedule (DoorSchedule). */
export interface ScheduleReader {
  stateAt(date: Date): ScheduleState;
  /** Every change of state in `(from, to]`, in order. */
  changesBetween(from: Date, to: Date): { state: ScheduleState; at: Date }[];
}

export interface ClosingRule {
  /** `closing` begins this many minutes before the schedule goes into one of `before`; 0: never. */
  minutes: number;
  before: readonly ScheduleState[];
}

/** One stretch of a state, `[from, to)` in epoch ms. */
export interface StatePeriod {
  state: Exclude<SiteState, 'emergency'>;
  from: number;
  to: number;
  /** The first period starts at the window's start, not where the state really began. */
  truncated: boolean;
}

export interface OutputChange {
  at: number;
  output: string;
  value: string;
  state: SiteState;
}

export interface AnnouncementDue {
  at: number;
  minutes: number;
  /** When the site closes. */
  closesAt: number;
}

/** `closing` only leads from more service to less. */
const SERVICE: Record<ScheduleState, number> = { staffed: 2, staffless: 1, closed: 0 };

/** The periods of states over `[from, to)`, with `closing` cut from the end of the periods it precedes. */
export function statePeriods(
  schedule: ScheduleReader,
  from: number,
  to: number,
  closing: ClosingRule,
): StatePeriod[] {
  const plain: { state: ScheduleState; from: number; to: number }[] = [];
  let at = from;
  let state = schedule.stateAt(new Date(from));
  for (const change of schedule.changesBetween(new Date(from), new Date(to))) {
    if (change.at.getTime() >= to) break;
    plain.push({ state, from: at, to: change.at.getTime() });
    at = change.at.getTime();
    state = change.state;
  }
  plain.push({ state, from: at, to });
  const periods: StatePeriod[] = [];
  plain.forEach((period, i) => {
    const following = plain[i + 1];
    const truncated = i === 0;
    const cut =
      closing.minutes > 0 &&
      following !== undefined &&
      period.state !== 'closed' &&
      closing.before.includes(following.state) &&
      SERVICE[following.state] < SERVICE[period.state];
    if (!cut) {
      periods.push({ state: period.state, from: period.from, to: period.to, truncated });
      return;
    }
    const closingFrom = Math.max(period.from, period.to - closing.minutes * MINUTE_MS);
    if (closingFrom > period.from)
      periods.push({ state: period.state, from: period.from, to: closingFrom, truncated });
    periods.push({
      state: 'closing',
      from: closingFrom,
      to: period.to,
      truncated: truncated && closingFrom === period.from,
    });
  });
  // Neighbours in the same state (a midnight split, or closing right after closing) are one period.
  const merged: StatePeriod[] = [];
  for (const period of periods) {
    const last = merged.at(-1);
    if (last && last.state === period.state && last.to === period.from) last.to = period.to;
    else merged.push({ ...period });
  }
  return merged;
}

/**
 * Every output change over the periods, in time order. A setting takes effect `offset_minutes` after its
 * state begins (before, when negative, but not before the previous state began) and only while that
 * state lasts: a period that ends first never applies it. The first period's settings apply at its start.
 */
export function outputTimeline(
  periods: readonly StatePeriod[],
  outputs: readonly OutputConfig[],
): OutputChange[] {
  const changes: OutputChange[] = [];
  periods.forEach((period, i) => {
    const earliest = periods[i - 1]?.from ?? period.from;
    for (const output of outputs) {
      const setting = output.values[period.state];
      if (!setting) continue;
      let at = period.truncated ? period.from : period.from + setting.offset_minutes * MINUTE_MS;
      at = Math.max(at, earliest);
      if (at >= period.to) continue;
      changes.push({ at, output: output.id, value: setting.value, state: period.state });
    }
  });
  // Stable: at one instant the later period's setting comes last and wins.
  return changes.sort((a, b) => a.at - b.at);
}

/** Announcements `minutes` before each closing (into closed), while the site is open at that time. */
export function announcementTimeline(
  periods: readonly StatePeriod[],
  minutes: readonly number[],
): AnnouncementDue[] {
  const due: AnnouncementDue[] = [];
  let openSince: number | null = null;
  for (const period of periods) {
    if (period.state === 'closed') {
      if (openSince !== null) {
        const closesAt = period.from;
        for (const m of minutes) {
          const at = closesAt - m * MINUTE_MS;
          if (at >= openSince) due.push({ at, minutes: m, closesAt });
        }
      }
      openSince = null;
    } else if (openSince === null) openSince = period.truncated ? Number.NEGATIVE_INFINITY : period.from;
  }
  return due.sort((a, b) => a.at - b.at);
}

export interface PlanTimelineInput {
  plans: PlanSource;
  timezone: string;
  closing: ClosingRule;
  outputs: readonly OutputConfig[];
  announceMinutes: readonly number[];
  from: number;
  to: number;
}

/** Day plans + config → periods, output changes and announcements over `[from, to)`. */
export function planTimeline(input: PlanTimelineInput): {
  periods: StatePeriod[];
  outputs: OutputChange[];
  announcements: AnnouncementDue[];
} {
  const schedule = new DoorSchedule(input.plans, { timezone: input.timezone, closingSoonMinutes: 0 });
  return timelineOf(schedule, input);
}

/** The same over a schedule the caller already has (the controller's compiled one). */
export function timelineOf(
  schedule: ScheduleReader,
  input: Omit<PlanTimelineInput, 'plans' | 'timezone'>,
): { periods: StatePeriod[]; outputs: OutputChange[]; announcements: AnnouncementDue[] } {
  const periods = statePeriods(schedule, input.from, input.to, input.closing);
  return {
    periods,
    outputs: outputTimeline(periods, input.outputs),
    announcements: announcementTimeline(periods, input.announceMinutes),
  };
}
