/**
 * The national statistics report at the fleet centre (docs/statistics.md, docs/fleet.md): the same report a
 * branch makes of itself (src/stats/report-form.ts), per branch and for the municipality, from the figures
 * the centre holds. Visits are counted by the branch's own rule (combineVisits): a door with people-counter
 * passages in the year by its passages in, any other door by its granted entries, by the door's mode; opening
 * hours are the days the branches sent (centre_opening), summed over the branches for the municipality. A
 * branch's grants are read a month at a time and its passages a year at a time, with a pause between, so a
 * report of many branches never holds the centre's event loop for long.
 */
import { writeFileSync } from 'node:fs';
import { parseCommandFlags } from '../cli/command-args.ts';
import type { OpeningHours, YearOpeningHours } from '../stats/opening-hours.ts';
import { isoWeeksTouching } from '../stats/opening-hours.ts';
import type { GrantsInHour, PassagesInHour } from '../stats/queries.ts';
import {
  type AnnualReport,
  combineVisits,
  csvLine,
  FIRST_REPORT_YEAR,
  type HourVisits,
  type ReportFormat,
  type ReportLevel,
  reportColumns,
  reportFromHours,
  reportRows,
} from '../stats/report-form.ts';
import { isoWeek } from '../stats/tz.ts';
import type { Db } from '../store/db.ts';
import { addDays } from '../time/zone.ts';

export interface SiteReport {
  site: string;
  report: AnnualReport;
}

export interface FleetReport {
  year: number;
  sites: SiteReport[];
  /** The municipality: every branch's visits and opening hours added up. */
  total: AnnualReport;
}

/** Granted entries of one site's month (1-12) of `year`, per hour, door and mode, added to `grants`. */
function addGrantsOfMonth(db: Db, site: string, year: number, month: number, grants: GrantsInHour[]): void {
  const mm = String(month).padStart(2, '0');
  const rows = db
    .prepare(
      `SELECT day, hour, door, mode, SUM(count) AS count FROM centre_figures
       WHERE site = ? AND day >= ? AND day <= ? AND outcome = 'granted'
       GROUP BY day, hour, door, mode`,
    )
    .all(site, `${year}-${mm}-01`, `${year}-${mm}-31`) as GrantsInHour[];
  for (const r of rows) grants.push(r);
}

/** People-counter passages in of one site's `year`, per hour, door and mode. */
function passagesOfYear(db: Db, site: string, year: number): PassagesInHour[] {
  return db
    .prepare(
      `SELECT day, hour, door, mode, SUM(passages_in) AS passagesIn FROM centre_passages
       WHERE site = ? AND day >= ? AND day <= ? GROUP BY day, hour, door, mode`,
    )
    .all(site, `${year}-01-01`, `${year}-12-31`) as PassagesInHour[];
}

/** Opening hours of every ISO week touching `year` (whole weeks) and of the year itself, from the days sent. */
function openingOfSite(db: Db, site: string, year: number): YearOpeningHours {
  const mondays = isoWeeksTouching(year);
  const days = db
    .prepare(
      'SELECT day, staffed, staffless FROM centre_opening WHERE site = ? AND day >= ? AND day <= ? ORDER BY day',
    )
    .all(site, mondays[0]!, addDays(mondays.at(-1)!, 6)) as {
    day: string;
    staffed: number;
    staffless: number;
  }[];
  const byWeek = new Map<string, OpeningHours>();
  const inYear: OpeningHours = { staffed: 0, staffless: 0 };
  for (const d of days) {
    const week = isoWeek(d.day);
    const w = byWeek.get(week) ?? { staffed: 0, staffless: 0 };
    w.staffed += d.staffed;
    w.staffless += d.staffless;
    byWeek.set(week, w);
    if (d.day.startsWith(`${year}-`)) {
      inYear.staffed += d.staffed;
      inYear.staffless += d.staffless;
    }
  }
  return {
    weeks: mondays.map((monday) => {
      const week = isoWeek(monday);
      return {
        week,
        monday,
        staffed: byWeek.get(week)?.staffed ?? 0,
        staffless: byWeek.get(week)?.staffless ?? 0,
      };
    }),
    year: inYear,
  };
}

