import type { FastifyInstance, FastifyRequest } from 'fastify';
import { staffLock, staffUnlock } from '../../door/staff-actions.ts';
import type { DoorSnapshot } from '../../contract/door-panel.ts';
import type { DorvaktEvent } from '../../contract/events.ts';
import { alarmLabel, alarmStateClass, alarmStateKey, alarmSummary, scopeName } from '../alarm-view.ts';
import { type DoorTileState, doorTileState } from '../door-state.ts';
import { html, trusted } from '../html.ts';
import { type MessageKey, reasonText } from '../i18n.ts';
import { csrfField, layout, type PageContext } from '../layout.ts';
import { ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { localDate, localToUtc, startOfLocalDay } from '../time.ts';
import { ackForm } from './alarms.ts';
import { categoryCell, liveWords, reasonCell } from '../words.ts';
import { DENY_REASONS, GRANT_REASONS } from '../../contract/reasons.ts';
import { noticeFromQuery } from './notice.ts';

const MIN_REASON = 3;

function letInToday(env: RouteEnv): number {
  const since = startOfLocalDay(Date.now(), env.deps.config.site.timezone);
  return (
    env.deps.db
      .prepare(
        "SELECT COUNT(*) AS n FROM entries WHERE ts >= ? AND outcome = 'granted' AND mode = 'staffless'",
      )
      .get(since) as { n: number }
  ).n;
}

interface RecentEntry {
  id: number;
  ts: number;
  door: string;
  mode: string;
  outcome: string;
  reason: string;
  category: string | null;
}

const ENTRY_PAGE = 30;
const REASONS: readonly string[] = [...GRANT_REASONS, ...DENY_REASONS];

interface EntryFilters {
  date: string;
  door: string;
  outcome: string;
  reason: string;
  before: number;
}

function entryFiltersOf(env: RouteEnv, query: unknown): EntryFilters {
  const tz = env.deps.config.site.timezone;
  const date = field(query, 'date', 10);
  const door = field(query, 'door', 32);
  const outcome = field(query, 'outcome', 8);
  const reason = field(query, 'reason', 32);
  const before = Number(field(query, 'before', 16));
  return {
    date: date && localToUtc(date, undefined, tz) !== undefined ? date : localDate(Date.now(), tz),
    door: env.deps.config.doors.some((d) => d.id === door) ? door : '',
    outcome: outcome === 'granted' || outcome === 'denied' ? outcome : '',
    reason: REASONS.includes(reason) ? reason : '',
    before: Number.isSafeInteger(before) && before > 0 ? before : 0,
  };
}

/** One local day of entries, newest first, a page at a time (by id, so new swipes do not shift pages). */
function entriesOf(env: RouteEnv, f: EntryFilters): RecentEntry[] {
  const tz = env.deps.config.site.timezone;
  const from = localToUtc(f.date, undefined, tz)!;
  const [y, m, d] = f.date.split('-').map(Number) as [number, number, number];
  const to = localToUtc(new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10), undefined, tz)!;
  const where = ['ts >= ?', 'ts < ?'];
  const args: (string | number)[] = [from, to];
  if (f.door) where.push('door = ?') && args.push(f.door);
  if (f.outcome) where.push('outcome = ?') && args.push(f.outcome);
  if (f.reason) where.push('reason = ?') && args.push(f.reason);
  if (f.before) where.push('id < ?') && args.push(f.before);
  return env.deps.db
    .prepare(
      `SELECT id, ts, door, mode, outcome, reason, category FROM entries WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${ENTRY_PAGE + 1}`,
    )
    .all(...args) as RecentEntry[];
}

const doorName = (env: RouteEnv, id: string): string => {
  const door = env.deps.config.doors.find((d) => d.id === id);
  return door ? (door.name ?? door.id) : id;
};

/** A door's snapshot, or null when the door process sends none for it (the tile then says offline). */
function snapshotOf(panel: RouteEnv['deps']['doors'][number]): DoorSnapshot | null {
  try {
    return panel.snapshot();
  } catch {
    return null;
  }
}

