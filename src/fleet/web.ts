/**
 * The fleet centre's dashboard: every branch's doors, alarms, retention health and last contact; statistics
 * across branches and per branch with a CSV. Server-rendered like src/web/pages, on the same login,
 * sessions and CSRF guard (src/web/auth-app.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { audit } from '../audit/audit.ts';
import type { FleetHealth } from '../contract/fleet.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import { localDate } from '../time/zone.ts';
import { createAuthedApp, isLoopback, webListenOptions } from '../web/auth-app.ts';
import { type Html, html, type HtmlValue } from '../web/html.ts';
import { translator } from '../web/i18n.ts';
import { field, get, post, sendHtml, sessionOf } from '../web/routing.ts';
import type { Session } from '../web/sessions.ts';
import { formatDateTime } from '../web/time.ts';
import type { FleetCentreConfig } from './central-config.ts';
import type { CentreChange, FleetCentre } from './centre.ts';
import { type FleetWord, fleetWords } from './words.ts';
import { csvCell } from '../stats/csv-cell.ts';
import { Readable } from 'node:stream';
import type { ReportFormat } from '../stats/report-form.ts';
import { FIRST_REPORT_YEAR } from '../stats/report-form.ts';
import {
  type FleetReport,
  fleetAnnualReport,
  fleetDefaultFormat,
  fleetReportCsv,
  reportYear,
} from './report.ts';

export interface FleetWebDeps {
  config: FleetCentreConfig;
  db: Db;
  centre: FleetCentre;
  log: Logger;
  nowMs?: () => number;
}

interface View {
  session: Session;
  w: (key: FleetWord) => string;
  fmt: (ms: number | null) => string;
}

const NAV: { path: string; key: FleetWord }[] = [
  { path: '/sites', key: 'fleet.nav.sites' },
  { path: '/alarms', key: 'fleet.nav.alarms' },
  { path: '/stats', key: 'fleet.nav.stats' },
  { path: '/report', key: 'fleet.nav.report' },
];

/** A report made this recently is served again: one is read branch by branch, which takes a while. */
const REPORT_FRESH_MS = 60_000;

/**
 * One report per year at a time: requests meanwhile share it, and it is kept for REPORT_FRESH_MS. It reads a
 * branch at a time with a turn of the event loop between, so the MQTT side keeps going.
 */
function reportCache(deps: FleetWebDeps): (year: number) => Promise<FleetReport> {
  const cache = new Map<number, { at: number; report: Promise<FleetReport> }>();
  const now = deps.nowMs ?? Date.now;
  return (year) => {
    const hit = cache.get(year);
    if (hit && now() - hit.at < REPORT_FRESH_MS) return hit.report;
    const report = fleetAnnualReport(
      deps.db,
      deps.config.sites.map((s) => s.id),
      year,
      deps.config.timezone,
    );
    cache.set(year, { at: now(), report });
    report.catch(() => cache.delete(year));
    return report;
  };
}

function thisYear(deps: FleetWebDeps): number {
  return Number(localDate(new Date((deps.nowMs ?? Date.now)()), deps.config.timezone).slice(0, 4));
}

function reportParams(
  req: FastifyRequest,
  deps: FleetWebDeps,
): { year: number; format: ReportFormat } | undefined {
  const yearText = field(req.query, 'year', 4) || String(thisYear(deps));
  const year = reportYear(yearText, thisYear(deps));
  const format = field(req.query, 'format', 2) || fleetDefaultFormat(deps.config.language);
  if (year === undefined || (format !== 'no' && format !== 'dk')) return undefined;
  return { year, format };
}

const hoursText = (h: number) => (Math.round(h * 10) / 10).toFixed(1);

