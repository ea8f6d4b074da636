import type { Db } from '../store/db.ts';
import type { YearOpeningHours } from './opening-hours.ts';
import { type GrantsInHour, grantsByLocalHour, passagesByLocalHour, type StatsQuery } from './queries.ts';
import {
  type AnnualReport,
  combineVisits,
  type HourVisits,
  reportFromHours,
  type VisitSource,
} from './report-form.ts';

export {
  type AnnualReport,
  annualReportCsv,
  type DayVisits,
  defaultFormat,
  FIRST_REPORT_YEAR,
  type HourVisits,
  type ReportFormat,
  type Visits,
  type VisitSource,
  type WeekFigures,
} from './report-form.ts';

/**
 * Statistics as libraries report them nationally: visits in staffed and in staffless hours (by the door's
 * mode at the time), and staffed / staffless opening hours per week; the rule for which door counts what is
 * combineVisits (report-form.ts, also the fleet centre's).
 */

/** Visits per local hour in a window (a door "has a counter" when it has passages rows in the window). */
export function visitsOfWindow(
  db: Db,
  q: StatsQuery,
): { doors: { door: string; source: VisitSource }[]; hours: Map<string, HourVisits> } {
  return combineVisits(passagesByLocalHour(db, q), grantsByLocalHour(db, q));
}

const yearQuery = (year: number, timezone: string, door?: string): StatsQuery => ({
  from: `${year}-01-01`,
  to: `${year + 1}-01-01`,
  timezone,
  door,
});

/** The year's report; `openingHours` from opening-hours.ts (computed apart: it needs the schedule compiler). */
export function annualReport(
  db: Db,
  year: number,
  timezone: string,
  openingHours: YearOpeningHours,
  door?: string,
): AnnualReport {
  return reportFromHours(year, timezone, openingHours, visitsOfWindow(db, yearQuery(year, timezone, door)));
}

/**
 * The same, reading the granted entries a month at a time and calling `pause` between months, so a process
 * that serves others meanwhile (the dashboard's worker) is never held for the whole year's rows at once.
 */
export async function annualReportInSteps(
  db: Db,
  year: number,
  timezone: string,
  openingHours: YearOpeningHours,
  pause: () => Promise<void>,
  door?: string,
): Promise<AnnualReport> {
  const passages = passagesByLocalHour(db, yearQuery(year, timezone, door));
  const grants: GrantsInHour[] = [];
  for (let month = 1; month <= 12; month++) {
    await pause();
    const from = `${year}-${String(month).padStart(2, '0')}-01`;
    const to = month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`;
    grants.push(...grantsByLocalHour(db, { from, to, timezone, door }));
  }
  return reportFromHours(year, timezone, openingHours, combineVisits(passages, grants));
}
