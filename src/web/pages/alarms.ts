import type { FastifyInstance } from 'fastify';
import type { ActiveAlarm } from '../../alarms/alarms.ts';
import { audit } from '../../audit/audit.ts';
import { ALARM_CODES } from '../../contract/events.ts';
import { alarmLabel, alarmStateClass, alarmStateKey, scopeName } from '../alarm-view.ts';
import { html } from '../html.ts';
import { csrfField, layout, type PageContext } from '../layout.ts';
import { ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { localToUtc } from '../time.ts';
import { noticeFromQuery } from './notice.ts';

const PAGE = 50;
/** The site-wide scope ('' in the store) in the door filter. */
const SITE = '-';

/** An acknowledge button that comes back to `back` (the page it was pressed on, with its filters). */
export function ackForm(ctx: PageContext, alarm: ActiveAlarm, back: string) {
  return html`<form method="post" action="/alarms/${alarm.id}/ack" class="inline">${csrfField(ctx)}<input type="hidden" name="back" value="${back}"><button type="submit">${ctx.t('now.ack')}</button></form>`;
}

/** `YYYY-MM-DD` one day later (calendar arithmetic, so a 23- or 25-hour local day ends where it should). */
function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** Only a path on this dashboard, with its query: never an open redirect. */
export function safeBack(value: string, fallback: string): string {
  return /^\/(now|alarms)(\?[A-Za-z0-9_.~%&=+-]*)?$/.test(value) ? value : fallback;
}

interface Filters {
  door: string;
  kind: string;
  from: string;
  to: string;
  state: string;
  before: number;
}

function filtersOf(query: unknown): Filters {
  const before = Number(field(query, 'before', 16));
  return {
    door: field(query, 'door', 33),
    kind: field(query, 'kind', 32),
    from: field(query, 'from', 10),
    to: field(query, 'to', 10),
    state: field(query, 'state', 8),
    before: Number.isSafeInteger(before) && before > 0 ? before : 0,
  };
}

export function registerAlarmRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const tz = deps.config.site.timezone;

  get(app, 'staff', '/alarms', async (req, reply) => {
    const ctx = ctxOf(env, req, '/alarms');
    const { t, fmt } = ctx;
    const f = filtersOf(req.query);
    const where: string[] = [];
    const args: (string | number)[] = [];
    const fromMs = f.from ? localToUtc(f.from, undefined, tz) : undefined;
    const toMs = f.to ? localToUtc(nextDay(f.to), undefined, tz) : undefined;
    const badDates =
      (f.from !== '' && fromMs === undefined) ||
      (f.to !== '' && toMs === undefined) ||
      (fromMs !== undefined && toMs !== undefined && fromMs >= toMs);
    if (!badDates) {
      if (fromMs !== undefined) where.push('raised_at >= ?') && args.push(fromMs);
      if (toMs !== undefined) where.push('raised_at < ?') && args.push(toMs);
    }
    if (f.door === SITE) where.push("door = ''");
    else if (f.door) where.push('door = ?') && args.push(f.door);
    if (f.kind) where.push('code = ?') && args.push(f.kind);
    if (f.state === 'unacked') where.push('acked_at IS NULL');
    if (f.before) where.push('id < ?') && args.push(f.before);
    const rows = deps.db
      .prepare(
        `SELECT id, code, door, detail, raised_at AS raisedAt, cleared_at AS clearedAt, acked_at AS ackedAt,
           acked_by AS ackedBy
         FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${PAGE + 1}`,
      )
      .all(...args) as ActiveAlarm[];
    const more = rows.length > PAGE;
    const shown = rows.slice(0, PAGE);
    const keep = { door: f.door, kind: f.kind, from: f.from, to: f.to, state: f.state };
    const here = `/alarms?${new URLSearchParams({ ...keep, ...(f.before ? { before: String(f.before) } : {}) })}`;
    const older = `/alarms?${new URLSearchParams({ ...keep, before: String(shown.at(-1)?.id ?? 0) })}`;
    const selected = (on: boolean) => (on ? html` selected` : '');
    const body = html`<form method="get" action="/alarms" class="filters">
<label>${t('common.door')} <select name="door"><option value="">${t('common.all_doors')}</option>${deps.config.doors.map(
      (d) => html`<option value="${d.id}"${selected(d.id === f.door)}>${d.name ?? d.id}</option>`,
    )}<option value="${SITE}"${selected(f.door === SITE)}>${t('alarms.site_wide')}</option></select></label>
<label>${t('alarms.kind')} <select name="kind"><option value="">${t('alarms.all_kinds')}</option>${ALARM_CODES.map(
      (code) =>
        html`<option value="${code}"${selected(code === f.kind)}>${alarmLabel(code, ctx.lang)}</option>`,
    )}</select></label>
<label>${t('common.from')} <input type="date" name="from" value="${f.from}"></label>
<label>${t('common.to')} <input type="date" name="to" value="${f.to}"></label>
<label>${t('alarms.state')} <select name="state"><option value="">${t('alarms.all_states')}</option><option value="unacked"${selected(f.state === 'unacked')}>${t('alarms.unacked_only')}</option></select></label>
<button type="submit">${t('common.show')}</button></form>
${badDates ? html`<p class="notice error" role="alert">${t('alarms.bad_dates')}</p>` : ''}
${
  shown.length === 0
    ? html`<p>${t('alarms.none')}</p>`
    : html`<div class="table-scroll" tabindex="0" role="region" aria-label="${t('alarms.title')}"><table class="alarm-history"><thead><tr><th>${t('alarms.raised')}</th><th>${t('alarms.kind')}</th><th>${t('alarms.where')}</th><th>${t('alarms.state')}</th><th>${t('alarms.cleared')}</th><th>${t('alarms.acked')}</th></tr></thead>
<tbody>${shown.map(
        (
          a,
        ) => html`<tr class="alarm-${alarmStateClass(a)}" data-alarm-id="${a.id}"><td>${fmt(a.raisedAt)}</td>
<td><span title="${a.code}">${alarmLabel(a.code, ctx.lang)}</span>${a.detail ? html`<br><span class="muted">${a.detail}</span>` : ''}</td>
<td>${scopeName(deps.config, a.door, ctx.lang)}</td><td>${t(alarmStateKey(a))}</td><td>${a.clearedAt ? fmt(a.clearedAt) : '—'}</td>
<td>${a.ackedAt ? html`${a.ackedBy} · ${fmt(a.ackedAt)}` : ackForm(ctx, a, here)}</td></tr>`,
      )}</tbody></table></div>`
}
<p>${f.before ? html`<a href="/alarms?${new URLSearchParams(keep).toString()}">${t('alarms.newest')}</a> ` : ''}${more ? html`<a href="${older}">${t('alarms.older')} →</a>` : ''}</p>`;
    return sendHtml(reply, layout(ctx, t('alarms.title'), body, { notice: noticeFromQuery(req, t) }));
  });

  // Acknowledging goes to the door process, which owns the alarms; the audit names who did it.
  post(app, 'staff', '/alarms/:id/ack', async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const user = sessionOf(req).user;
    const back = safeBack(field(req.body, 'back', 300), '/now');
    const withNotice = (n: string) => `${back}${back.includes('?') ? '&' : '?'}n=${n}`;
    if (!Number.isSafeInteger(id) || !(await deps.alarms.acknowledge(id, user.name)))
      return reply.redirect(withNotice('invalid'), 303);
    const row = deps.db.prepare('SELECT code, door FROM alarms WHERE id = ?').get(id) as
      | { code: string; door: string }
      | undefined;
    audit(deps.db, {
      actor: user.name,
      action: 'alarm.acknowledged',
      subject: String(id),
      ...(row ? { detail: { code: row.code, door: row.door } } : {}),
    });
    return reply.redirect(withNotice('done'), 303);
  });
}
