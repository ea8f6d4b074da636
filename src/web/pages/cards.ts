import type { FastifyInstance } from 'fastify';
import { audit } from '../../audit/audit.ts';
import { html } from '../html.ts';
import { csrfField, layout, type PageContext } from '../layout.ts';
import { cardHashFrom, ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { localToUtc } from '../time.ts';
import { categoryCell, doorName, reasonCell } from '../words.ts';

const PAGE = 100;
const MIN_REASON = 3;

interface EntryRow {
  id: number;
  ts: number;
  door: string;
  mode: string;
  outcome: string;
  reason: string;
  category: string | null;
  card_hash: string | null;
}

function entriesTable(env: RouteEnv, ctx: PageContext, rows: EntryRow[], reveal: boolean) {
  const { t, fmt } = ctx;
  return html`<div class="table-scroll" role="region" aria-label="${t('entries.title')}" tabindex="0"><table class="entries"><thead><tr><th>${t('common.time')}</th><th>${t('common.door')}</th><th>${t('now.mode')}</th>
<th>${t('entries.outcome')}</th><th>${t('entries.reason')}</th><th>${t('entries.category')}</th><th>${t('entries.pseudonym')}</th>${reveal ? html`<th></th>` : ''}</tr></thead>
<tbody>${rows.map(
    (
      e,
    ) => html`<tr class="${e.outcome}" data-entry="${e.id}"><td>${fmt(e.ts)}</td><td>${doorName(env.deps.config, e.door)}</td><td>${t(`mode.${e.mode as 'staffed'}`)}</td>
<td>${t(`outcome.${e.outcome as 'granted'}`)}</td><td>${reasonCell(e.reason, ctx.lang)}</td><td>${categoryCell(env.deps.config, e.category, ctx.lang)}</td>
<td>${e.card_hash ? env.pseudonym(e.id, e.card_hash) : html`<span class="muted">${t('entries.anonymised')}</span>`}</td>
${reveal ? html`<td>${e.card_hash ? html`<form method="post" action="/entries/${e.id}/reveal" class="inline">${csrfField(ctx)}<input name="reason" required minlength="${MIN_REASON}" maxlength="500" placeholder="${t('common.reason')}" aria-label="${t('common.reason')}"><button type="submit">${t('entries.reveal')}</button></form>` : ''}</td>` : ''}</tr>`,
  )}</tbody></table></div>`;
}

export function registerCardRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const tz = deps.config.site.timezone;

  get(app, 'staff', '/entries', async (req, reply) => {
    const ctx = ctxOf(env, req, '/entries');
    const { t } = ctx;
    const q = req.query;
    const from = field(q, 'from', 10);
    const to = field(q, 'to', 10);
    const door = field(q, 'door', 32);
    const before = Number(field(q, 'before', 16));
    const where: string[] = [];
    const args: (string | number)[] = [];
    const fromMs = from ? localToUtc(from, undefined, tz) : undefined;
    const toMs = to ? localToUtc(to, undefined, tz) : undefined;
    if (fromMs !== undefined) where.push('ts >= ?') && args.push(fromMs);
    if (toMs !== undefined) where.push('ts < ?') && args.push(toMs + 86_400_000);
    if (door) where.push('door = ?') && args.push(door);
    if (Number.isInteger(before) && before > 0) where.push('id < ?') && args.push(before);
    const rows = deps.db
      .prepare(
        `SELECT id, ts, door, mode, outcome, reason, category, card_hash FROM entries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${PAGE}`,
      )
      .all(...args) as EntryRow[];
    const isAdmin = ctx.user.role === 'admin';
    const last = rows.at(-1);
    const nextQuery = new URLSearchParams({ from, to, door, before: String(last?.id ?? 0) });
    const body = html`<form method="get" action="/entries">
<label>${t('common.from')} <input type="date" name="from" value="${from}"></label>
<label>${t('common.to')} <input type="date" name="to" value="${to}"></label>
<label>${t('common.door')} <select name="door"><option value="">${t('common.all_doors')}</option>${deps.config.doors.map(
      (d) => html`<option value="${d.id}"${d.id === door ? html` selected` : ''}>${d.name ?? d.id}</option>`,
    )}</select></label>
<button type="submit">${t('common.show')}</button></form>
${entriesTable(env, ctx, rows, isAdmin)}
${rows.length === PAGE && last ? html`<p><a href="/entries?${nextQuery.toString()}">${t('common.next')} →</a></p>` : ''}`;
    return sendHtml(reply, layout(ctx, t('entries.title'), body));
  });

  // Reveals the card hash (the card number is never stored); the reason is audited.
  post(app, 'admin', '/entries/:id/reveal', async (req, reply) => {
    const ctx = ctxOf(env, req, '/entries');
    const { t } = ctx;
    const id = Number((req.params as { id: string }).id);
    const reason = field(req.body, 'reason', 500);
    if (reason.length < MIN_REASON) {
      return sendHtml(
        reply,
        layout(ctx, t('entries.reveal'), html``, {
          notice: { kind: 'error', text: t('common.reason_required') },
        }),
        400,
      );
    }
    const row = Number.isInteger(id)
      ? (deps.db
          .prepare(
            'SELECT id, ts, door, mode, outcome, reason, category, card_hash FROM entries WHERE id = ?',
          )
          .get(id) as EntryRow | undefined)
      : undefined;
    if (!row?.card_hash) {
      return sendHtml(
        reply,
        layout(ctx, t('entries.reveal'), html``, { notice: { kind: 'error', text: t('error.not_found') } }),
        404,
      );
    }
    audit(deps.db, {
      actor: sessionOf(req).user.name,
      action: 'entry.reveal',
      subject: row.card_hash,
      reason,
      detail: { entryId: id },
    });
    const body = html`<p>${t('entries.revealed', { id })}:</p>
<p><code class="hash" id="revealed-hash">${row.card_hash}</code></p>
<p class="muted">${t('entries.reveal_hint')}</p>
${entriesTable(env, ctx, [row], false)}
${cardActions(ctx, row.card_hash)}`;
    return sendHtml(reply, layout(ctx, t('entries.reveal'), body));
  });

  get(app, 'admin', '/cards', async (req, reply) => {
    const ctx = ctxOf(env, req, '/cards');
    return sendHtml(reply, layout(ctx, ctx.t('cards.title'), lookupForm(ctx)));
  });

  // POST so that a card number never lands in a URL, a history or an access log.
  post(app, 'admin', '/cards/lookup', async (req, reply) => {
    const ctx = ctxOf(env, req, '/cards');
    const { t } = ctx;
    const card = cardHashFrom(env, req.body);
    const reason = field(req.body, 'reason', 500);
    if ('refused' in card || reason.length < MIN_REASON) {
      const text = t('refused' in card ? card.refused : 'common.reason_required');
      return sendHtml(
        reply,
        layout(ctx, t('cards.title'), lookupForm(ctx), { notice: { kind: 'error', text } }),
        400,
      );
    }
    const { hash } = card;
    audit(deps.db, { actor: sessionOf(req).user.name, action: 'card.lookup', subject: hash, reason });
    const status = deps.consents.status(hash);
    const rows = deps.db
      .prepare(
        'SELECT id, ts, door, mode, outcome, reason, category, card_hash FROM entries WHERE card_hash = ? ORDER BY id DESC LIMIT 500',
      )
      .all(hash) as EntryRow[];
    const body = html`${lookupForm(ctx)}
<h2>${t('common.card_hash')}</h2><p><code class="hash" id="card-hash">${hash}</code></p>
<h2>${t('cards.consent')}</h2>
<dl><dt>${t('consent.kind.agreement')}</dt><dd id="agreement-state">${t(`consent.state.${status.agreement}`)}${status.agreementVersion ? ` (${status.agreementVersion})` : ''}</dd>
<dt>${t('consent.kind.camera')}</dt><dd id="camera-state">${t(`consent.state.${status.camera}`)}</dd></dl>
<h2>${t('cards.entries')} (${rows.length})</h2>
${entriesTable(env, ctx, rows, false)}
${cardActions(ctx, hash)}`;
    return sendHtml(reply, layout(ctx, t('cards.title'), body));
  });
}

function lookupForm(ctx: PageContext) {
  const { t } = ctx;
  return html`<form method="post" action="/cards/lookup" class="stack" autocomplete="off">${csrfField(ctx)}
<label>${t('common.card')} <input name="card" required maxlength="64" autocomplete="off"></label>
<small class="muted">${t('common.card_hint')}</small>
<label>${t('common.reason')} <input name="reason" required minlength="${MIN_REASON}" maxlength="500"></label>
<button type="submit">${t('cards.lookup')}</button></form>`;
}

/** Follow-up actions for a known card hash: consent, access report. */
function cardActions(ctx: PageContext, hash: string) {
  const { t } = ctx;
  return html`<p>
<form method="post" action="/gdpr/report" class="inline">${csrfField(ctx)}<input type="hidden" name="card_hash" value="${hash}"><input name="reason" required minlength="${MIN_REASON}" maxlength="500" placeholder="${t('common.reason')}" aria-label="${t('common.reason')}"><button type="submit">${t('gdpr.report')}</button></form>
</p>`;
}