const TILE_HINTS: Partial<Record<DoorTileState, MessageKey>> = {
  held_open: 'tile.hint.held_open',
  forced: 'tile.hint.forced',
  fire: 'tile.hint.fire',
  offline: 'tile.hint.offline',
};

/** Doors and alarms: rendered here for the page and again for each live refresh. */
function panel(env: RouteEnv, ctx: PageContext) {
  const { t, fmt } = ctx;
  const alarms = env.deps.alarms.unresolved();
  const occupancy = env.deps.occupancy;
  const inside = occupancy?.insideNow() ?? null;
  const tiles = env.deps.doors.map((panelOf) => {
    const d = snapshotOf(panelOf);
    const state = doorTileState(d, alarms);
    const hint = TILE_HINTS[state];
    const name = d ? d.name || d.id : doorName(env, panelOf.id);
    return html`<article class="door tile-${state}" data-door="${panelOf.id}" data-state="${state}" aria-labelledby="door-${panelOf.id}-h">
<h3 id="door-${panelOf.id}-h">${name}</h3>
<p class="tile-state"><span class="visually-hidden">${t('tile.state')}: </span><strong>${t(`tile.${state}`)}</strong></p>
${hint ? html`<p class="tile-hint">${t(hint)}</p>` : ''}
${
  d
    ? html`<dl>
<dt>${t('now.mode')}</dt><dd class="mode">${t(`mode.${d.mode}`)}</dd>
<dt>${t('common.door')}</dt><dd class="lock">${d.open ? t('now.open') : t('now.closed_door')} · ${d.locked ? t('now.locked') : t('now.unlocked')}</dd>
${d.manualUnlockUntil ? html`<dt>${t('now.manual_until')}</dt><dd>${fmt(d.manualUnlockUntil)}</dd>` : ''}
<dt>${t('now.next_change')}</dt><dd>${d.nextChange ? html`${t(`mode.${d.nextChange.mode}`)} · ${fmt(d.nextChange.at)}` : '—'}</dd>
${d.site ? html`<dt>${t('now.site_state')}</dt><dd class="site-state">${t(`state.${d.site.state}`)}${d.site.upcoming.slice(0, 3).map((u) => html` · ${u.output} → ${u.value} ${fmt(u.at)}`)}</dd>` : ''}
</dl>
<form method="post" action="/doors/${d.id}/unlock" class="door-action">${csrfField(ctx)}
<label>${t('now.minutes')} <input name="minutes" type="number" min="1" max="240" value="15" required></label>
<label>${t('common.reason')} <input name="reason" required minlength="${MIN_REASON}" maxlength="500"></label>
<button type="submit">${t('now.unlock')}</button></form>
${
  d.manualUnlockUntil
    ? html`<form method="post" action="/doors/${d.id}/lock" class="door-action">${csrfField(ctx)}
<label>${t('common.reason')} <input name="reason" required minlength="${MIN_REASON}" maxlength="500"></label>
<button type="submit">${t('now.lock')}</button></form>`
    : ''
}`
    : ''
}
</article>`;
  });
  return html`<section id="doors" aria-labelledby="doors-h"><h2 id="doors-h">${t('now.doors')}</h2>
<div class="cards">${tiles}</div>
${
  occupancy
    ? html`<p id="inside-now" class="inside-now">${t('now.inside')}: <strong>${inside === null ? t('now.inside_unknown') : inside}</strong></p>`
    : ''
}</section>
<section id="alarms" aria-labelledby="alarms-h"><h2 id="alarms-h">${t('now.alarms')}</h2>
${
  alarms.length === 0
    ? html`<p class="ok">${t('now.no_alarms')}</p>`
    : html`<ul class="alarms">${[...alarms].reverse().map(
        (
          a,
        ) => html`<li class="alarm alarm-${alarmStateClass(a)}" data-alarm="${a.code}" data-alarm-id="${a.id}">
<strong title="${a.code}">${alarmLabel(a.code, ctx.lang)}</strong> · ${scopeName(env.deps.config, a.door, ctx.lang)}${a.detail ? html` · ${a.detail}` : ''}
<span class="alarm-state">${t(alarmStateKey(a))}</span>
<span class="muted">${t('now.raised')} ${fmt(a.raisedAt)}${a.clearedAt ? html` · ${t('alarms.cleared')} ${fmt(a.clearedAt)}` : ''}</span>
${a.ackedAt ? html`<span class="muted">${t('now.acked_by')} ${a.ackedBy} ${fmt(a.ackedAt)}</span>` : ackForm(ctx, a, '/now')}
</li>`,
      )}</ul>`
}
<p><a href="/alarms">${t('alarms.history_link')}</a></p>
</section>`;
}

