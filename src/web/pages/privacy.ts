import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { accessReport, eraseCard, renderAccessReportHtml } from '../../retention/report.ts';
import { html } from '../html.ts';
import { csrfField, layout, type Notice, type PageContext } from '../layout.ts';
import { cardHashFrom, ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';

const MIN_REASON = 3;

/** The report page is self-contained with inline CSS; it gets its own policy that still forbids every script. */
const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function gdprForm(ctx: PageContext) {
  const { t } = ctx;
  return html`<form method="post" action="/gdpr/report" class="stack" id="gdpr-form" autocomplete="off">${csrfField(ctx)}
<label>${t('common.card')} <input name="card" maxlength="64" autocomplete="off"></label>
<small class="muted">${t('common.card_hint')}</small>
<label>${t('common.card_hash')} <input name="card_hash" maxlength="64" pattern="[0-9a-f]{64}" autocomplete="off"></label>
<label>${t('common.reason')} <input name="reason" required minlength="${MIN_REASON}" maxlength="500"></label>
<div><button type="submit">${t('gdpr.report')}</button>
<button type="submit" formaction="/gdpr/report.json">${t('gdpr.report_json')}</button></div>
<label class="check"><input type="checkbox" name="confirm" value="yes"> ${t('gdpr.erase_confirm')}</label>
<div><button type="submit" formaction="/gdpr/erase" class="danger">${t('gdpr.erase')}</button></div>
</form>`;
}

export function registerPrivacyRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const tz = deps.config.site.timezone;

  const show = (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: Notice) => {
    const ctx = ctxOf(env, req, '/gdpr');
    return sendHtml(reply, layout(ctx, ctx.t('gdpr.title'), gdprForm(ctx), { notice }), status);
  };

  /** The card hash and reason, or an error page already sent. */
  const input = (req: FastifyRequest, reply: FastifyReply) => {
    const { t } = ctxOf(env, req, '/gdpr');
    const card = cardHashFrom(env, req.body);
    const reason = field(req.body, 'reason', 500);
    if ('refused' in card) return { sent: show(req, reply, 400, { kind: 'error', text: t(card.refused) }) };
    if (reason.length < MIN_REASON)
      return { sent: show(req, reply, 400, { kind: 'error', text: t('common.reason_required') }) };
    return { hash: card.hash, reason, actor: sessionOf(req).user.name };
  };

  get(app, 'admin', '/gdpr', async (req, reply) => show(req, reply));

  // accessReport audits the read itself (privacy.report), with who and why.
  post(app, 'admin', '/gdpr/report', async (req, reply) => {
    const got = input(req, reply);
    if ('sent' in got) return got.sent;
    const report = accessReport(deps.db, got.hash, { actor: got.actor, reason: got.reason });
    const page = renderAccessReportHtml(report, sessionOf(req).user.language, tz);
    return reply
      .header('content-security-policy', REPORT_CSP)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(page);
  });

  post(app, 'admin', '/gdpr/report.json', async (req, reply) => {
    const got = input(req, reply);
    if ('sent' in got) return got.sent;
    const report = accessReport(deps.db, got.hash, { actor: got.actor, reason: got.reason });
    return reply
      .header('content-disposition', `attachment; filename="access-report-${got.hash.slice(0, 12)}.json"`)
      .header('cache-control', 'no-store')
      .send(report);
  });

  post(app, 'admin', '/gdpr/erase', async (req, reply) => {
    const got = input(req, reply);
    if ('sent' in got) return got.sent;
    const { t } = ctxOf(env, req, '/gdpr');
    if (field(req.body, 'confirm', 3) !== 'yes')
      return show(req, reply, 400, { kind: 'error', text: t('gdpr.erase_confirm') });
    const result = eraseCard(deps.db, got.hash, got.actor, got.reason, { timezone: tz });
    return show(req, reply, 200, {
      kind: 'ok',
      text: `${t('gdpr.erased')} (${result.entries} / ${result.consents} / ${result.auditTombstoned})`,
    });
  });
}
