/**
 * "Why can't I get in?": staff at the desk enter a card (and the patron may type the PIN) and see what the
 * door would decide now and when staffless hours next begin, check by check. The door process answers
 * (it owns the library-system client); nothing opens and no PIN attempt is counted. Audited without the PIN.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CheckRow } from '../../access/explain.ts';
import { audit } from '../../audit/audit.ts';
import { type CardCheckMoment, CardCheckRefused, type CardCheckResult } from '../../contract/card-check.ts';
import { cardMatchesADoor } from '../../reader/card-match.ts';
import { MAX_LINE } from '../../reader/frames.ts';
import { type Html, html } from '../html.ts';
import type { MessageKey } from '../i18n.ts';
import { csrfField, layout, type Notice, type PageContext } from '../layout.ts';
import { ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { localDate } from '../time.ts';
import { categoryName, doorName, reasonCell } from '../words.ts';

const ROW_LABEL: Record<CheckRow['check'], MessageKey> = {
  local: 'check.row.local',
  schedule: 'check.row.schedule',
  lockout: 'check.row.lockout',
  pin: 'check.row.pin',
  library: 'check.row.library',
  category: 'check.row.category',
  agreement: 'consent.kind.agreement',
  camera: 'consent.kind.camera',
};

function form(env: RouteEnv, ctx: PageContext, door: string): Html {
  const { t } = ctx;
  const doors = env.deps.config.doors;
  return html`<p>${t('check.intro')}</p>
<form method="post" action="/check" class="stack" id="check-form" autocomplete="off">${csrfField(ctx)}
<label>${t('common.card')} <input name="card" required maxlength="${MAX_LINE}" autocomplete="off"></label>
<label>${t('check.pin')} <input name="pin" type="password" maxlength="32" autocomplete="off" inputmode="numeric" aria-describedby="pin-hint"></label>
<small class="muted" id="pin-hint">${t('check.pin_hint')}</small>
<label>${t('common.door')} <select name="door">${doors.map(
    (d) => html`<option value="${d.id}"${d.id === door ? html` selected` : ''}>${d.name ?? d.id}</option>`,
  )}</select></label>
<button type="submit">${t('check.submit')}</button></form>`;
}

/** The words for one row beside its verdict. */
function rowDetail(
  env: RouteEnv,
  ctx: PageContext,
  result: CardCheckResult,
  m: CardCheckMoment,
  row: CheckRow,
) {
  const { t, lang } = ctx;
  const { patron } = result;
  if (row.status === 'fail')
    return html`${row.reasons.map((r, i) => html`${i > 0 ? '; ' : ''}${reasonCell(r, lang)}`)}`;
  switch (row.check) {
    case 'schedule':
      return t(`mode.${m.schedule}`);
    case 'pin':
      return result.pinGiven
        ? row.status === 'pass'
          ? t('check.detail.pin_ok')
          : ''
        : t('check.detail.no_pin');
    case 'library':
      if (patron.status === 'unavailable')
        return row.status === 'pass' ? t('check.detail.offline_known') : t('check.detail.ils_down');
      return t('check.detail.standing_ok');
    case 'category': {
      if (patron.status !== 'ok') return '';
      const parts: string[] = [];
      if (patron.category)
        parts.push(
          t('check.detail.category', { category: categoryName(env.deps.config, patron.category, lang) }),
        );
      if (result.policy.minAge > 0)
        parts.push(
          patron.birthYear === null
            ? t('check.detail.no_birth_year')
            : t('check.detail.age', {
                age:
                  Number(localDate(Date.parse(m.at), env.deps.config.site.timezone).slice(0, 4)) -
                  patron.birthYear,
                min: result.policy.minAge,
              }),
        );
      return parts.join(', ');
    }
    case 'agreement':
      return `${t(`consent.state.${result.consent.agreement}`)}${result.consent.agreementVersion ? ` (${result.consent.agreementVersion})` : ''}`;
    case 'camera':
      return t(`consent.state.${result.consent.camera}`);
    default:
      return '';
  }
}