function reportBody(v: View, deps: FleetWebDeps, report: FleetReport, format: ReportFormat): Html {
  const names = new Map(deps.config.sites.map((s) => [s.id, s.name || s.id]));
  const years: number[] = [];
  for (let y = thisYear(deps); y >= FIRST_REPORT_YEAR; y--) years.push(y);
  const line = (label: string, r: FleetReport['total'], total = false) =>
    html`<tr${total ? html` class="total"` : ''}><th scope="row">${label}</th><td class="num">${r.total.staffed}</td><td class="num">${r.total.staffless}</td>
<td class="num">${r.total.staffed + r.total.staffless}</td><td class="num">${hoursText(r.hoursPerWeek.staffed)}</td><td class="num">${hoursText(r.hoursPerWeek.staffless)}</td></tr>`;
  return html`<form method="get" action="/report" class="inline">
<label>${v.w('fleet.report.year')} <select name="year">${years.map((y) => html`<option value="${y}"${y === report.year ? html` selected` : ''}>${y}</option>`)}</select></label>
<label>${v.w('fleet.report.format')} <select name="format">${(['no', 'dk'] as const).map((f) => html`<option value="${f}"${f === format ? html` selected` : ''}>${v.w(f === 'no' ? 'fleet.report.form_no' : 'fleet.report.form_dk')}</option>`)}</select></label>
<button type="submit">${v.w('fleet.show')}</button></form>
<p><a href="/report.csv?${new URLSearchParams({ year: String(report.year), format }).toString()}" download>${v.w('fleet.csv')}</a></p>
<p class="muted">${v.w('fleet.report.note')}</p>
<table><thead><tr><th>${v.w('fleet.site')}</th><th>${v.w('fleet.report.visits_staffed')}</th><th>${v.w('fleet.report.visits_staffless')}</th>
<th>${v.w('fleet.report.visits_total')}</th><th>${v.w('fleet.report.hours_staffed')}</th><th>${v.w('fleet.report.hours_staffless')}</th></tr></thead>
<tbody>${report.sites.map((s) => line(names.get(s.site) ?? s.site, s.report))}${line(v.w('fleet.report.municipality'), report.total, true)}</tbody></table>`;
}

function viewOf(req: FastifyRequest, config: FleetCentreConfig): View {
  const session = sessionOf(req);
  const lang = session.user.language;
  return {
    session,
    w: fleetWords(lang),
    fmt: (ms) => (ms === null ? fleetWords(lang)('fleet.never') : formatDateTime(ms, lang, config.timezone)),
  };
}

function page(
  v: View,
  config: FleetCentreConfig,
  path: string,
  title: string,
  body: HtmlValue,
  refresh = false,
): string {
  const csrf = html`<input type="hidden" name="_csrf" value="${v.session.csrfToken}">`;
  return `<!doctype html>${html`<html lang="${v.session.user.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh ? html`<meta http-equiv="refresh" content="30">` : ''}
<title>${title} · ${config.name}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header>
<strong class="brand">${config.name}</strong>
<div class="me">${v.session.user.name}
<form method="post" action="/logout" class="inline">${csrf}<button type="submit">${v.w('fleet.logout')}</button></form>
</div>
<nav><ul>${NAV.map((n) => html`<li><a href="${n.path}"${n.path === path ? html` aria-current="page"` : ''}>${v.w(n.key)}</a></li>`)}</ul></nav>
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`}`;
}

interface SiteRow {
  site: string;
  last_contact_at: number | null;
  status: string | null;
  bridge_up: number | null;
  health: string | null;
}

