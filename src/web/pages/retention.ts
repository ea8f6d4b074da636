import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { audit } from '../../audit/audit.ts';
import type { DorvaktConfig } from '../../config/types.ts';
import {
  type ExportCase,
  ExportRefused,
  type NvrAdminAccess,
  type RetentionHealth,
} from '../../contract/nvr-admin.ts';
import { html } from '../html.ts';
import { FINDING_LABELS } from '../i18n.ts';
import { csrfField, layout, type Notice, type PageContext } from '../layout.ts';
import { ctxOf, field, fields, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { localToUtc } from '../time.ts';
import { noticeFromQuery } from './notice.ts';

const MIN_REASON = 3;
const ACTIVE_HOLD: ExportCase['state'][] = ['held', 'requested', 'exported', 'failed'];

function notConfigured(ctx: PageContext) {
  return html`<p class="notice error" id="nvr-missing">${ctx.t('retention.not_configured')}</p>`;
}

/** What the retention pages show, read from the controller (in the door process) in one go. */
async function retentionView(nvr: NvrAdminAccess): Promise<{ h: RetentionHealth; cases: ExportCase[] }> {
  const [h, cases] = await Promise.all([nvr.health(), nvr.listExports()]);
  return { h, cases };
}

function retentionBody(ctx: PageContext, { h, cases }: { h: RetentionHealth; cases: ExportCase[] }) {
  const { t, fmt } = ctx;
  const holds = cases.filter((c) => ACTIVE_HOLD.includes(c.state));
  return html`${h.breach ? html`<p class="notice error breach" id="breach">${t('retention.breach')}</p>` : ''}
${h.unreachable ? html`<p class="notice error" id="unreachable">${t('retention.unreachable')}</p>` : ''}
${h.forgery ? html`<p class="notice error" id="forgery">${t('retention.forgery')}</p>` : ''}
${!h.breach && !h.unreachable && !h.forgery ? html`<p class="notice ok">${t('retention.ok')}</p>` : ''}
<dl class="panel">
<dt>${t('retention.days')}</dt><dd>${h.retentionDays}</dd>
<dt>${t('retention.last_purge')}</dt><dd>${fmt(h.lastPurgeRequestAt)}</dd>
<dt>${t('retention.last_answer')}</dt><dd>${fmt(h.lastPurgeAnsweredAt)}</dd>
<dt>${t('retention.deleted')}</dt><dd>${h.lastPurgeDeleted ?? '—'}</dd>
<dt>${t('retention.oldest')}</dt><dd>${fmt(h.oldest)}</dd>
<dt>${t('retention.status_at')}</dt><dd>${fmt(h.statusAt)}</dd>
<dt>${t('retention.pending')}</dt><dd>${h.pendingRequests}</dd>
${h.recorder ? html`<dt>${t('retention.recorder')}</dt><dd id="recorder">${h.recorder.note}</dd>` : ''}
</dl>
${findingsBody(ctx, h)}
<div class="table-scroll" role="region" aria-label="${t('retention.title')}" tabindex="0"><table><thead><tr><th>${t('retention.camera')}</th><th>${t('retention.oldest')}</th><th>${t('retention.files')}</th></tr></thead>
<tbody>${h.cameras.map((c) => html`<tr><td>${c.name}</td><td>${fmt(c.oldest)}</td><td>${c.files}</td></tr>`)}</tbody></table></div>
<h2>${t('retention.holds')}</h2>
${
  holds.length === 0
    ? html`<p>${t('common.none')}</p>`
    : html`<div class="table-scroll" role="region" aria-label="${t('retention.holds')}" tabindex="0"><table><thead><tr><th>${t('exports.case')}</th><th>${t('exports.window')}</th><th>${t('exports.state')}</th><th>${t('retention.hold_expires')}</th></tr></thead>
<tbody>${holds.map((c) => html`<tr><td>${c.caseNumber}</td><td>${fmt(c.from)} – ${fmt(c.to)}</td><td>${c.state}</td><td>${fmt(c.holdExpiresAt)}</td></tr>`)}</tbody></table></div>`
}`;
}

/** Each finding the agent reports, in plain words with its kind, and the places it could not check. */
function findingsBody(ctx: PageContext, h: RetentionHealth) {
  const { t, fmt } = ctx;
  return html`${
    h.findings.length === 0
      ? ''
      : html`<h2>${t('retention.findings')}</h2>
<div class="table-scroll" role="region" aria-label="${t('retention.findings')}" tabindex="0"><table id="findings"><thead><tr><th>${t('retention.finding_what')}</th><th>${t('retention.camera')}</th><th>${t('retention.finding_detail')}</th><th>${t('retention.finding_count')}</th><th>${t('retention.oldest')}</th></tr></thead>
<tbody>${h.findings.map(
          (f) =>
            html`<tr data-kind="${f.kind}"><td>${FINDING_LABELS[f.kind]?.[ctx.lang] ?? f.kind} <code>${f.kind}</code></td><td>${f.camera ?? '—'}</td><td>${f.detail}</td><td>${f.count ?? '—'}</td><td>${f.oldest ? fmt(f.oldest) : '—'}</td></tr>`,
        )}</tbody></table></div>`
  }${
    h.skipped.length === 0
      ? ''
      : html`<h2>${t('retention.skipped')}</h2>
<ul id="skipped">${h.skipped.map((p) => html`<li><code>${p.path}</code>: ${p.why}</li>`)}</ul>`
  }`;
}

/** The cameras an export may name: the configured ones, else those the recorder reports. */
function knownCameras(config: DorvaktConfig, h: RetentionHealth): string[] {
  return config.nvr.cameras.length > 0 ? config.nvr.cameras : h.cameras.map((c) => c.name);
}

/** A refusal in the admin's words, its times in the site's zone (as the admin typed them). */
function refusalText(ctx: PageContext, error: ExportRefused): string {
  const { t, fmt } = ctx;
  const d = error.detail;
  const words = (() => {
    switch (d?.code) {
      case 'before_retention':
        return t('exports.refused.before_retention', {
          cutoff: fmt(d.cutoff),
          from: fmt(d.from),
          days: d.days,
        });
      case 'too_wide':
        return t('exports.refused.too_wide', { hours: d.hours, max: d.max });
      case 'in_future':
        return t('exports.refused.in_future', { to: fmt(d.to) });
      case 'order':
        return t('exports.refused.order');
      case 'unknown_camera':
        return t('exports.refused.unknown_camera', { camera: d.camera });
      default:
        // Anything else keeps the controller's words, with its UTC times made local.
        return error.message.replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, (iso) => fmt(iso));
    }
  })();
  return `${t('exports.refused')}: ${words}`;
}

