import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { passagesByHour } from '../../occupancy/stats.ts';
import { statsCsv, statsOverview, type StatsQuery, streamStatsCsv } from '../../stats/queries.ts';
import { barChart, type Series } from '../charts.ts';
import { html } from '../html.ts';
import { layout, type PageContext } from '../layout.ts';
import { ctxOf, field, get, type RouteEnv, sendHtml } from '../routing.ts';
import { localDate } from '../time.ts';
import { reasonCell } from '../words.ts';
import { registerStatsReportRoutes, statsReportSection } from './stats-report.ts';

const DAY = 86_400_000;
/** Longest statistics window a request may ask for: three years. */
export const MAX_WINDOW_DAYS = 3 * 366;
/** The CSV has a row per hour and kind: a year (the national reporting unit) at most, so one file stays a few MB. */
export const MAX_CSV_DAYS = 366;
const FIRST_YEAR = 2000;

const dayKey = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** A calendar date that exists (no 2026-02-31), from FIRST_YEAR on. */
const isRealDate = (s: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) &&
  Number(s.slice(0, 4)) >= FIRST_YEAR &&
  dayKey(Date.parse(`${s}T00:00:00Z`)) === s;
const GRANTED = '#1a7f37';
const DENIED = '#b42318';
const PASSAGES_OUT = '#1f5fa8';

/** The window from the query (local dates, `to` inclusive), by default the last 30 days. */
function windowOf(
  env: RouteEnv,
  req: FastifyRequest,
  maxDays = MAX_WINDOW_DAYS,
): { from: string; to: string; door: string; query: StatsQuery } {
  const tz = env.deps.config.site.timezone;
  const today = localDate(Date.now(), tz);
  let from = field(req.query, 'from', 10);
  let to = field(req.query, 'to', 10);
  if (!isRealDate(to) || to > today) to = today;
  if (!isRealDate(from) || from > to) from = dayKey(Date.parse(to) - 29 * DAY);
  // A window of centuries scans every summary row of every day: the page must stay cheap whatever is asked.
  const earliest = dayKey(Date.parse(to) - (maxDays - 1) * DAY);
  if (from < earliest) from = earliest;
  const door = field(req.query, 'door', 32);
  const knownDoor = env.deps.config.doors.some((d) => d.id === door) ? door : '';
  const exclusiveTo = dayKey(Date.parse(to) + DAY);
  return {
    from,
    to,
    door: knownDoor,
    query: { from, to: exclusiveTo, timezone: tz, door: knownDoor || undefined },
  };
}

function splitSeries(ctx: PageContext, rows: { granted: number; denied: number }[]): Series[] {
  return [
    { name: ctx.t('outcome.granted'), values: rows.map((r) => r.granted), colour: GRANTED },
    { name: ctx.t('outcome.denied'), values: rows.map((r) => r.denied), colour: DENIED },
  ];
}

/** Passages in and out per hour of day, where a people counter exists (src/occupancy). */
function passagesSection(env: RouteEnv, ctx: PageContext, w: ReturnType<typeof windowOf>) {
  if (!env.deps.config.occupancy?.enabled) return '';
  const { t } = ctx;
  const hours = passagesByHour(env.deps.db, w.from, w.query.to as string, w.door || undefined);
  const tailgating = hours.reduce((sum, h) => sum + h.tailgating, 0);
  return html`${barChart({
    id: 'chart-passages',
    title: t('stats.passages_by_hour'),
    labels: hours.map((h) => String(h.hour).padStart(2, '0')),
    series: [
      { name: t('stats.passages_in'), values: hours.map((h) => h.passagesIn), colour: GRANTED },
      { name: t('stats.passages_out'), values: hours.map((h) => h.passagesOut), colour: PASSAGES_OUT },
    ],
  })}
<p id="tailgating-count">${t('stats.tailgating')}: <strong>${tailgating}</strong></p>`;
}

export function registerStatsRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  registerStatsReportRoutes(app, env);

  get(app, 'staff', '/stats', async (req, reply) => {
    const ctx = ctxOf(env, req, '/stats');
    const { t } = ctx;
    const w = windowOf(env, req);
    const o = statsOverview(deps.db, w.query);
    const modes = (['staffed', 'staffless', 'closed'] as const).map((m) => ({
      label: t(`mode.${m}`),
      ...o.modes[m],
    }));
    const csvQuery = new URLSearchParams({ from: w.from, to: w.to, ...(w.door ? { door: w.door } : {}) });
    const body = html`<p class="muted">${t('stats.anonymous')}</p>
<form method="get" action="/stats">
<label>${t('common.from')} <input type="date" name="from" value="${w.from}"></label>
<label>${t('common.to')} <input type="date" name="to" value="${w.to}"></label>
<label>${t('common.door')} <select name="door"><option value="">${t('common.all_doors')}</option>${deps.config.doors.map(
      (d) =>
        html`<option value="${d.id}"${d.id === w.door ? html` selected` : ''}>${d.name ?? d.id}</option>`,
    )}</select></label>
<button type="submit">${t('common.show')}</button>
<a href="/stats.csv?${csvQuery.toString()}" id="csv-link" download>${t('stats.csv')}</a></form>
${barChart({ id: 'chart-hour', title: t('stats.by_hour'), labels: o.byHour.map((b) => String(b.hour).padStart(2, '0')), series: splitSeries(ctx, o.byHour) })}
${barChart({ id: 'chart-day', title: t('stats.by_day'), labels: o.byDay.map((b) => b.day.slice(5)), series: splitSeries(ctx, o.byDay) })}
${barChart({ id: 'chart-week', title: t('stats.by_week'), labels: o.byWeek.map((b) => b.week.slice(5)), series: splitSeries(ctx, o.byWeek) })}
${barChart({ id: 'chart-mode', title: t('stats.staffed_vs'), labels: modes.map((m) => m.label), series: splitSeries(ctx, modes) })}
${passagesSection(env, ctx, w)}
<h2>${t('stats.outcomes')}</h2>
<div class="table-scroll" role="region" aria-label="${t('stats.outcomes')}" tabindex="0"><table id="outcomes"><thead><tr><th>${t('entries.outcome')}</th><th>${t('entries.reason')}</th><th></th></tr></thead>
<tbody>${o.outcomes.map((r) => html`<tr class="${r.outcome}"><td>${t(`outcome.${r.outcome}`)}</td><td>${reasonCell(r.reason, ctx.lang)}</td><td>${r.count}</td></tr>`)}</tbody></table></div>
${await statsReportSection(ctx, env, req)}`;
    return sendHtml(reply, layout(ctx, t('stats.title'), body));
  });

  get(app, 'staff', '/api/stats', async (req) => {
    const w = windowOf(env, req);
    const passages = deps.config.occupancy?.enabled
      ? { passages: passagesByHour(deps.db, w.from, w.query.to as string, w.door || undefined) }
      : {};
    return { from: w.from, to: w.to, door: w.door || null, ...statsOverview(deps.db, w.query), ...passages };
  });

  get(app, 'staff', '/stats.csv', async (req, reply) => {
    const w = windowOf(env, req, MAX_CSV_DAYS);
    const name = `dorvakt-stats-${w.from}-${w.to}${w.door ? `-${w.door}` : ''}.csv`;
    return (
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        // Streamed from a file store: a year of rows never sits in memory at once, nor holds up other pages.
        .send(
          deps.db.memory ? statsCsv(deps.db, w.query) : Readable.from(streamStatsCsv(deps.db.name, w.query)),
        )
    );
  });
}