/** Labels the live script needs; a JSON data block (not executed, so the CSP allows it). */
function labels(env: RouteEnv, ctx: PageContext): string {
  const { t } = ctx;
  const data = {
    'mode.staffed': t('mode.staffed'),
    'mode.staffless': t('mode.staffless'),
    'mode.closed': t('mode.closed'),
    'outcome.granted': t('outcome.granted'),
    'outcome.denied': t('outcome.denied'),
    lost: t('now.connection_lost'),
    ...liveWords(env.deps.config, ctx.lang, [...GRANT_REASONS, ...DENY_REASONS]),
  };
  return JSON.stringify(data).replace(/</g, '\\u003c');
}

function entriesSection(env: RouteEnv, ctx: PageContext, f: EntryFilters) {
  const { t, fmt } = ctx;
  const rows = entriesOf(env, f);
  const more = rows.length > ENTRY_PAGE;
  const shown = rows.slice(0, ENTRY_PAGE);
  const today = localDate(Date.now(), env.deps.config.site.timezone);
  // New swipes are added live only to the unfiltered first page of today.
  const live = f.date === today && !f.door && !f.outcome && !f.reason && !f.before;
  const keep = { date: f.date, door: f.door, outcome: f.outcome, reason: f.reason };
  const selected = (on: boolean) => (on ? html` selected` : '');
  return html`<section aria-labelledby="live-h"><h2 id="live-h">${t('now.live')}</h2>
<form method="get" action="/now" class="filters">
<label>${t('entries.date')} <input type="date" name="date" value="${f.date}" required></label>
<label>${t('common.door')} <select name="door"><option value="">${t('common.all_doors')}</option>${env.deps.config.doors.map(
    (d) => html`<option value="${d.id}"${selected(d.id === f.door)}>${d.name ?? d.id}</option>`,
  )}</select></label>
<label>${t('entries.outcome')} <select name="outcome"><option value="">${t('entries.all_outcomes')}</option>${(
    ['granted', 'denied'] as const
  ).map(
    (o) => html`<option value="${o}"${selected(o === f.outcome)}>${t(`outcome.${o}`)}</option>`,
  )}</select></label>
<label>${t('entries.reason')} <select name="reason"><option value="">${t('entries.all_reasons')}</option>${REASONS.map(
    (r) => html`<option value="${r}"${selected(r === f.reason)}>${reasonText(r, ctx.lang)}</option>`,
  )}</select></label>
<button type="submit">${t('common.show')}</button></form>
<div class="table-scroll" tabindex="0" role="region" aria-labelledby="live-h"><table class="entries"><thead><tr><th>${t('common.time')}</th><th>${t('common.door')}</th><th>${t('now.mode')}</th><th>${t('entries.outcome')}</th><th>${t('entries.reason')}</th><th>${t('entries.category')}</th></tr></thead>
<tbody id="live"${live ? html` data-live="1"` : ''}>${shown.map(
    (e) =>
      html`<tr class="${e.outcome}" data-entry="${e.id}"><td>${fmt(e.ts)}</td><td>${doorName(env, e.door)}</td><td>${t(`mode.${e.mode as 'staffed'}`)}</td><td>${t(`outcome.${e.outcome as 'granted'}`)}</td><td>${reasonCell(e.reason, ctx.lang)}</td><td>${categoryCell(env.deps.config, e.category, ctx.lang)}</td></tr>`,
  )}</tbody></table></div>
${shown.length === 0 ? html`<p>${t('entries.none')}</p>` : ''}
<p>${f.before ? html`<a href="/now?${new URLSearchParams(keep).toString()}">${t('entries.newest')}</a> ` : ''}${more ? html`<a href="/now?${new URLSearchParams({ ...keep, before: String(shown.at(-1)?.id ?? 0) }).toString()}">${t('entries.older')} →</a>` : ''}</p>
</section>`;
}