function exportsBody(
  config: DorvaktConfig,
  ctx: PageContext,
  { h, cases }: { h: RetentionHealth; cases: ExportCase[] },
  draft: Record<string, string> = {},
) {
  const { t, fmt } = ctx;
  const cameras = knownCameras(config, h);
  const ticked = new Set((draft['cameras'] ?? '').split(',').filter(Boolean));
  const open = cases.filter((c) => c.state !== 'closed' && c.state !== 'expired');
  return html`<h2>${t('exports.open')}</h2>
<form method="post" action="/exports" class="stack" id="open-export">${csrfField(ctx)}
<label>${t('exports.case')} <input name="case" required maxlength="100" value="${draft['case'] ?? ''}"></label>
<label>${t('exports.authority')} <input name="authority" required maxlength="200" value="${draft['authority'] ?? ''}"></label>
<label>${t('common.from')} <input name="from" type="datetime-local" required value="${draft['from'] ?? ''}"></label>
<label>${t('common.to')} <input name="to" type="datetime-local" required value="${draft['to'] ?? ''}"></label>
<fieldset id="export-cameras"><legend>${t('exports.cameras')}</legend>${cameras.map(
    (c) =>
      html`<label class="check"><input type="checkbox" name="camera" value="${c}"${ticked.has(c) ? html` checked` : ''}> ${c}</label>`,
  )}<small class="muted">${t('exports.cameras_hint')}</small></fieldset>
<label>${t('common.reason')} <input name="reason" required minlength="${MIN_REASON}" maxlength="500" value="${draft['reason'] ?? ''}"></label>
<button type="submit">${t('exports.open')}</button></form>
<h2>${t('exports.title')}</h2>
${
  cases.length === 0
    ? html`<p>${t('exports.none')}</p>`
    : html`<div class="table-scroll" role="region" aria-label="${t('exports.title')}" tabindex="0"><table id="exports"><thead><tr><th>${t('exports.case')}</th><th>${t('exports.authority')}</th><th>${t('exports.window')}</th><th>${t('exports.state')}</th>
<th>${t('exports.location')}</th><th>${t('exports.sha256')}</th><th>${t('retention.hold_expires')}</th><th></th></tr></thead>
<tbody>${cases.map(
        (
          c,
        ) => html`<tr data-export="${c.id}" data-state="${c.state}"><td>${c.caseNumber}</td><td>${c.authority}</td><td>${fmt(c.from)} – ${fmt(c.to)}<br><small>${c.cameras.join(', ')}</small></td>
<td class="state">${c.state}${c.error ? html`<br><small class="warn">${c.error}</small>` : ''}</td><td>${c.location ?? '—'}</td><td><code class="hash">${c.sha256 ?? '—'}</code></td><td>${fmt(c.holdExpiresAt)}</td>
<td>${open.includes(c) ? html`<form method="post" action="/exports/${c.id}/close" class="inline">${csrfField(ctx)}<input name="reason" required minlength="${MIN_REASON}" maxlength="500" placeholder="${t('common.reason')}" aria-label="${t('common.reason')}"><button type="submit" name="action" value="close">${t('exports.close')}</button><button type="submit" formaction="/exports/${c.id}/renew">${t('exports.renew')}</button></form>` : ''}</td></tr>`,
      )}</tbody></table></div>`
}`;
}

