/** Admin page: the site's own block list and passes (src/local-access). Every change audited by the stores. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LocalAccessError, LocalBlocks, NOTE_MAX, NOTE_MIN } from '../../local-access/blocks.ts';
import { cardHint } from '../../local-access/card-hint.ts';
import { endOfLocalDay } from '../../local-access/expiry.ts';
import {
  type LocalPass,
  LocalPasses,
  PASS_KINDS,
  type PassCameraConsent,
  type PassKind,
} from '../../local-access/passes.ts';
import { MAX_LINE } from '../../reader/frames.ts';
import { html } from '../html.ts';
import type { MessageKey } from '../i18n.ts';
import { csrfField, layout, type Notice, type PageContext } from '../layout.ts';
import {
  cardHashFrom,
  ctxOf,
  field,
  fields,
  get,
  post,
  type RouteEnv,
  sendHtml,
  sessionOf,
} from '../routing.ts';
import { localDate } from '../time.ts';

const DONE: Record<string, MessageKey> = {
  blocked: 'access.blocked_ok',
  pass: 'access.pass_ok',
  pass_consent: 'access.pass_consent_needed',
  removed: 'access.removed',
};

function doorChoices(env: RouteEnv, ctx: PageContext, name: string) {
  return html`<fieldset><legend>${ctx.t('access.doors')}</legend>
<small class="muted">${ctx.t('access.doors_hint')}</small>
${env.deps.config.doors.map(
  (d) =>
    html`<label class="check"><input type="checkbox" name="${name}" value="${d.id}"> ${d.name ?? d.id}</label>`,
)}</fieldset>`;
}

const doorList = (ctx: PageContext, doors: string[] | null) =>
  doors ? doors.join(', ') : ctx.t('access.all_doors');

function removeForm(ctx: PageContext, action: string, hash: string) {
  const { t } = ctx;
  return html`<form method="post" action="${action}" class="inline">${csrfField(ctx)}<input type="hidden" name="card_hash" value="${hash}">
<input name="reason" maxlength="500" placeholder="${t('common.reason')}" aria-label="${t('common.reason')}"><button type="submit">${t('access.remove')}</button></form>`;
}

function page(env: RouteEnv, ctx: PageContext) {
  const { t, fmt } = ctx;
  const doorIds = env.deps.config.doors.map((d) => d.id);
  const blocks = new LocalBlocks(env.deps.db, doorIds).list();
  const passes = new LocalPasses(env.deps.db, doorIds).list();
  const today = localDate(Date.now(), env.deps.config.site.timezone);
  const cardField = html`<label>${t('common.card')} <input name="card" required maxlength="${MAX_LINE}" autocomplete="off"></label>
<small class="muted">${t('common.card_hint')}</small>`;
  const note = (hint: MessageKey) =>
    html`<label>${t('access.note')} <input name="note" required minlength="${NOTE_MIN}" maxlength="${NOTE_MAX}"></label>
<small class="muted">${t(hint)}</small>`;
  const expires = html`<label>${t('access.expires')} <input type="date" name="expires" required min="${today}"></label>`;
  return html`<p>${t('access.intro')}</p>
<section id="blocks"><h2>${t('access.blocks')}</h2>
${
  blocks.length === 0
    ? html`<p class="muted">${t('access.no_blocks')}</p>`
    : html`<div class="table-scroll" tabindex="0" role="region" aria-label="${t('access.blocks')}"><table id="blocks-table"><thead><tr><th>${t('access.card_shown')}</th><th>${t('access.note')}</th><th>${t('access.doors')}</th><th>${t('access.expires')}</th><th>${t('access.created')}</th><th></th></tr></thead>
<tbody>${blocks.map(
        (
          b,
        ) => html`<tr data-hint="${b.cardHint}"><td>${b.cardHint}</td><td>${b.note}</td><td>${doorList(ctx, b.doors)}</td><td>${fmt(b.expiresAt)}</td><td>${b.createdBy}</td>
<td>${removeForm(ctx, '/access/blocks/remove', b.cardHash)}</td></tr>`,
      )}</tbody></table></div>`
}
<h3>${t('access.block_add')}</h3>
<form method="post" action="/access/blocks" class="stack" id="block-form" autocomplete="off">${csrfField(ctx)}
${cardField}
${note('access.note_block_hint')}
${expires}
${doorChoices(env, ctx, 'door')}
<button type="submit">${t('access.block_add')}</button></form></section>
<section id="passes"><h2>${t('access.passes')}</h2>
<p class="muted">${t('access.pass_hint')}</p>
${
  passes.length === 0
    ? html`<p class="muted">${t('access.no_passes')}</p>`
    : html`<div class="table-scroll" tabindex="0" role="region" aria-label="${t('access.passes')}"><table id="passes-table"><thead><tr><th>${t('access.card_shown')}</th><th>${t('access.kind')}</th><th>${t('access.note')}</th><th>${t('access.hours')}</th><th>${t('access.doors')}</th><th>${t('access.camera_consent')}</th><th>${t('access.expires')}</th><th>${t('access.created')}</th><th></th></tr></thead>
<tbody>${passes.map(
        (
          p: LocalPass,
        ) => html`<tr data-hint="${p.cardHint}"><td>${p.cardHint}</td><td>${t(`access.kind.${p.kind}`)}</td><td>${p.note}</td><td>${p.hours}</td><td>${doorList(ctx, p.doors)}</td>
<td>${t(`access.camera.${p.cameraConsent}`)}</td><td>${fmt(p.expiresAt)}</td><td>${p.createdBy}</td><td>${removeForm(ctx, '/access/passes/remove', p.cardHash)}</td></tr>`,
      )}</tbody></table></div>`
}
<h3>${t('access.pass_add')}</h3>
<form method="post" action="/access/passes" class="stack" id="pass-form" autocomplete="off">${csrfField(ctx)}
${cardField}
<label>${t('access.kind')} <select name="kind">${PASS_KINDS.map((k) => html`<option value="${k}">${t(`access.kind.${k}`)}</option>`)}</select></label>
${note('access.note_pass_hint')}
<label>${t('access.hours')} <input name="hours" required maxlength="200" placeholder="Mo-Fr 06:00-08:00"></label>
<small class="muted">${t('access.hours_hint')}</small>
${expires}
${doorChoices(env, ctx, 'door')}
<label>${t('access.camera_consent')} <select name="camera_consent">
<option value="required" selected>${t('access.camera.required')}</option>
<option value="not_required">${t('access.camera.not_required')}</option></select></label>
<button type="submit">${t('access.pass_add')}</button></form></section>`;
}

export function registerLocalAccessRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const doorIds = deps.config.doors.map((d) => d.id);
  const tz = deps.config.site.timezone;

  const show = (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: Notice) => {
    const ctx = ctxOf(env, req, '/access');
    const done = field(req.query, 'done', 20);
    const fromQuery = Object.hasOwn(DONE, done)
      ? { kind: 'ok' as const, text: ctx.t(DONE[done]!) }
      : undefined;
    return sendHtml(
      reply,
      layout(ctx, ctx.t('access.title'), page(env, ctx), { notice: notice ?? fromQuery }),
      status,
    );
  };
  const refuse = (req: FastifyRequest, reply: FastifyReply, text: string) =>
    show(req, reply, 400, { kind: 'error', text });

  /** The card typed at the desk: its hash and hint, or why it was refused. */
  const typedCard = (req: FastifyRequest): { hash: string; hint: string } | { refused: string } => {
    const t = ctxOf(env, req, '/access').t;
    if (field(req.body, 'card_hash', 64)) return { refused: t('common.invalid') };
    const card = cardHashFrom(env, req.body);
    if ('refused' in card) return { refused: t(card.refused) };
    return { hash: card.hash, hint: cardHint(field(req.body, 'card', MAX_LINE)) };
  };
  const expiry = (req: FastifyRequest) => endOfLocalDay(field(req.body, 'expires', 10), tz);
  const store = (req: FastifyRequest, reply: FastifyReply, act: () => void, done: string) => {
    try {
      act();
    } catch (error) {
      if (error instanceof LocalAccessError)
        return refuse(req, reply, `${ctxOf(env, req, '/access').t('common.invalid')} (${error.message})`);
      throw error;
    }
    return reply.redirect(`/access?done=${done}`, 303);
  };

  get(app, 'admin', '/access', async (req, reply) => show(req, reply));

  post(app, 'admin', '/access/blocks', async (req, reply) => {
    const card = typedCard(req);
    if ('refused' in card) return refuse(req, reply, card.refused);
    const expiresAt = expiry(req);
    if (expiresAt === undefined) return refuse(req, reply, ctxOf(env, req, '/access').t('common.invalid'));
    const actor = sessionOf(req).user.name;
    return store(
      req,
      reply,
      () =>
        new LocalBlocks(deps.db, doorIds).add(
          {
            cardHash: card.hash,
            cardHint: card.hint,
            note: field(req.body, 'note', 500),
            doors: fields(req.body, 'door'),
            expiresAt,
          },
          actor,
        ),
      'blocked',
    );
  });

  post(app, 'admin', '/access/passes', async (req, reply) => {
    const card = typedCard(req);
    if ('refused' in card) return refuse(req, reply, card.refused);
    const expiresAt = expiry(req);
    if (expiresAt === undefined) return refuse(req, reply, ctxOf(env, req, '/access').t('common.invalid'));
    const cameraConsent = field(req.body, 'camera_consent', 20) as PassCameraConsent;
    const actor = sessionOf(req).user.name;
    return store(
      req,
      reply,
      () =>
        new LocalPasses(deps.db, doorIds).add(
          {
            cardHash: card.hash,
            cardHint: card.hint,
            kind: field(req.body, 'kind', 20) as PassKind,
            note: field(req.body, 'note', 500),
            doors: fields(req.body, 'door'),
            hours: field(req.body, 'hours', 200),
            cameraConsent,
            expiresAt,
          },
          actor,
        ),
      cameraConsent === 'required' ? 'pass_consent' : 'pass',
    );
  });

  for (const kind of ['blocks', 'passes'] as const) {
    post(app, 'admin', `/access/${kind}/remove`, async (req, reply) => {
      const hash = field(req.body, 'card_hash', 64);
      if (!/^[0-9a-f]{64}$/.test(hash))
        return refuse(req, reply, ctxOf(env, req, '/access').t('common.invalid'));
      const reason = field(req.body, 'reason', 500) || undefined;
      const actor = sessionOf(req).user.name;
      const repo = kind === 'blocks' ? new LocalBlocks(deps.db, doorIds) : new LocalPasses(deps.db, doorIds);
      if (!repo.remove(hash, actor, reason))
        return show(req, reply, 404, {
          kind: 'error',
          text: ctxOf(env, req, '/access').t('error.not_found'),
        });
      return reply.redirect('/access?done=removed', 303);
    });
  }
}
