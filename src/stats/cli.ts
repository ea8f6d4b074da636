import { writeFileSync } from 'node:fs';
import { parseCommandFlags } from '../cli/command-args.ts';
import type { ScheduleConfig } from '../schedule/config.ts';
import type { compilePlans } from '../schedule/compiler.ts';
import type { SiteSettings } from '../schedule/day-plan.ts';
import type { Db } from '../store/db.ts';
import { computeOpeningHoursOfYear } from './opening-hours.ts';
import {
  annualReport,
  annualReportCsv,
  defaultFormat,
  FIRST_REPORT_YEAR,
  type ReportFormat,
} from './report.ts';

export const STATS_USAGE = `usage:
  dorvakt stats report --year YYYY [--out FILE] [--format no|dk] [--door ID] --config FILE
      writes the year's visits (staffed / staffless) and opening hours per week as CSV, in the words of the
      national library statistics (no: Nasjonalbiblioteket, dk: Danmarks Statistik); default: site.country
`;

export interface StatsCommandDeps {
  db: Db;
  doors: readonly { id: string; schedule: ScheduleConfig }[];
  site: SiteSettings;
  /** Current year in the site's time zone (the last year a report can be made for). */
  thisYear: number;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
  writeFile?: (path: string, data: string) => void;
  compile?: typeof compilePlans;
}

/** `dorvakt stats …`; returns the exit code (0 done, 1 failed, 2 usage). */
export async function runStatsCommand(argv: string[], deps: StatsCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'report') {
    deps.err.write(STATS_USAGE);
    return 2;
  }
  const parsed = parseCommandFlags<{ year?: string; out?: string; format?: string; door?: string }>(
    rest,
    {
      year: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      door: { type: 'string' },
    },
    STATS_USAGE,
    deps,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const year = Number(values.year);
  if (!/^\d{4}$/.test(values.year ?? '') || year < FIRST_REPORT_YEAR || year > deps.thisYear) {
    deps.err.write(`--year must be a year from ${FIRST_REPORT_YEAR} to ${deps.thisYear}\n`);
    return 2;
  }
  const format = (values.format ?? defaultFormat(deps.site.country)) as ReportFormat;
  if (format !== 'no' && format !== 'dk') {
    deps.err.write('--format must be no or dk\n');
    return 2;
  }
  const doors = values.door === undefined ? deps.doors : deps.doors.filter((d) => d.id === values.door);
  if (doors.length === 0) {
    deps.err.write(`no door "${values.door}" in the config\n`);
    return 2;
  }
  try {
    const hours = await computeOpeningHoursOfYear(doors, deps.site, year, deps.compile);
    const csv = annualReportCsv(annualReport(deps.db, year, deps.site.timezone, hours, values.door), format);
    if (values.out) {
      (deps.writeFile ?? ((path, data) => writeFileSync(path, data, { mode: 0o640 })))(values.out, csv);
      deps.err.write(`wrote ${values.out}\n`);
    } else {
      deps.out.write(csv);
    }
    return 0;
  } catch (error) {
    deps.err.write(`stats report failed: ${(error as Error).message}\n`);
    return 1;
  }
}
