import type { FastifyInstance, FastifyRequest } from 'fastify';
import { audit } from '../../audit/audit.ts';
import type { DorvaktEvent } from '../../contract/events.ts';
import { html, trusted } from '../html.ts';
import { ALARM_LABELS } from '../i18n.ts';
import { csrfField, layout, type PageContext } from '../layout.ts';
import { ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { startOfLocalDay } from '../time.ts';
import { categoryCell, doorName, liveWords, reasonCell } from '../words.ts';
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

function recentEntries(env: RouteEnv): RecentEntry[] {
  const since = startOfLocalDay(Date.now(), env.deps.config.site.timezone);
  return env.deps.db
    .prepare(
      'SELECT id, ts, door, mode, outcome, reason, category FROM entries WHERE ts >= ? ORDER BY id DESC LIMIT 30',
    )
    .all(since) as RecentEntry[];
}

/** Doors and alarms: rendered here for the page and again for each live refresh. */
function panel(env: RouteEnv, ctx: PageContext) {
  const { t, fmt } = ctx;
  const doors = env.deps.doors.map((d) => d.snapshot());
  const alarms = env.deps.alarms.list();
  return html`<section id="doors" aria-labelledby="doors-h"><h2 id="doors-h">${t('now.doors')}</h2>
<div class="cards">${doors.map(
    (d) => html`<article class="door mode-${d.mode}" data-door="${d.id}">
<h3>${d.name || d.id}</h3>
<dl>
<dt>${t('now.mode')}</dt><dd class="mode">${t(`mode.${d.mode}`)}</dd>
<dt>${t('now.locked')}</dt><dd class="lock">${d.locked ? t('now.locked') : t('now.unlocked')} · ${d.open ? t('now.open') : t('now.closed_door')}</dd>
${d.held ? html`<dt></dt><dd class="warn">${t('now.held')}</dd>` : ''}
${d.fireActive ? html`<dt></dt><dd class="warn">${t('now.fire')}</dd>` : ''}
${d.manualUnlockUntil ? html`<dt>${t('now.manual_until')}</dt><dd>${fmt(d.manualUnlockUntil)}</dd>` : ''}
<dt>${t('now.next_change')}</dt><dd>${d.nextChange ? html`${t(`mode.${d.nextChange.mode}`)} · ${fmt(d.nextChange.at)}` : '—'}</dd>
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
}
</article>`,
  )}</div></section>
<section id="alarms" aria-labelledby="alarms-h"><h2 id="alarms-h">${t('now.alarms')}</h2>
${
  alarms.length === 0
    ? html`<p class="ok">${t('now.no_alarms')}</p>`
    : html`<ul class="alarms">${alarms.map(
        (a) => html`<li class="alarm${a.ackedAt ? ' acked' : ''}" data-alarm="${a.code}">
<strong>${ALARM_LABELS[a.code]?.[ctx.lang] ?? a.code}</strong> <code>${a.code}</code>${a.door ? html` · ${doorName(env.deps.config, a.door)}` : ''}${a.detail ? html` · ${a.detail}` : ''}
<span class="muted">${t('now.raised')} ${fmt(a.raisedAt)}</span>
${a.ackedAt ? html`<span class="muted">${t('now.acked_by')} ${a.ackedBy} ${fmt(a.ackedAt)}</span>` : html`<form method="post" action="/alarms/${a.id}/ack" class="inline">${csrfField(ctx)}<button type="submit">${t('now.ack')}</button></form>`}
</li>`,
      )}</ul>`
}
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

export function registerNowRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;

  get(app, 'staff', '/now', async (req, reply) => {
    const ctx = ctxOf(env, req, '/now');
    const { t, fmt } = ctx;
    const entries = recentEntries(env);
    const body = html`<div id="live-status" class="notice error" hidden>${t('now.connection_lost')}</div>
<script type="application/json" id="labels">${trusted(labels(env, ctx))}</script>
<div id="panel">${panel(env, ctx)}</div>
<section aria-labelledby="letin-h"><h2 id="letin-h">${t('now.let_in')}: <span id="let-in-count">${letInToday(env)}</span></h2></section>
<section aria-labelledby="live-h"><h2 id="live-h">${t('now.live')}</h2>
<table class="entries"><thead><tr><th>${t('common.time')}</th><th>${t('common.door')}</th><th>${t('now.mode')}</th><th>${t('entries.outcome')}</th><th>${t('entries.reason')}</th><th>${t('entries.category')}</th></tr></thead>
<tbody id="live">${entries.map(
      (e) =>
        html`<tr class="${e.outcome}"><td>${fmt(e.ts)}</td><td>${doorName(deps.config, e.door)}</td><td>${t(`mode.${e.mode as 'staffed'}`)}</td><td>${t(`outcome.${e.outcome as 'granted'}`)}</td><td>${reasonCell(e.reason, ctx.lang)}</td><td>${categoryCell(deps.config, e.category, ctx.lang)}</td></tr>`,
    )}</tbody></table></section>`;
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
    alarms: deps.alarms.list(),
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

  post(app, 'staff', '/alarms/:id/ack', async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const user = sessionOf(req).user;
    if (!Number.isInteger(id) || !(await deps.alarms.acknowledge(id, user.name)))
      return reply.redirect('/now?n=invalid', 303);
    audit(deps.db, { actor: user.name, action: 'alarm.acknowledged', subject: String(id) });
    return reply.redirect('/now?n=done', 303);
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
        await door.manualUnlock(minutes);
        audit(deps.db, {
          actor: user.name,
          action: 'door.manual_unlock',
          subject: door.id,
          reason,
          detail: { minutes },
        });
      } else {
        await door.manualLock();
        audit(deps.db, { actor: user.name, action: 'door.manual_lock', subject: door.id, reason });
      }
      return reply.redirect('/now?n=done', 303);
    };
  post(app, 'staff', '/doors/:id/unlock', doorAction('unlock'));
  post(app, 'staff', '/doors/:id/lock', doorAction('lock'));
}