/** The report of every listed branch and their total; `pause` runs between each branch's months. */
export async function fleetAnnualReport(
  db: Db,
  sites: readonly string[],
  year: number,
  timezone: string,
  pause: () => Promise<void> = () => new Promise((r) => setImmediate(r)),
): Promise<FleetReport> {
  const allHours = new Map<string, HourVisits>();
  const allOpening: YearOpeningHours = {
    weeks: isoWeeksTouching(year).map((monday) => ({
      week: isoWeek(monday),
      monday,
      staffed: 0,
      staffless: 0,
    })),
    year: { staffed: 0, staffless: 0 },
  };
  const out: SiteReport[] = [];
  for (const site of sites) {
    const grants: GrantsInHour[] = [];
    for (let month = 1; month <= 12; month++) {
      await pause();
      addGrantsOfMonth(db, site, year, month, grants);
    }
    await pause();
    const passages = passagesOfYear(db, site, year);
    const visits = combineVisits(passages, grants);
    const { hours } = visits;
    await pause();
    const opening = openingOfSite(db, site, year);
    out.push({ site, report: reportFromHours(year, timezone, opening, visits) });
    for (const [key, h] of hours) {
      const t = allHours.get(key) ?? { day: h.day, hour: h.hour, staffed: 0, staffless: 0, closed: 0 };
      t.staffed += h.staffed;
      t.staffless += h.staffless;
      t.closed += h.closed;
      allHours.set(key, t);
    }
    opening.weeks.forEach((w, i) => {
      allOpening.weeks[i]!.staffed += w.staffed;
      allOpening.weeks[i]!.staffless += w.staffless;
    });
    allOpening.year.staffed += opening.year.staffed;
    allOpening.year.staffless += opening.year.staffless;
  }
  return {
    year,
    sites: out,
    total: reportFromHours(year, timezone, allOpening, { doors: [], hours: allHours }),
  };
}

const SITE_COLUMN: Record<ReportFormat, string> = { no: 'filial', dk: 'filial' };
const TOTAL: Record<ReportFormat, string> = { no: 'kommunen i alt', dk: 'kommunen i alt' };

/** Levels in the fleet's CSV: the hour rows of every branch would make it far too long. */
export const FLEET_LEVELS: ReadonlySet<ReportLevel> = new Set(['year', 'week', 'day']);

/**
 * The CSV (RFC 4180, CRLF, header line): the form's columns after a branch column; each branch's rows (year,
 * weeks, days), then the municipality's.
 */
export function* fleetReportCsv(report: FleetReport, format: ReportFormat): Generator<string> {
  yield csvLine([SITE_COLUMN[format], ...reportColumns(format)]);
  for (const { site, report: r } of report.sites)
    for (const cells of reportRows(r, format, FLEET_LEVELS)) yield csvLine([site, ...cells]);
  for (const cells of reportRows(report.total, format, FLEET_LEVELS))
    yield csvLine([TOTAL[format], ...cells]);
}

/** A year the report can be made for: from FIRST_REPORT_YEAR to this year. */
export function reportYear(text: string | undefined, thisYear: number): number | undefined {
  if (!/^\d{4}$/.test(text ?? '')) return undefined;
  const year = Number(text);
  return year >= FIRST_REPORT_YEAR && year <= thisYear ? year : undefined;
}

/** The centre has no country setting: its language says which form (Danish → Danmarks Statistik). */
export const fleetDefaultFormat = (language: string): ReportFormat => (language === 'da' ? 'dk' : 'no');

export const FLEET_REPORT_USAGE = `usage:
  dorvakt fleet report --year YYYY [--format no|dk] [--site ID] [--out FILE] --config FILE
      writes the national statistics of every branch (or one) and of the municipality as CSV
      (no: Nasjonalbiblioteket, dk: Danmarks Statistik; default: by the centre's language)
`;

export interface FleetReportCommandDeps {
  db: Db;
  sites: readonly string[];
  timezone: string;
  language: string;
  thisYear: number;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
  writeFile?: (path: string, data: string) => void;
}

/** `dorvakt fleet report …`; returns the exit code (0 done, 1 failed, 2 usage). */
export async function runFleetReportCommand(argv: string[], deps: FleetReportCommandDeps): Promise<number> {
  const parsed = parseCommandFlags<{ year?: string; out?: string; format?: string; site?: string }>(
    argv,
    {
      year: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      site: { type: 'string' },
    },
    FLEET_REPORT_USAGE,
    deps,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const year = reportYear(values.year, deps.thisYear);
  if (year === undefined) {
    deps.err.write(`--year must be a year from ${FIRST_REPORT_YEAR} to ${deps.thisYear}\n`);
    return 2;
  }
  const format = (values.format ?? fleetDefaultFormat(deps.language)) as ReportFormat;
  if (format !== 'no' && format !== 'dk') {
    deps.err.write('--format must be no or dk\n');
    return 2;
  }
  const sites = values.site === undefined ? deps.sites : deps.sites.filter((s) => s === values.site);
  if (sites.length === 0) {
    deps.err.write(`no site "${values.site}" in the config\n`);
    return 2;
  }
  try {
    const report = await fleetAnnualReport(deps.db, sites, year, deps.timezone);
    const csv = [...fleetReportCsv(report, format)].join('');
    if (values.out) (deps.writeFile ?? writeFileSync)(values.out, csv);
    else deps.out.write(csv);
    return 0;
  } catch (error) {
    deps.err.write(`report failed: ${(error as Error).message}\n`);
    return 1;
  }
}
