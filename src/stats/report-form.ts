import { addDays } from '../time/zone.ts';
import { csvCell } from './csv-cell.ts';
import { isoWeeksTouching, type OpeningHours, type YearOpeningHours } from './opening-hours.ts';
import type { GrantsInHour, PassagesInHour } from './queries.ts';
import { dayFromNumber, dayNumber, isoWeek } from './tz.ts';

/**
 * The national report's shape and its CSV, whatever the figures come from: a site's own store (report.ts)
 * or the fleet centre's (src/fleet/report.ts).
 */

export interface Visits {
  staffed: number;
  staffless: number;
  /** Outside opening hours (passes, staff): kept apart, never in the national figures. */
  closed: number;
}

export type VisitSource = 'passages' | 'grants';

export interface HourVisits extends Visits {
  day: string;
  hour: number;
}
export interface DayVisits extends Visits {
  day: string;
}
export interface WeekFigures {
  /** 'YYYY-Www'. */
  week: string;
  /** First and last date of the week inside the year (a week at the year's edge is partly outside it). */
  from: string;
  to: string;
  visits: Visits;
  /** Opening hours of the whole week. */
  hours: OpeningHours;
}

export interface AnnualReport {
  year: number;
  timezone: string;
  doors: { door: string; source: VisitSource }[];
  /** Hours with any visit, in order. */
  hours: HourVisits[];
  /** Every day of the year. */
  days: DayVisits[];
  /** Every ISO week with a day in the year. */
  weeks: WeekFigures[];
  total: Visits;
  /** Opening hours inside the year. */
  openingHours: OpeningHours;
  /** Opening hours per week, averaged over the year (what the forms ask for). */
  hoursPerWeek: OpeningHours;
}

export const zero = (): Visits => ({ staffed: 0, staffless: 0, closed: 0 });

export function addTo(target: Visits, mode: string, n: number): void {
  if (mode === 'staffed' || mode === 'staffless') target[mode] += n;
  else target.closed += n;
}

/**
 * Visits per local hour, door by door: a door with a people counter counts its passages in, any other door its
 * granted entries. A door "has a counter" for a report when it has passages rows in the report's window. The
 * branch's report (report.ts) and the fleet centre's (src/fleet/report.ts) both count by this.
 */
export function combineVisits(
  passages: readonly PassagesInHour[],
  grants: readonly GrantsInHour[],
): { doors: { door: string; source: VisitSource }[]; hours: Map<string, HourVisits> } {
  const counted = new Set(passages.map((p) => p.door));
  const hours = new Map<string, HourVisits>();
  const bucket = (day: string, hour: number) => {
    const key = `${day} ${String(hour).padStart(2, '0')}`;
    let b = hours.get(key);
    if (!b) {
      b = { day, hour, ...zero() };
      hours.set(key, b);
    }
    return b;
  };
  for (const p of passages) addTo(bucket(p.day, p.hour), p.mode, p.passagesIn);
  for (const g of grants) if (!counted.has(g.door)) addTo(bucket(g.day, g.hour), g.mode, g.count);
  const doors = [...new Set([...counted, ...grants.map((g) => g.door)])]
    .sort()
    .map((door) => ({ door, source: counted.has(door) ? ('passages' as const) : ('grants' as const) }));
  return { doors, hours };
}

/**
 * The year's report from its visits per local hour and its opening hours (hours outside the year are left
 * out).
 */
export function reportFromHours(
  year: number,
  timezone: string,
  openingHours: YearOpeningHours,
  visits: { doors: { door: string; source: VisitSource }[]; hours: Map<string, HourVisits> },
): AnnualReport {
  const { doors, hours } = visits;
  const first = dayNumber(`${year}-01-01`);
  const last = dayNumber(`${year}-12-31`);
  const days = new Map<string, DayVisits>();
  for (let n = first; n <= last; n++) days.set(dayFromNumber(n), { day: dayFromNumber(n), ...zero() });
  const total = zero();
  const sortedHours = [...hours.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, h]) => h);
  for (const h of sortedHours) {
    const d = days.get(h.day);
    if (!d) continue;
    d.staffed += h.staffed;
    d.staffless += h.staffless;
    d.closed += h.closed;
    total.staffed += h.staffed;
    total.staffless += h.staffless;
    total.closed += h.closed;
  }
  const hoursOfWeek = new Map(openingHours.weeks.map((w) => [w.week, w]));
  const weeks: WeekFigures[] = isoWeeksTouching(year).map((monday) => {
    const week = isoWeek(monday);
    const from = monday < `${year}-01-01` ? `${year}-01-01` : monday;
    const sunday = addDays(monday, 6);
    const to = sunday > `${year}-12-31` ? `${year}-12-31` : sunday;
    const visits = zero();
    for (let n = dayNumber(from); n <= dayNumber(to); n++) {
      const d = days.get(dayFromNumber(n))!;
      visits.staffed += d.staffed;
      visits.staffless += d.staffless;
      visits.closed += d.closed;
    }
    const h = hoursOfWeek.get(week);
    return { week, from, to, visits, hours: { staffed: h?.staffed ?? 0, staffless: h?.staffless ?? 0 } };
  });
  const daysInYear = last - first + 1;
  return {
    year,
    timezone,
    doors,
    hours: sortedHours.filter((h) => days.has(h.day)),
    days: [...days.values()],
    weeks,
    total,
    openingHours: { ...openingHours.year },
    hoursPerWeek: {
      staffed: (openingHours.year.staffed * 7) / daysInYear,
      staffless: (openingHours.year.staffless * 7) / daysInYear,
    },
  };
}

