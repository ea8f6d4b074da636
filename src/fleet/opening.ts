/**
 * The branch's opening hours for the fleet centre: per local day, staffed and staffless hours from the day
 * plans the door process last computed and saved (schedule_plans, today minus two to two months ahead), so
 * the worker needs neither the schedule compiler nor the doors' config at every scan. A day is recomputed
 * until it has ended, then kept (fleet_opening); every ISO week whose days changed goes out whole
 * (FleetOpeningHours). Once, when the link starts, the days of this year before that are computed from the
 * config (backfillOpeningHours), as the branch's own report computes past weeks.
 */
import { createHash } from 'node:crypto';
import type { DayOpeningHours } from '../contract/fleet.ts';
import type { ScheduleConfig } from '../schedule/config.ts';
import type { compilePlans } from '../schedule/compiler.ts';
import type { DayPlan, SiteSettings } from '../schedule/day-plan.ts';
import { PlanTable } from '../schedule/plan-table.ts';
import type { DoorSchedule } from '../schedule/schedule.ts';
import {
  compileDoorSchedules,
  isoWeeksTouching,
  openingHoursBetween,
  schedulesFromPlans,
} from '../stats/opening-hours.ts';
import { dayNumber, isoWeek, startOfLocalDay } from '../stats/tz.ts';
import type { Db } from '../store/db.ts';
import { addDays, localDate } from '../time/zone.ts';
import type { FiguresOutbox, WeekOpening } from './outbox.ts';

/** Hours with the precision the report shows (and a stable digest): minutes. */
const round = (h: number) => Math.round(h * 60) / 60;

/** Monday (local date) of the ISO week of `day`. */
function mondayOf(day: string): string {
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
  return addDays(day, -weekday);
}

/**
 * Opening hours of every day from `from` on that the saved plans cover for every door, with the day before
 * (a night across midnight starts there).
 */
export function openingFromSavedPlans(db: Db, timezone: string, from: string): DayOpeningHours[] {
  const row = db.prepare('SELECT plans FROM schedule_plans WHERE id = 1').get() as
    | { plans: string }
    | undefined;
  if (!row) return [];
  const byDoor = JSON.parse(row.plans) as Record<string, [string, DayPlan][]>;
  const tables = new Map<string, PlanTable>();
  const covered: Set<string>[] = [];
  for (const [door, days] of Object.entries(byDoor)) {
    const table = new PlanTable();
    const plans = new Map(days);
    table.load(plans);
    tables.set(door, table);
    covered.push(new Set(plans.keys()));
  }
  if (covered.length === 0) return [];
  const all = (day: string) => covered.every((c) => c.has(day));
  const schedules = schedulesFromPlans(tables, timezone);
  const out: DayOpeningHours[] = [];
  const last = [...covered[0]!].sort().at(-1)!;
  for (let day = from; day <= last; day = addDays(day, 1)) {
    if (!all(day) || !all(addDays(day, -1))) continue;
    out.push(openingOfDay(schedules, timezone, day));
  }
  return out;
}

/** Elapsed staffed and staffless hours of one local day of the site made of these doors. */
function openingOfDay(schedules: readonly DoorSchedule[], timezone: string, day: string): DayOpeningHours {
  const h = openingHoursBetween(
    schedules,
    startOfLocalDay(timezone, day),
    startOfLocalDay(timezone, addDays(day, 1)),
  );
  return { day, staffed: round(h.staffed), staffless: round(h.staffless) };
}

const lastScan = new WeakMap<Db, string>();

/**
 * Records the days not yet ended and queues every week that differs from what was last queued. Returns the
 * number of weeks queued.
 */
