import type OpeningHours from 'opening_hours';
import type { ScheduleConfig, ScheduleException } from './config.ts';
import {
  type DayPlan,
  type Interval,
  type PlanSource,
  ScheduleConfigError,
  type SiteSettings,
} from './day-plan.ts';
import { PublicHolidays } from './holidays.ts';
import { OpeningHoursUtc, wallClockDate } from './opening-hours-utc.ts';
import { DoorSchedule, zoneOf } from './schedule.ts';
import { DAY_MS, parseDateKey } from '../time/zone.ts';

/*
 * The calendar libraries (opening_hours, date-holidays) and what they answer. They hold ≈ 26 MB once loaded,
 * so the controller runs this module in a short-lived child process (compiler.ts) and keeps only the plans;
 * check-config, the tests and the benchmarks use it directly.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// These only say a date in the expression has passed; a config must not stop loading as time goes by.
const HARMLESS_WARNINGS = new Set(['date_past', 'date_range_past', 'year_past']);

/** One opening_hours expression, evaluated per local day of the site (see opening-hours-utc.ts). */
class Hours {
  private constructor(private readonly oh: OpeningHours) {}

  /** Parses and validates; an empty expression means "never". */
  static parse(field: string, value: string): Hours | undefined {
    if (value.trim() === '') return undefined;
    // Without a country, opening_hours quietly treats PH/SH as never; holidays come from date-holidays instead.
    if (/\b(PH|SH)\b/.test(value.replace(/"[^"]*"/g, ''))) {
      throw new ScheduleConfigError(
        field,
        value,
        'PH/SH are not supported here: use holidays_closed and dated exceptions instead',
      );
    }
    let oh: OpeningHours;
    try {
      // Mode 0: time ranges only (no points in time).
      oh = new OpeningHoursUtc(value, null, 0);
    } catch (err) {
      const text = String(err instanceof Error ? err.message : err).trim();
      throw new ScheduleConfigError(field, value, `opening_hours error: ${text}`);
    }
    const warnings = oh.getStructuredWarnings().filter((w) => !HARMLESS_WARNINGS.has(w.type));
    if (warnings.length > 0) {
      throw new ScheduleConfigError(
        field,
        value,
        `opening_hours warning: ${warnings.map((w) => w.message.trim()).join('; ')}`,
      );
    }
    return new Hours(oh);
  }

  /**
   * Hours for one dated exception: time ranges only (`10:00-14:00`, `07:00-10:00,13:00-15:00`), applied to
   * that date alone, so `20:00-02:00` does not also spill in from "the day before".
   */
  static parseForDate(field: string, value: string, date: string): Hours | undefined {
    const checked = Hours.parse(field, value);
    if (!checked) return undefined;
    const range = String.raw`\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}`;
    if (!new RegExp(String.raw`^\s*${range}(\s*,\s*${range})*\s*$`).test(value)) {
      throw new ScheduleConfigError(
        field,
        value,
        'exception hours must be time ranges only, like 10:00-14:00 or 07:00-10:00,13:00-15:00',
      );
    }
    const p = parseDateKey(date)!;
    return Hours.parse(
      field,
      `${p.year} ${MONTHS[p.month - 1]} ${String(p.day).padStart(2, '0')} ${value.trim()}`,
    );
  }

  /** Open (not "unknown") ranges of one local day in ms since midnight. */
  intervalsOn(date: string): Interval[] {
    const p = parseDateKey(date)!;
    const from = wallClockDate(p.year, p.month, p.day);
    const to = wallClockDate(p.year, p.month, p.day, DAY_MS);
    const msOf = (d: Date): number => Math.min(Math.max(d.getTime() - from.getTime(), 0), DAY_MS);
    const out: Interval[] = [];
    for (const [start, end, unknown] of this.oh.getOpenIntervals(from, to)) {
      if (unknown) continue;
      const s = msOf(start);
      const e = msOf(end);
      if (e > s) out.push([s, e]);
    }
    return out;
  }
}

/**
 * Day plans from the weekly opening_hours rules, public holidays (closed when `holidays_closed`) and dated
 * exceptions that replace a whole day. The constructor validates everything and throws ScheduleConfigError
 * (or Error for site settings) naming the offending setting.
 */
export class LibraryPlanner implements PlanSource {
  private readonly holidays: PublicHolidays;
  private readonly staffed: Hours | undefined;
  private readonly staffless: Hours | undefined;
  private readonly exceptions = new Map<
    string,
    { rule: ScheduleException; staffed: Hours | undefined; staffless: Hours | undefined }
  >();
  private readonly plans = new Map<string, DayPlan>();