export function registerNowRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;

  get(app, 'staff', '/now', async (req, reply) => {
    const ctx = ctxOf(env, req, '/now');
    const { t } = ctx;
    const body = html`<div id="live-status" class="notice error" hidden>${t('now.connection_lost')}</div>
<script type="application/json" id="labels">${trusted(labels(env, ctx))}</script>
<div id="panel">${panel(env, ctx)}</div>
<section aria-labelledby="letin-h"><h2 id="letin-h">${t('now.let_in')}: <span id="let-in-count">${letInToday(env)}</span></h2></section>
${entriesSection(env, ctx, entryFiltersOf(env, req.query))}`;
    return sendHtml(
      reply,
      layout(ctx, t('nav.now'), body, {
        notice: noticeFromQuery(req, t),
        script: 'now.js',
        head: html`<meta name="tz" content="${ctx.timeZone}"><meta name="locale" content="${ctx.lang}">`,
      }),
    );
  });

  get(app, 'staff', '/now/panel', async (req, reply) =>
    sendHtml(reply, panel(env, ctxOf(env, req, '/now')).value),
  );

  get(app, 'staff', '/api/state', async () => ({
    doors: deps.doors.map((d) => d.snapshot()),
    alarms: deps.alarms.unresolved(),
    letInToday: letInToday(env),
  }));

  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  // No HEAD twin: a stream has no headers-only form.
  app.route({
    method: 'GET',
    url: '/api/events',
    exposeHeadRoute: false,
    config: { access: 'staff' },
    handler: async (req: FastifyRequest, reply) => {
      const session = sessionOf(req);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        connection: 'keep-alive',
      });
      res.write('retry: 3000\n\n');
      // Every page's title count, sound and notification follow this (static/alarms.js).
      let lastSummary = '';
      const sendSummary = () => {
        const summary = JSON.stringify(
          alarmSummary(deps.config, deps.alarms.unresolved(), session.user.language),
        );
        if (summary === lastSummary) return;
        lastSummary = summary;
        res.write(`event: alarms\ndata: ${summary}\n\n`);
      };
      sendSummary();
      const unwatchAlarms = deps.alarms.onChange(sendSummary);
      // Events carry no identity (see DorvaktEvent), so they go out as they are.
      const unsubscribe = deps.bus.subscribe((event: DorvaktEvent) => {
        res.write(`data: ${JSON.stringify(event)}\n\n`);
      });
      const heartbeat = setInterval(() => {
        // The CLI (another process) may have ended the session; this process hears of its own at once.
        if (!env.sessions.alive(session.idHash)) return end();
        res.write(': ping\n\n');
      }, 15_000);
      let unwatch = () => {};
      const end = () => {
        if (!streams.delete(end)) return;
        clearInterval(heartbeat);
        unwatchAlarms();
        unwatch();
        unsubscribe();
        res.end();
      };
      streams.add(end);
      // Logout, expiry or a revoked session ends the stream at once.
      unwatch = env.sessions.watch(session.idHash, end);
      req.raw.on('close', end);
      res.on('error', end);
    },
  });

  const doorAction =
    (kind: 'unlock' | 'lock') => async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
      const door = deps.doors.find((d) => d.id === (req.params as { id: string }).id);
      if (!door) return reply.code(404).send({ error: 'no such door' });
      const user = sessionOf(req).user;
      const reason = field(req.body, 'reason', 500);
      if (reason.length < MIN_REASON) return reply.redirect('/now?n=reason', 303);
      if (kind === 'unlock') {
        const minutes = Number(field(req.body, 'minutes', 4));
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 240)
          return reply.redirect('/now?n=invalid', 303);
        await staffUnlock(deps.db, door, { actor: user.name, reason }, minutes);
      } else {
        await staffLock(deps.db, door, { actor: user.name, reason });
      }
      return reply.redirect('/now?n=done', 303);
    };
  post(app, 'staff', '/doors/:id/unlock', doorAction('unlock'));
  post(app, 'staff', '/doors/:id/lock', doorAction('lock'));
}
