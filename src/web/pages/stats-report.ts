import type { FastifyInstance, FastifyRequest } from 'fastify';
import { computeOpeningHoursOfYear, type YearOpeningHours } from '../../stats/opening-hours.ts';
import {
  type AnnualReport,
  annualReportCsv,
  annualReportInSteps,
  defaultFormat,
  FIRST_REPORT_YEAR,
  type ReportFormat,
} from '../../stats/report.ts';
import { html, type HtmlValue } from '../html.ts';
import type { PageContext } from '../layout.ts';
import { field, get, type RouteEnv, type WebDeps } from '../routing.ts';
import { localDate } from '../time.ts';

/**
 * The statistics page's section with the figures of the national forms, and their CSV. Runs in the worker
 * process with the rest of the dashboard; the opening hours come from the schedule compiler's child process
 * (the calendar libraries never load here) and are kept per year: they depend only on the config.
 */

const openingHoursCache = new WeakMap<WebDeps, Map<number, Promise<YearOpeningHours>>>();

function openingHours(deps: WebDeps, year: number): Promise<YearOpeningHours> {
  let byYear = openingHoursCache.get(deps);
  if (!byYear) {
    byYear = new Map();
    openingHoursCache.set(deps, byYear);
  }
  let found = byYear.get(year);
  if (!found) {
    const { site, doors } = deps.config;
    found = computeOpeningHoursOfYear(
      doors,
      { timezone: site.timezone, country: site.country, region: site.region },
      year,
    );
    // A failure is not kept: the next request tries again.
    found.catch(() => byYear.delete(year));
    byYear.set(year, found);
  }
  return found;
}

function thisYear(deps: WebDeps): number {
  return Number(localDate(Date.now(), deps.config.site.timezone).slice(0, 4));
}

/** The year asked for, within the years a report can be made for; undefined when none was asked. */
export function reportYear(deps: WebDeps, req: FastifyRequest): number | undefined {
  const asked = field(req.query, 'year', 4);
  if (asked === '') return undefined;
  const last = thisYear(deps);
  const year = /^\d{4}$/.test(asked) ? Number(asked) : last;
  return Math.min(Math.max(year, FIRST_REPORT_YEAR), last);
}

const NO_HOURS: YearOpeningHours = { weeks: [], year: { staffed: 0, staffless: 0 } };

/** The report, with opening hours when the schedule compiler answers (the visits alone otherwise). */
async function reportOf(deps: WebDeps, year: number): Promise<{ report: AnnualReport; hoursOk: boolean }> {
  let hours: YearOpeningHours;
  let hoursOk = true;
  try {
    hours = await openingHours(deps, year);
  } catch (error) {
    deps.log.warn({ err: (error as Error).message, year }, 'opening hours for the statistics report failed');
    hours = NO_HOURS;
    hoursOk = false;
  }
  const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
  const report = await annualReportInSteps(deps.db, year, deps.config.site.timezone, hours, pause);
  return { report, hoursOk };
}

const one = (h: number) => (Math.round(h * 10) / 10).toFixed(1);

/** The section of /stats; figures only for a year asked for (they take a child process the first time). */
export async function statsReportSection(
  ctx: PageContext,
  env: RouteEnv,
  req: FastifyRequest,
): Promise<HtmlValue> {
  const { deps } = env;
  const { t } = ctx;
  const last = thisYear(deps);
  const year = reportYear(deps, req);
  const shown = year ?? last;
  const years: number[] = [];
  for (let y = last; y >= FIRST_REPORT_YEAR; y--) years.push(y);
  const csv = (format: ReportFormat) => `/stats/report.csv?year=${shown}&format=${format}`;
  const head = html`<h2 id="report">${t('report.title')}</h2>
<p class="muted">${t('report.intro')}</p>
<form method="get" action="/stats#report">
<label>${t('report.year')} <select name="year">${years.map((y) => html`<option value="${y}"${y === shown ? html` selected` : ''}>${y}</option>`)}</select></label>
<button type="submit">${t('common.show')}</button>
<a href="${csv('no')}" id="report-csv-no" download>${t('report.csv_no')}</a>
<a href="${csv('dk')}" id="report-csv-dk" download>${t('report.csv_dk')}</a></form>`;
  if (year === undefined) return html`${head}<p>${t('report.pick')}</p>`;
  const { report, hoursOk } = await reportOf(deps, year);
  const r = report;
  const sources = r.doors.length
    ? html`<p id="report-sources">${t('report.source')}: ${r.doors.map(
        (d, i) => html`${i ? ', ' : ''}${d.door} (${t(`report.source.${d.source}`)})`,
      )}</p>`
    : html`<p id="report-sources">${t('report.no_doors')}</p>`;
  return html`${head}
${hoursOk ? '' : html`<p class="error" role="alert">${t('report.hours_failed')}</p>`}
<div class="table-scroll" role="region" aria-label="${t('report.title')} ${r.year}" tabindex="0"><table id="report-year"><tbody>
<tr><th scope="row">${t('report.visits_staffed')}</th><td>${r.total.staffed}</td></tr>
<tr><th scope="row">${t('report.visits_staffless')}</th><td>${r.total.staffless}</td></tr>
<tr><th scope="row">${t('report.visits_total')}</th><td>${r.total.staffed + r.total.staffless}</td></tr>
<tr><th scope="row">${t('report.visits_closed')}</th><td>${r.total.closed}</td></tr>
<tr><th scope="row">${t('report.hours_staffed')} (${t('report.average')})</th><td>${one(r.hoursPerWeek.staffed)}</td></tr>
<tr><th scope="row">${t('report.hours_staffless')} (${t('report.average')})</th><td>${one(r.hoursPerWeek.staffless)}</td></tr>
</tbody></table></div>
${sources}
<div class="table-scroll" role="region" aria-label="${t('report.week')}" tabindex="0"><table id="report-weeks"><thead><tr><th>${t('report.week')}</th><th>${t('report.days')}</th><th>${t('report.visits_staffed')}</th><th>${t('report.visits_staffless')}</th><th>${t('report.hours_staffed')}</th><th>${t('report.hours_staffless')}</th></tr></thead>
<tbody>${r.weeks.map((w) => html`<tr><td>${w.week}</td><td>${w.from} – ${w.to}</td><td>${w.visits.staffed}</td><td>${w.visits.staffless}</td><td>${hoursOk ? one(w.hours.staffed) : ''}</td><td>${hoursOk ? one(w.hours.staffless) : ''}</td></tr>`)}</tbody></table></div>`;
}

export function registerStatsReportRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;

  get(app, 'staff', '/api/stats/report', async (req) => {
    const year = reportYear(deps, req) ?? thisYear(deps);
    const { report, hoursOk } = await reportOf(deps, year);
    return { ...report, hoursComplete: hoursOk };
  });

  get(app, 'staff', '/stats/report.csv', async (req, reply) => {
    const year = reportYear(deps, req) ?? thisYear(deps);
    const asked = field(req.query, 'format', 2);
    const format: ReportFormat =
      asked === 'no' || asked === 'dk' ? asked : defaultFormat(deps.config.site.country);
    const { report, hoursOk } = await reportOf(deps, year);
    if (!hoursOk) {
      // A form filled in with zero opening hours would be wrong, not just incomplete.
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('opening hours could not be computed; try again');
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="dorvakt-report-${year}-${format}.csv"`)
      .header('cache-control', 'no-store')
      .send(annualReportCsv(report, format));
  });
}
