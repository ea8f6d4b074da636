/** Admin page: start, replace or end the site's emergency mode, and what earlier periods met (src/emergency). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EMERGENCY_MODES, EmergencyError, type EmergencyModeName } from '../../emergency/modes.ts';
import { html } from '../html.ts';
import { csrfField, layout, type Notice, type PageContext } from '../layout.ts';
import { ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { localDate, localToUtc } from '../time.ts';

function page(env: RouteEnv, ctx: PageContext) {
  const { t, fmt } = ctx;
  const modes = env.deps.emergency;
  if (!modes) return html`<p>${t('error.not_found')}</p>`;
  const current = modes.current(new Date());
  const history = modes.history(20);
  const now = Date.now();
  const tz = env.deps.config.site.timezone;
  return html`<section class="panel" id="emergency-status">${
    current
      ? html`<p><strong>${t(`emergency.mode.${current.mode}`)}</strong></p>
<dl><dt>${t('emergency.since')}</dt><dd>${fmt(current.since)}</dd><dt>${t('emergency.until')}</dt><dd>${fmt(current.until)}</dd>
<dt>${t('common.reason')}</dt><dd>${current.reason}</dd></dl>
<form method="post" action="/emergency/end" class="stack" id="emergency-end-form">${csrfField(ctx)}
<label>${t('common.reason')} <input name="reason" maxlength="200"></label>
<button type="submit">${t('emergency.end')}</button></form>`
      : html`<p>${t('emergency.none')}</p>`
  }</section>
<h2>${t('emergency.set')}</h2>
<form method="post" action="/emergency" class="stack" id="emergency-form" autocomplete="off">${csrfField(ctx)}
<fieldset><legend>${t('emergency.mode')}</legend>${EMERGENCY_MODES.map(
    (m, i) =>
      html`<label class="check"><input type="radio" name="mode" value="${m}"${i === 0 ? html` checked` : ''}> ${t(`emergency.mode.${m}`)}</label>`,
  )}</fieldset>
<label>${t('emergency.until_date')} <input type="date" name="until_date" required value="${localDate(now, tz)}"></label>
<label>${t('emergency.until_time')} <input type="time" name="until_time" required></label>
<label>${t('common.reason')} <input name="reason" required minlength="3" maxlength="200"></label>
${current ? html`<small class="muted">${t('emergency.replace_hint')}</small>` : ''}
<button type="submit">${t('emergency.set')}</button></form>
${
  history.length > 0
    ? html`<h2>${t('emergency.history')}</h2>
<div class="table-scroll" tabindex="0" role="region" aria-label="${t('emergency.history')}"><table id="emergency-history"><thead><tr><th>${t('emergency.mode')}</th><th>${t('emergency.since')}</th><th>${t('emergency.until')}</th><th>${t('common.reason')}</th><th>${t('emergency.set_by')}</th><th>${t('emergency.ended_by')}</th><th>${t('emergency.attempts')}</th></tr></thead>
<tbody>${history.map(
        (
          h,
        ) => html`<tr><td>${h.mode}</td><td>${fmt(h.since)}</td><td>${fmt(h.endedAt ?? h.until)}</td><td>${h.reason}</td><td>${h.setBy}</td><td>${h.endedBy ?? '—'}</td>
<td>${h.attempts.granted} / ${h.attempts.denied}</td></tr>`,
      )}</tbody></table></div>`
    : ''
}`;
}

export function registerEmergencyRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const show = (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: Notice) => {
    const ctx = ctxOf(env, req, '/emergency');
    const done = field(req.query, 'done', 10);
    const fromQuery =
      done === 'set' || done === 'ended'
        ? { kind: 'ok' as const, text: ctx.t(done === 'set' ? 'emergency.set_ok' : 'emergency.ended_ok') }
        : undefined;
    return sendHtml(
      reply,
      layout(ctx, ctx.t('emergency.title'), page(env, ctx), { notice: notice ?? fromQuery }),
      status,
    );
  };
  // The door takes the new mode at its next swipe anyway; this only makes the MQTT event immediate.
  const tellDoor = async () => {
    try {
      await deps.emergencyChanged?.();
    } catch (error) {
      deps.log.warn(
        { err: (error as Error).message },
        'door process not told of the emergency mode; it reads it itself',
      );
    }
  };

  get(app, 'admin', '/emergency', async (req, reply) => show(req, reply));

  post(app, 'admin', '/emergency', async (req, reply) => {
    const modes = deps.emergency;
    if (!modes) return reply.code(404).send({ error: 'not found' });
    const until = localToUtc(
      field(req.body, 'until_date', 10),
      field(req.body, 'until_time', 5),
      deps.config.site.timezone,
    );
    const mode = field(req.body, 'mode', 10) as EmergencyModeName;
    try {
      if (until === undefined) throw new EmergencyError('the end is not a date and time');
      modes.set({ mode, until, reason: field(req.body, 'reason', 500) }, sessionOf(req).user.name);
    } catch (error) {
      if (!(error instanceof EmergencyError)) throw error;
      const t = ctxOf(env, req, '/emergency').t;
      return show(req, reply, 400, { kind: 'error', text: `${t('common.invalid')} (${error.message})` });
    }
    await tellDoor();
    return reply.redirect('/emergency?done=set', 303);
  });

  post(app, 'admin', '/emergency/end', async (req, reply) => {
    const modes = deps.emergency;
    if (!modes) return reply.code(404).send({ error: 'not found' });
    modes.end(sessionOf(req).user.name, field(req.body, 'reason', 500) || undefined);
    await tellDoor();
    return reply.redirect('/emergency?done=ended', 303);
  });
}