export function scanOpeningHours(db: Db, timezone: string, outbox: FiguresOutbox, now: number): number {
  const today = localDate(new Date(now), timezone);
  // The same plans on the same day give the same hours: nothing to read or write until either changes.
  const plans = db.prepare('SELECT computed_at FROM schedule_plans WHERE id = 1').get() as
    | { computed_at: number }
    | undefined;
  if (!plans) return 0;
  const mark = `${plans.computed_at} ${today}`;
  if (lastScan.get(db) === mark) return 0;
  lastScan.set(db, mark);
  const days = openingFromSavedPlans(db, timezone, today);
  if (days.length === 0) return 0;
  const upsert = db.prepare(
    `INSERT INTO fleet_opening (day, week, staffed, staffless) VALUES (?, ?, ?, ?)
     ON CONFLICT (day) DO UPDATE SET staffed = excluded.staffed, staffless = excluded.staffless`,
  );
  db.transaction(() => {
    for (const d of days) upsert.run(d.day, isoWeek(d.day), d.staffed, d.staffless);
  })();
  return queueChangedWeeks(db, outbox, days);
}

/** Queues every week of these days whose recorded days differ from what was last queued; returns how many. */
function queueChangedWeeks(db: Db, outbox: FiguresOutbox, days: readonly DayOpeningHours[]): number {
  const weeks = [...new Set(days.map((d) => isoWeek(d.day)))];
  const changed: WeekOpening[] = [];
  const dayRows = db.prepare('SELECT day, staffed, staffless FROM fleet_opening WHERE week = ? ORDER BY day');
  const known = db.prepare('SELECT digest FROM fleet_weeks WHERE week = ?');
  for (const week of weeks) {
    const weekDays = dayRows.all(week) as DayOpeningHours[];
    const digest = createHash('sha256').update(JSON.stringify(weekDays)).digest('hex').slice(0, 32);
    if ((known.get(week) as { digest: string } | undefined)?.digest === digest) continue;
    changed.push({ week, monday: mondayOf(weekDays[0]!.day), days: weekDays, digest });
  }
  outbox.queueWeeks(changed);
  return changed.length;
}

/** A year of plans on a busy box takes far longer than the door's two months, and nobody waits for it. */
const BACKFILL_COMPILE_TIMEOUT_MS = 180_000;

export interface OpeningConfig {
  doors: readonly { id: string; schedule: ScheduleConfig }[];
  site: SiteSettings;
  /** The schedule compiler (its child process); a test may pass its own. */
  compile?: typeof compilePlans;
}

/**
 * The days of the current year, from the Monday of the ISO week with 1 January (the report counts whole
 * weeks) to yesterday, that fleet_opening lacks, as a branch records days only from when its fleet link runs.
 * They are computed from the config as the branch's own report computes past weeks (the schedule compiler's
 * day plans, one day before for a night across midnight), recorded, and every week they change queued whole.
 * A day already recorded keeps its hours (those of the plans the door followed), so a week already queued is
 * queued again only when days were added to it, and a second run finds nothing missing and does nothing.
 * Returns the number of weeks queued.
 */
export async function backfillOpeningHours(
  db: Db,
  timezone: string,
  outbox: FiguresOutbox,
  now: number,
  config: OpeningConfig,
): Promise<number> {
  const today = localDate(new Date(now), timezone);
  const first = isoWeeksTouching(Number(today.slice(0, 4)))[0]!;
  const last = addDays(today, -1);
  if (last < first || config.doors.length === 0) return 0;
  const recorded = new Set(
    db.prepare('SELECT day FROM fleet_opening WHERE day >= ? AND day <= ?').pluck().all(first, last),
  );
  const missing: string[] = [];
  for (let day = first; day <= last; day = addDays(day, 1)) if (!recorded.has(day)) missing.push(day);
  if (missing.length === 0) return 0;
  const from = addDays(missing[0]!, -1);
  const schedules = await compileDoorSchedules(
    config.doors,
    config.site,
    { from, days: dayNumber(last) - dayNumber(from) + 1 },
    config.compile,
    BACKFILL_COMPILE_TIMEOUT_MS,
  );
  const days = missing.map((day) => openingOfDay(schedules, timezone, day));
  // A day the scan recorded meanwhile keeps its hours.
  const insert = db.prepare(
    'INSERT INTO fleet_opening (day, week, staffed, staffless) VALUES (?, ?, ?, ?) ON CONFLICT (day) DO NOTHING',
  );
  db.transaction(() => {
    for (const d of days) insert.run(d.day, isoWeek(d.day), d.staffed, d.staffless);
  })();
  return queueChangedWeeks(db, outbox, days);
}