export type ReportFormat = 'no' | 'dk';

/** Years a report can be made for: the dashboard's statistics start in 2000, and no year after this one. */
export const FIRST_REPORT_YEAR = 2000;

/** The form of the site's country: Denmark's for DK, Norway's otherwise. */
export function defaultFormat(country: string): ReportFormat {
  return country.toUpperCase() === 'DK' ? 'dk' : 'no';
}

/**
 * Column names in the national forms' words. Norway (Nasjonalbiblioteket, folkebibliotek): visits in
 * staffed ("betjent") and staffless ("meråpen", unstaffed) opening hours, and opening hours per week. Denmark
 * (Danmarks Statistik): visitors, and opening hours per week with and without staff ("med og uden
 * betjening"). The exact field codes of the forms were not found: see docs/statistics.md.
 */
const COLUMNS: Record<ReportFormat, string[]> = {
  no: [
    'nivå',
    'periode',
    'fra',
    'til',
    'besøk i betjent åpningstid',
    'besøk i meråpen åpningstid',
    'besøk i alt',
    'betjent åpningstid (timer per uke)',
    'meråpen åpningstid (timer per uke)',
    'åpningstid i alt (timer per uke)',
    'passeringer utenfor åpningstid',
  ],
  dk: [
    'niveau',
    'periode',
    'fra',
    'til',
    'besøgende i åbningstid med betjening',
    'besøgende i åbningstid uden betjening',
    'besøgende i alt',
    'åbningstimer pr. uge med betjening',
    'åbningstimer pr. uge uden betjening',
    'åbningstimer pr. uge i alt',
    'passager uden for åbningstid',
  ],
};

const LEVELS: Record<ReportFormat, Record<'year' | 'week' | 'day' | 'hour', string>> = {
  no: { year: 'år', week: 'uke', day: 'dag', hour: 'time' },
  dk: { year: 'år', week: 'uge', day: 'dag', hour: 'time' },
};

/** Hours with one decimal; a dot, as every spreadsheet reads a CSV. */
const hoursCell = (h: number) => (Math.round(h * 10) / 10).toFixed(1);

export type ReportLevel = 'year' | 'week' | 'day' | 'hour';

/** The form's column names (the CSV's header). */
export const reportColumns = (format: ReportFormat): readonly string[] => COLUMNS[format];

/**
 * The report's rows as cells, in the form's columns: the year first (the figures the form asks for; hours per
 * week averaged over the year), then every ISO week (its own hours), day and hour with visits, each level
 * only when in `levels`.
 */
export function reportRows(
  report: AnnualReport,
  format: ReportFormat,
  levels: ReadonlySet<ReportLevel> = ALL_LEVELS,
): string[][] {
  const level = LEVELS[format];
  const rows: string[][] = [];
  const row = (
    kind: ReportLevel,
    period: string,
    from: string,
    to: string,
    v: Visits,
    hours?: OpeningHours,
  ) => {
    if (!levels.has(kind)) return;
    rows.push([
      level[kind],
      period,
      from,
      to,
      String(v.staffed),
      String(v.staffless),
      String(v.staffed + v.staffless),
      hours ? hoursCell(hours.staffed) : '',
      hours ? hoursCell(hours.staffless) : '',
      hours ? hoursCell(hours.staffed + hours.staffless) : '',
      String(v.closed),
    ]);
  };
  const y = report.year;
  row('year', String(y), `${y}-01-01`, `${y}-12-31`, report.total, report.hoursPerWeek);
  for (const w of report.weeks) row('week', w.week, w.from, w.to, w.visits, w.hours);
  for (const d of report.days) row('day', d.day, d.day, d.day, d);
  for (const h of report.hours) {
    const hh = String(h.hour).padStart(2, '0');
    row('hour', `${h.day} ${hh}:00`, h.day, h.day, h);
  }
  return rows;
}

const ALL_LEVELS: ReadonlySet<ReportLevel> = new Set(['year', 'week', 'day', 'hour']);

/** One CSV line (RFC 4180, CRLF). */
export const csvLine = (cells: readonly string[]): string => `${cells.map((c) => csvCell(c)).join(',')}\r\n`;

/** The report as CSV (RFC 4180, CRLF, header line), every level. */
export function annualReportCsv(report: AnnualReport, format: ReportFormat): string {
  return [reportColumns(format), ...reportRows(report, format)].map(csvLine).join('');
}