function sitesBody(v: View, deps: FleetWebDeps): Html {
  const names = new Map(deps.config.sites.map((s) => [s.id, s.name || s.id]));
  const sites = deps.db
    .prepare('SELECT site, last_contact_at, status, bridge_up, health FROM centre_sites ORDER BY site')
    .all() as SiteRow[];
  const doors = deps.db.prepare('SELECT site, door, state FROM centre_doors ORDER BY site, door').all() as {
    site: string;
    door: string;
    state: string;
  }[];
  const alarms = deps.db
    .prepare(
      'SELECT site, COUNT(*) AS n FROM centre_alarms WHERE cleared_at IS NULL OR acked_at IS NULL GROUP BY site',
    )
    .all() as { site: string; n: number }[];
  const alarmCount = new Map(alarms.map((a) => [a.site, a.n]));
  const doorText = (state: string) => {
    const s = JSON.parse(state) as { locked?: boolean; open?: boolean; alarm?: string[] };
    return [
      s.locked ? v.w('fleet.locked') : v.w('fleet.unlocked'),
      s.open ? v.w('fleet.open') : '',
      ...(s.alarm ?? []),
    ]
      .filter(Boolean)
      .join(', ');
  };
  const rows = sites
    .filter((s) => names.has(s.site))
    .map((s) => {
      const health = s.health ? (JSON.parse(s.health) as FleetHealth) : null;
      const siteDoors = doors.filter((d) => d.site === s.site);
      return html`<tr data-site="${s.site}">
<th scope="row">${names.get(s.site)}</th>
<td>${v.fmt(s.last_contact_at)}</td>
<td>${s.status ?? v.w('fleet.unknown')}</td>
<td>${s.bridge_up === null ? v.w('fleet.unknown') : s.bridge_up ? v.w('fleet.up') : v.w('fleet.down')}</td>
<td><ul class="plain">${siteDoors.map((d) => html`<li>${d.door}: ${doorText(d.state)}</li>`)}</ul></td>
<td class="num">${alarmCount.get(s.site) ?? 0}</td>
<td>${health ? (health.retention_ok ? v.w('fleet.retention_ok') : v.w('fleet.retention_late')) : v.w('fleet.unknown')}</td>
<td class="num">${health ? health.pending_figures : ''}</td>
</tr>`;
    });
  return html`<table><thead><tr><th>${v.w('fleet.site')}</th><th>${v.w('fleet.last_contact')}</th><th>${v.w('fleet.status')}</th>
<th>${v.w('fleet.bridge')}</th><th>${v.w('fleet.doors')}</th><th>${v.w('fleet.alarms')}</th><th>${v.w('fleet.retention')}</th>
<th>${v.w('fleet.pending')}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

interface AlarmRow {
  id: number;
  site: string;
  code: string;
  scope: string;
  detail: string | null;
  raised_at: number;
  cleared_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
}

function alarmsBody(v: View, deps: FleetWebDeps, notice?: string): Html {
  const rows = deps.db
    .prepare(
      'SELECT * FROM centre_alarms WHERE cleared_at IS NULL OR acked_at IS NULL ORDER BY raised_at DESC LIMIT 500',
    )
    .all() as AlarmRow[];
  if (rows.length === 0)
    return html`${notice ? html`<p class="notice ok" role="status">${notice}</p>` : ''}<p>${v.w('fleet.no_alarms')}</p>`;
  return html`${notice ? html`<p class="notice ok" role="status">${notice}</p>` : ''}<table><thead><tr><th>${v.w('fleet.site')}</th><th>${v.w('fleet.alarm')}</th>
<th>${v.w('fleet.scope')}</th><th>${v.w('fleet.raised')}</th><th>${v.w('fleet.cleared')}</th><th>${v.w('fleet.acked')}</th></tr></thead><tbody>
${rows.map(
  (
    a,
  ) => html`<tr data-alarm="${a.id}"><td>${a.site}</td><td>${a.code}${a.detail ? html`<br><span class="muted">${a.detail}</span>` : ''}</td>
<td>${a.scope}</td><td>${v.fmt(a.raised_at)}</td><td>${a.cleared_at === null ? '' : v.fmt(a.cleared_at)}</td>
<td>${
    a.acked_at !== null
      ? html`${a.acked_by} ${v.fmt(a.acked_at)}`
      : html`<form method="post" action="/alarms/${a.id}/ack"><input type="hidden" name="_csrf" value="${v.session.csrfToken}"><button type="submit">${v.w('fleet.ack')}</button></form>`
  }</td></tr>`,
)}</tbody></table>`;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

interface Range {
  from: string;
  to: string;
  site: string;
}

function rangeOf(req: FastifyRequest, deps: FleetWebDeps): Range | undefined {
  const today = localDate(new Date((deps.nowMs ?? Date.now)()), deps.config.timezone);
  const from = field(req.query, 'from', 10) || `${today.slice(0, 8)}01`;
  const to = field(req.query, 'to', 10) || today;
  const site = field(req.query, 'site', 64);
  if (!DAY.test(from) || !DAY.test(to) || from > to) return undefined;
  if (site && !deps.config.sites.some((s) => s.id === site)) return undefined;
  return { from, to, site };
}

/** Counts per site and outcome over the range, and per day (of the one site, or of all). */
export function statsTotals(
  db: Db,
  range: Range,
): {
  bySite: { site: string; outcome: string; n: number }[];
  byDay: { day: string; outcome: string; n: number }[];
} {
  const siteFilter = range.site ? 'AND site = ?' : '';
  const args = range.site ? [range.from, range.to, range.site] : [range.from, range.to];
  const bySite = db
    .prepare(
      `SELECT site, outcome, SUM(count) AS n FROM centre_figures WHERE day >= ? AND day <= ? ${siteFilter} GROUP BY site, outcome ORDER BY site, outcome`,
    )
    .all(...args) as { site: string; outcome: string; n: number }[];
  const byDay = db
    .prepare(
      `SELECT day, outcome, SUM(count) AS n FROM centre_figures WHERE day >= ? AND day <= ? ${siteFilter} GROUP BY day, outcome ORDER BY day, outcome`,
    )
    .all(...args) as { day: string; outcome: string; n: number }[];
  return { bySite, byDay };
}

function statsBody(v: View, deps: FleetWebDeps, range: Range): Html {
  const { bySite, byDay } = statsTotals(deps.db, range);
  const pivot = <K extends string>(rows: ({ outcome: string; n: number } & Record<K, string>)[], key: K) => {
    const out = new Map<string, { granted: number; denied: number }>();
    for (const r of rows) {
      const entry = out.get(r[key]) ?? { granted: 0, denied: 0 };
      if (r.outcome === 'granted') entry.granted += r.n;
      else entry.denied += r.n;
      out.set(r[key], entry);
    }
    return [...out.entries()];
  };
  const table = (head: string, rows: [string, { granted: number; denied: number }][]) =>
    html`<table><thead><tr><th>${head}</th><th>${v.w('fleet.granted')}</th><th>${v.w('fleet.denied')}</th><th>${v.w('fleet.total')}</th></tr></thead><tbody>
${rows.map(([k, c]) => html`<tr><th scope="row">${k}</th><td class="num">${c.granted}</td><td class="num">${c.denied}</td><td class="num">${c.granted + c.denied}</td></tr>`)}</tbody></table>`;
  const query = new URLSearchParams({
    from: range.from,
    to: range.to,
    ...(range.site ? { site: range.site } : {}),
  });
  return html`<form method="get" action="/stats" class="inline">
<label>${v.w('fleet.from')} <input type="date" name="from" value="${range.from}"></label>
<label>${v.w('fleet.to')} <input type="date" name="to" value="${range.to}"></label>
<label>${v.w('fleet.site')} <select name="site"><option value="">${v.w('fleet.all_sites')}</option>${deps.config.sites.map(
    (s) =>
      html`<option value="${s.id}"${s.id === range.site ? html` selected` : ''}>${s.name || s.id}</option>`,
  )}</select></label>
<button type="submit">${v.w('fleet.show')}</button></form>
<p><a href="/stats.csv?${query.toString()}" download>${v.w('fleet.csv')}</a></p>
${table(v.w('fleet.site'), pivot(bySite, 'site'))}
${table(v.w('fleet.day'), pivot(byDay, 'day'))}`;
}

export async function createFleetWeb(deps: FleetWebDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  const { app, sessions } = await createAuthedApp({
    db,
    web: config.web,
    log: deps.log.child({ mod: 'fleet-web' }),
    siteName: config.name,
    language: config.language,
    home: '/sites',
    errorHtml: (req, key) => {
      const v = viewOf(req, config);
      return page(v, config, '', translator(v.session.user.language)(key), html``);
    },
  });
  void sessions;
  get(app, 'staff', '/', async (_req, reply) => reply.redirect('/sites', 303));
  get(app, 'staff', '/sites', async (req, reply) => {
    const v = viewOf(req, config);
    return sendHtml(reply, page(v, config, '/sites', v.w('fleet.title'), sitesBody(v, deps), true));
  });
  get(app, 'staff', '/alarms', async (req, reply) => {
    const v = viewOf(req, config);
    const notice =
      field(req.query, 'done', 3) === '1'
        ? v.w('fleet.ack_done')
        : field(req.query, 'done', 3) === '0'
          ? v.w('fleet.ack_failed')
          : undefined;
    return sendHtml(
      reply,
      page(v, config, '/alarms', v.w('fleet.alarms'), alarmsBody(v, deps, notice), true),
    );
  });
  post(app, 'staff', '/alarms/:id/ack', async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const ok = Number.isSafeInteger(id) && deps.centre.acknowledgeAlarm(id, sessionOf(req).user.name);
    return reply.redirect(`/alarms?done=${ok ? 1 : 0}`, 303);
  });
  get(app, 'staff', '/stats', async (req, reply) => {
    const v = viewOf(req, config);
    const range = rangeOf(req, deps);
    if (!range)
      return sendHtml(
        reply,
        page(
          v,
          config,
          '/stats',
          v.w('fleet.nav.stats'),
          html`<p class="notice error" role="alert">${v.w('fleet.bad_range')}</p>`,
        ),
        400,
      );
    return sendHtml(reply, page(v, config, '/stats', v.w('fleet.nav.stats'), statsBody(v, deps, range)));
  });
  get(app, 'staff', '/stats.csv', async (req, reply) => {
    const range = rangeOf(req, deps);
    if (!range) return reply.code(400).send({ error: 'bad range' });
    const siteFilter = range.site ? 'AND site = ?' : '';
    const rows = db
      .prepare(
        `SELECT site, day, hour, door, mode, outcome, reason, category, age_band, count FROM centre_figures
         WHERE day >= ? AND day <= ? ${siteFilter} ORDER BY site, day, hour, door, mode, outcome, reason, category, age_band`,
      )
      .all(...(range.site ? [range.from, range.to, range.site] : [range.from, range.to])) as Record<
      string,
      string | number
    >[];
    const head = [
      'site',
      'day',
      'hour',
      'door',
      'mode',
      'outcome',
      'reason',
      'category',
      'age_band',
      'count',
    ];
    const body = [head.join(','), ...rows.map((r) => head.map((h) => csvCell(r[h]!)).join(','))].join('\n');
    audit(db, { actor: sessionOf(req).user.name, action: 'fleet.stats_csv', detail: { ...range } });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="dorvakt-fleet-${range.from}-${range.to}.csv"`)
      .header('cache-control', 'no-store')
      .send(`${body}\n`);
  });
  const reportOf = reportCache(deps);
  get(app, 'staff', '/report', async (req, reply) => {
    const v = viewOf(req, config);
    const params = reportParams(req, deps);
    if (!params)
      return sendHtml(
        reply,
        page(
          v,
          config,
          '/report',
          v.w('fleet.nav.report'),
          html`<p class="notice error" role="alert">${v.w('fleet.report.bad_year')}</p>`,
        ),
        400,
      );
    const report = await reportOf(params.year);
    return sendHtml(
      reply,
      page(v, config, '/report', v.w('fleet.nav.report'), reportBody(v, deps, report, params.format)),
    );
  });
  get(app, 'staff', '/report.csv', async (req, reply) => {
    const params = reportParams(req, deps);
    if (!params) return reply.code(400).send({ error: 'bad year or format' });
    const report = await reportOf(params.year);
    audit(db, { actor: sessionOf(req).user.name, action: 'fleet.report_csv', detail: { ...params } });
    return reply
      .type('text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="dorvakt-fleet-report-${params.year}-${params.format}.csv"`,
      )
      .header('cache-control', 'no-store')
      .send(Readable.from(fleetReportCsv(report, params.format)));
  });
  // Changes as server-sent events: site, kind and the branch event's own time (no personal data).
  get(app, 'staff', '/api/stream', async (req, reply) => {
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    reply.raw.write(': hello\n\n');
    const listener = (change: CentreChange) => reply.raw.write(`data: ${JSON.stringify(change)}\n\n`);
    deps.centre.changes.on('change', listener);
    req.raw.on('close', () => deps.centre.changes.off('change', listener));
    return reply;
  });
  return app;
}

export async function startFleetWeb(deps: FleetWebDeps): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createFleetWeb(deps);
  const { host, port, tls } = webListenOptions(deps.config.web);
  if (!tls && !isLoopback(deps.config.web.host))
    deps.log.warn(
      { configuredHost: deps.config.web.host },
      'fleet dashboard without TLS: listening on loopback only',
    );
  try {
    return { app, url: await app.listen({ host, port }) };
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}