export function registerRetentionRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const tz = deps.config.site.timezone;

  get(app, 'staff', '/retention', async (req, reply) => {
    const ctx = ctxOf(env, req, '/retention');
    const body = deps.nvr ? retentionBody(ctx, await retentionView(deps.nvr)) : notConfigured(ctx);
    return sendHtml(reply, layout(ctx, ctx.t('retention.title'), body));
  });

  const showExports = async (
    req: FastifyRequest,
    reply: FastifyReply,
    status = 200,
    notice?: Notice,
    draft?: Record<string, string>,
  ) => {
    const ctx = ctxOf(env, req, '/exports');
    const body = deps.nvr
      ? exportsBody(deps.config, ctx, await retentionView(deps.nvr), draft)
      : notConfigured(ctx);
    return sendHtml(
      reply,
      layout(ctx, ctx.t('exports.title'), body, { notice: notice ?? noticeFromQuery(req, ctx.t) }),
      status,
    );
  };

  get(app, 'admin', '/exports', async (req, reply) => showExports(req, reply));

  post(app, 'admin', '/exports', async (req, reply) => {
    const nvr = deps.nvr;
    if (!nvr) return showExports(req, reply, 503);
    const user = sessionOf(req).user;
    const draft = Object.fromEntries(
      ['case', 'authority', 'from', 'to', 'reason'].map((k) => [k, field(req.body, k, 500)]),
    );
    draft['cameras'] = fields(req.body, 'camera').join(',');
    const ctx = ctxOf(env, req, '/exports');
    const parse = (value: string) => {
      const [date, time] = value.split('T');
      const ms = date ? localToUtc(date, time?.slice(0, 5), tz) : undefined;
      return ms === undefined ? undefined : new Date(ms).toISOString();
    };
    const from = parse(draft['from']!);
    const to = parse(draft['to']!);
    if (!draft['case'] || !draft['authority'] || !from || !to || draft['reason']!.length < MIN_REASON) {
      return showExports(req, reply, 400, { kind: 'error', text: ctx.t('common.invalid') }, draft);
    }
    try {
      const opened = await nvr.openExport({
        caseNumber: draft['case']!,
        authority: draft['authority']!,
        from,
        to,
        cameras: draft['cameras']!.split(',').filter(Boolean),
        reason: draft['reason']!,
        actor: user.name,
      });
      // The controller audits its own actions; this row records that it came through the dashboard.
      audit(deps.db, {
        actor: user.name,
        action: 'web.export_opened',
        subject: opened.id,
        reason: opened.reason,
      });
    } catch (error) {
      if (error instanceof ExportRefused) {
        return showExports(req, reply, 409, { kind: 'error', text: refusalText(ctx, error) }, draft);
      }
      throw error;
    }
    return reply.redirect('/exports?n=done', 303);
  });

  const caseAction = (kind: 'close' | 'renew') => async (req: FastifyRequest, reply: FastifyReply) => {
    const nvr = deps.nvr;
    if (!nvr) return showExports(req, reply, 503);
    const id = (req.params as { id: string }).id;
    const reason = field(req.body, 'reason', 500);
    if (reason.length < MIN_REASON) return reply.redirect('/exports?n=reason', 303);
    const user = sessionOf(req).user;
    if (!(await nvr.listExports()).some((c) => c.id === id))
      return reply.code(404).send({ error: 'no such export' });
    try {
      if (kind === 'close') await nvr.closeExport(id, user.name, reason);
      else await nvr.renewHold(id, user.name, reason);
      audit(deps.db, { actor: user.name, action: `web.export_${kind}`, subject: id, reason });
    } catch (error) {
      if (error instanceof ExportRefused) {
        const ctx = ctxOf(env, req, '/exports');
        return showExports(req, reply, 409, { kind: 'error', text: refusalText(ctx, error) });
      }
      throw error;
    }
    return reply.redirect('/exports?n=done', 303);
  };
  post(app, 'admin', '/exports/:id/close', caseAction('close'));
  post(app, 'admin', '/exports/:id/renew', caseAction('renew'));
}
