import type { ScheduleState } from '../contract/events.ts';
import type { ScheduleConfig } from '../schedule/config.ts';
import { compilePlans } from '../schedule/compiler.ts';
import type { PlanSource, SiteSettings } from '../schedule/day-plan.ts';
import { PlanTable } from '../schedule/plan-table.ts';
import { DoorSchedule } from '../schedule/schedule.ts';
import { addDays } from '../time/zone.ts';
import { dayFromNumber, dayNumber, isoWeek, startOfLocalDay } from './tz.ts';

/**
 * Staffed and staffless opening hours per ISO week, from the doors' day plans (weekly rules, public holidays
 * and dated exceptions as the door itself follows them). Hours are real elapsed time: a staffless night
 * across the spring change is an hour shorter than its wall-clock span. The site is staffed while any door
 * is staffed, else staffless while any door is staffless.
 */

const HOUR_MS = 3_600_000;

export interface OpeningHours {
  staffed: number;
  staffless: number;
}

export interface WeekOpeningHours extends OpeningHours {
  /** 'YYYY-Www'. */
  week: string;
  /** Local date of its Monday. */
  monday: string;
}

const RANK: Record<ScheduleState, number> = { closed: 0, staffless: 1, staffed: 2 };

/** Mondays (local dates) of every ISO week with a day in `year`. */
export function isoWeeksTouching(year: number): string[] {
  const jan1 = dayNumber(`${year}-01-01`);
  const dec31 = dayNumber(`${year}-12-31`);
  const weekday = (n: number) => (((n + 3) % 7) + 7) % 7; // 0 = Monday
  const mondays: string[] = [];
  for (let n = jan1 - weekday(jan1); n <= dec31; n += 7) mondays.push(dayFromNumber(n));
  return mondays;
}

/** The days a computation for `year` needs plans for: the weeks touching it, and a day either side. */
export function planDaysFor(year: number): { from: string; days: number } {
  const mondays = isoWeeksTouching(year);
  const from = addDays(mondays[0]!, -1);
  const last = addDays(mondays.at(-1)!, 7);
  return { from, days: dayNumber(last) - dayNumber(from) + 1 };
}

/** Opening hours in `[from, to)` (epoch ms) of the site made of these doors. */
export function openingHoursBetween(doors: readonly DoorSchedule[], from: number, to: number): OpeningHours {
  const out: OpeningHours = { staffed: 0, staffless: 0 };
  if (!(to > from) || doors.length === 0) return out;
  const instants = new Set<number>([from]);
  for (const door of doors)
    for (const change of door.changesBetween(new Date(from), new Date(to))) {
      const at = change.at.getTime();
      if (at < to) instants.add(at);
    }
  const sorted = [...instants].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!;
    const end = sorted[i + 1] ?? to;
    let state: ScheduleState = 'closed';
    for (const door of doors) {
      const s = door.stateAt(new Date(start));
      if (RANK[s] > RANK[state]) state = s;
    }
    if (state !== 'closed') out[state] += (end - start) / HOUR_MS;
  }
  return out;
}

export interface YearOpeningHours {
  weeks: WeekOpeningHours[];
  /** Hours within the calendar year itself (the weeks at its edges only in part). */
  year: OpeningHours;
}

/** Every ISO week touching `year` (whole weeks, also where they reach into the next or last year). */
export function openingHoursOfYear(
  doors: readonly DoorSchedule[],
  year: number,
  timezone: string,
): YearOpeningHours {
  const weeks = isoWeeksTouching(year).map((monday) => {
    const from = startOfLocalDay(timezone, monday);
    const to = startOfLocalDay(timezone, addDays(monday, 7));
    return { week: isoWeek(monday), monday, ...openingHoursBetween(doors, from, to) };
  });
  const inYear = openingHoursBetween(
    doors,
    startOfLocalDay(timezone, `${year}-01-01`),
    startOfLocalDay(timezone, `${year + 1}-01-01`),
  );
  return { weeks, year: inYear };
}

/** Door schedules over given day plans (e.g. from compilePlans). */
export function schedulesFromPlans(plans: Map<string, PlanSource>, timezone: string): DoorSchedule[] {
  return [...plans.values()].map((p) => new DoorSchedule(p, { timezone, closingSoonMinutes: 0 }));
}

/**
 * The doors' schedules over `days` days from `from`, with the day plans computed in the schedule compiler's
 * child process (the calendar libraries never load into the calling process). Rejects on a bad schedule.
 */
export async function compileDoorSchedules(
  doors: readonly { id: string; schedule: ScheduleConfig }[],
  site: SiteSettings,
  range: { from: string; days: number },
  compile: typeof compilePlans = compilePlans,
  timeoutMs?: number,
): Promise<DoorSchedule[]> {
  const compiled = await compile(
    { doors: doors.map((d) => ({ id: d.id, schedule: d.schedule })), site, ...range },
    timeoutMs,
  );
  const tables = new Map<string, PlanSource>();
  for (const [door, plans] of compiled) {
    const table = new PlanTable();
    table.load(plans);
    tables.set(door, table);
  }
  return schedulesFromPlans(tables, site.timezone);
}

/** The opening hours of `year` (compileDoorSchedules). Rejects on a bad schedule. */
export async function computeOpeningHoursOfYear(
  doors: readonly { id: string; schedule: ScheduleConfig }[],
  site: SiteSettings,
  year: number,
  compile: typeof compilePlans = compilePlans,
): Promise<YearOpeningHours> {
  const schedules = await compileDoorSchedules(doors, site, planDaysFor(year), compile);
  return openingHoursOfYear(schedules, year, site.timezone);
}
