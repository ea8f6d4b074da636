import type OpeningHours from 'opening_hours';
import type { ScheduleState } from '../contract/events.ts';
import type { ScheduleConfig, ScheduleException } from './config.ts';
import { type PublicHoliday, PublicHolidays } from './holidays.ts';
import { OpeningHoursUtc, wallClockDate } from './opening-hours-utc.ts';
import { addDays, DAY_MS, parseDateKey, Zone } from './zone.ts';

export interface SiteSettings {
  timezone: string;
  country: string;
  region?: string | undefined;
}

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

/** One local day as the schedule sees it (for dashboards and `check-config`). */
export interface DayPlan {
  date: string;
  /** `HH:MM` wall-clock ranges, end exclusive; `24:00` is the end of the day. */
  staffed: { from: string; to: string }[];
  staffless: { from: string; to: string }[];
  holiday?: PublicHoliday | undefined;
  exception?: ScheduleException | undefined;
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

/** How far ahead `nextChange` looks. */
export const SEARCH_HORIZON_MS = 8 * DAY_MS;

type Interval = readonly [start: number, end: number];

interface Plan {
  staffed: Interval[];
  staffless: Interval[];
  holiday?: PublicHoliday | undefined;
  exception?: ScheduleException | undefined;
}

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
    return Hours.parse(field, `${p.year} ${MONTHS[p.month - 1]} ${String(p.day).padStart(2, '0')} ${value.trim()}`);
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

function hhmm(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

const inside = (intervals: Interval[], ms: number): boolean => intervals.some(([s, e]) => ms >= s && ms < e);

/**
 * A door's staffed / staffless / closed periods in the site's time zone: weekly opening_hours rules,
 * public holidays (closed when `holidays_closed`) and dated exceptions that replace a whole day.
 */
export class DoorSchedule {
  private readonly zone: Zone;
  private readonly holidays: PublicHolidays;
  private readonly staffed: Hours | undefined;
  private readonly staffless: Hours | undefined;
  private readonly exceptions = new Map<
    string,
    { rule: ScheduleException; staffed: Hours | undefined; staffless: Hours | undefined }
  >();
  private readonly plans = new Map<string, Plan>();

  /** Throws ScheduleConfigError (or Error for site settings) naming the offending setting. */
  constructor(
    private readonly config: ScheduleConfig,
    site: SiteSettings,
  ) {
    try {
      this.zone = new Zone(site.timezone);
    } catch {
      throw new ScheduleConfigError('site.timezone', site.timezone, 'not an IANA time zone');
    }
    this.holidays = new PublicHolidays(site.country, site.region);
    this.staffed = Hours.parse('staffed', config.staffed ?? '');
    this.staffless = Hours.parse('staffless', config.staffless ?? '');
    (config.exceptions ?? []).forEach((rule, i) => {
      const field = `exceptions[${i}]`;
      if (!parseDateKey(rule.date)) throw new ScheduleConfigError(`${field}.date`, rule.date, 'not a calendar date');
      if (this.exceptions.has(rule.date)) {
        throw new ScheduleConfigError(`${field}.date`, rule.date, 'two exceptions for the same date');
      }
      const hasHours = Boolean(rule.staffed?.trim() || rule.staffless?.trim());
      if (rule.closed && hasHours) {
        throw new ScheduleConfigError(field, rule.date, 'closed: true cannot be combined with staffed/staffless hours');
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

  get timezone(): string {
    return this.zone.timeZone;
  }

  get closingSoonMinutes(): number {
    const minutes = this.config.closing_soon_minutes;
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
    return this.holidays.on(this.zone.localDay(date.getTime()).key);
  }

  /** The periods of one local date `YYYY-MM-DD`. */
  day(date: string): DayPlan {
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

  private plan(date: string): Plan {
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
          list.filter(([s]) => s < holiday.startMs).map(([s, e]) => [s, Math.min(e, holiday.startMs)] as const);
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

/** One DoorSchedule per door; a bad schedule throws naming the door (for startup and `check-config`). */
export function buildDoorSchedules(
  doors: readonly { id: string; schedule: ScheduleConfig }[],
  site: SiteSettings,
): Map<string, DoorSchedule> {
  const out = new Map<string, DoorSchedule>();
  for (const door of doors) {
    try {
      out.set(door.id, new DoorSchedule(door.schedule, site));
    } catch (err) {
      throw new Error(`door "${door.id}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  return out;
}