  constructor(
    private readonly config: ScheduleConfig,
    site: SiteSettings,
  ) {
    zoneOf(site.timezone);
    this.holidays = new PublicHolidays(site.country, site.region);
    this.staffed = Hours.parse('staffed', config.staffed ?? '');
    this.staffless = Hours.parse('staffless', config.staffless ?? '');
    (config.exceptions ?? []).forEach((rule, i) => {
      const field = `exceptions[${i}]`;
      if (!parseDateKey(rule.date))
        throw new ScheduleConfigError(`${field}.date`, rule.date, 'not a calendar date');
      if (this.exceptions.has(rule.date)) {
        throw new ScheduleConfigError(`${field}.date`, rule.date, 'two exceptions for the same date');
      }
      const hasHours = Boolean(rule.staffed?.trim() || rule.staffless?.trim());
      if (rule.closed && hasHours) {
        throw new ScheduleConfigError(
          field,
          rule.date,
          'closed: true cannot be combined with staffed/staffless hours',
        );
      }
      if (!rule.closed && !hasHours) {
        throw new ScheduleConfigError(field, rule.date, 'needs closed: true or staffed/staffless hours');
      }
      this.exceptions.set(rule.date, {
        rule,
        staffed: Hours.parseForDate(`${field}.staffed`, rule.staffed ?? '', rule.date),
        staffless: Hours.parseForDate(`${field}.staffless`, rule.staffless ?? '', rule.date),
      });
    });
  }

  plan(date: string): DayPlan {
    let plan = this.plans.get(date);
    if (plan) return plan;
    const holiday = this.holidays.on(date);
    const exception = this.exceptions.get(date);
    if (exception) {
      // An exception replaces the whole day, holiday or not.
      plan = exception.rule.closed
        ? { staffed: [], staffless: [], holiday, exception: exception.rule }
        : {
            staffed: exception.staffed?.intervalsOn(date) ?? [],
            staffless: exception.staffless?.intervalsOn(date) ?? [],
            holiday,
            exception: exception.rule,
          };
    } else {
      let staffed = this.staffed?.intervalsOn(date) ?? [];
      let staffless = this.staffless?.intervalsOn(date) ?? [];
      // Closed unless explicitly turned off (also when a caller skipped the schema defaults).
      if (holiday && this.config.holidays_closed !== false) {
        // Closed from the holiday's start (midnight for every NO/DK public holiday).
        const clip = (list: Interval[]): Interval[] =>
          list
            .filter(([s]) => s < holiday.startMs)
            .map(([s, e]) => [s, Math.min(e, holiday.startMs)] as const);
        staffed = clip(staffed);
        staffless = clip(staffless);
      }
      plan = { staffed, staffless, holiday };
    }
    if (this.plans.size > 400) this.plans.clear();
    this.plans.set(date, plan);
    return plan;
  }
}

/** A door's schedule computed here, in this process, from its config. */
export function scheduleFromConfig(config: ScheduleConfig, site: SiteSettings): DoorSchedule {
  const planner = new LibraryPlanner(config, site);
  return new DoorSchedule(planner, {
    timezone: site.timezone,
    closingSoonMinutes: config.closing_soon_minutes,
  });
}

/** One DoorSchedule per door; a bad schedule throws naming the door (for startup and `check-config`). */
export function buildDoorSchedules(
  doors: readonly { id: string; schedule: ScheduleConfig }[],
  site: SiteSettings,
): Map<string, DoorSchedule> {
  const out = new Map<string, DoorSchedule>();
  for (const door of doors) {
    try {
      out.set(door.id, scheduleFromConfig(door.schedule, site));
    } catch (err) {
      throw new Error(`door "${door.id}": ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }
  return out;
}