function momentSection(
  env: RouteEnv,
  ctx: PageContext,
  result: CardCheckResult,
  m: CardCheckMoment,
  id: string,
  title: string,
) {
  const { t, fmt, lang } = ctx;
  const { decision } = m;
  return html`<section class="panel card-check ${decision.allow ? 'granted' : 'denied'}" id="${id}" aria-labelledby="${id}-h">
<h2 id="${id}-h">${title} · ${fmt(m.at)}</h2>
<p class="verdict" data-reason="${decision.reason}"><strong>${t(decision.allow ? 'check.verdict_allow' : 'check.verdict_deny')}</strong>.
${t('check.patron_reads')}: «${reasonCell(decision.reason, lang)}»</p>
<div class="table-scroll"><table class="checks"><thead><tr><th scope="col">${t('check.col.what')}</th><th scope="col">${t('check.col.result')}</th><th scope="col">${t('check.col.detail')}</th></tr></thead>
<tbody>${m.checks.map(
    (
      row,
    ) => html`<tr data-check="${row.check}" data-status="${row.status}" class="${row.status}${row.decisive ? ' decisive' : ''}">
<th scope="row">${t(ROW_LABEL[row.check])}</th>
<td>${t(`check.status.${row.status}`)}${row.decisive ? html` <strong>(${t('check.decisive')})</strong>` : ''}</td>
<td>${rowDetail(env, ctx, result, m, row)}</td></tr>`,
  )}</tbody></table></div></section>`;
}

function resultBody(env: RouteEnv, ctx: PageContext, result: CardCheckResult) {
  const { t } = ctx;
  return html`<h2>${doorName(env.deps.config, result.door)}</h2>
${momentSection(env, ctx, result, result.now, 'check-now', t('check.now'))}
${
  result.nextStaffless
    ? momentSection(env, ctx, result, result.nextStaffless, 'check-next', t('check.next_staffless'))
    : result.now.schedule === 'staffless'
      ? ''
      : html`<p id="check-next">${t('check.no_next_staffless')}</p>`
}`;
}

export function registerCardCheckRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const firstDoor = deps.config.doors[0]?.id ?? '';

  const show = (
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    door: string,
    extra?: Html,
    notice?: Notice,
  ) => {
    const ctx = ctxOf(env, req, '/check');
    return sendHtml(
      reply,
      layout(ctx, ctx.t('check.title'), html`${form(env, ctx, door)}${extra}`, { notice }),
      status,
    );
  };

  get(app, 'staff', '/check', async (req, reply) => show(req, reply, 200, firstDoor));

  // POST: a card number or PIN never lands in a URL, a history or an access log.
  post(app, 'staff', '/check', async (req, reply) => {
    const { t } = ctxOf(env, req, '/check');
    const refuse = (key: MessageKey, status = 400, door = firstDoor) =>
      show(req, reply, status, door, undefined, { kind: 'error', text: t(key) });
    const door = deps.config.doors.find((d) => d.id === field(req.body, 'door', 64));
    if (!door) return refuse('common.invalid');
    const card = field(req.body, 'card', MAX_LINE + 1);
    if (!card || card.length > MAX_LINE || !/^[\x20-\x7e]+$/.test(card))
      return refuse('common.invalid', 400, door.id);
    if (!cardMatchesADoor([door], card)) return refuse('check.card_not_this_door', 400, door.id);
    const pin = field(req.body, 'pin', 33) || undefined;
    if (pin !== undefined && !/^[\x20-\x7e]{1,32}$/.test(pin)) return refuse('common.invalid', 400, door.id);
    if (!deps.cardCheck) return refuse('check.not_available', 503, door.id);

    const actor = sessionOf(req).user.name;
    const cardHash = deps.hashCard(card);
    let result: CardCheckResult;
    try {
      result = await deps.cardCheck.explain(card, pin, door.id);
    } catch (error) {
      const busy = error instanceof CardCheckRefused && /already running/.test(error.message);
      audit(deps.db, {
        actor,
        action: 'card.check',
        subject: cardHash,
        detail: { door: door.id, pinGiven: pin !== undefined, failed: true },
      });
      return refuse(busy ? 'check.busy' : 'check.failed', busy ? 429 : 503, door.id);
    }
    // The PIN is never written anywhere; only whether one was given.
    audit(deps.db, {
      actor,
      action: 'card.check',
      subject: cardHash,
      detail: {
        door: door.id,
        pinGiven: pin !== undefined,
        now: result.now.decision.reason,
        ...(result.nextStaffless ? { nextStaffless: result.nextStaffless.decision.reason } : {}),
      },
    });
    const ctx = ctxOf(env, req, '/check');
    return show(req, reply, 200, door.id, resultBody(env, ctx, result));
  });
}
