import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { audit } from '../../audit/audit.ts';
import type { ConsentKind } from '../../consent/consents.ts';
import { type AuditRow, auditSentence } from '../audit-words.ts';
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
  shortHash,
} from '../routing.ts';
import { localDate, localToUtc } from '../time.ts';
import {
  addUser,
  getUser,
  LANGUAGES,
  type Language,
  listUsers,
  ROLES,
  type Role,
  setDisabled,
  setRole,
  UserError,
} from '../users.ts';
import { noticeFromQuery } from './notice.ts';

const KINDS: ConsentKind[] = ['agreement', 'camera'];
const AUDIT_PAGE = 200;

interface ConsentResult {
  /** Admins only: staff never see card hashes (as on the entries page). */
  hash: string | undefined;
  status: ReturnType<RouteEnv['deps']['consents']['status']>;
  /** The kinds shown: all for admins; for staff only what they just registered, so signing reads nothing more. */
  kinds: readonly ConsentKind[];
}

function consentForms(ctx: PageContext, today: string, mayWithdraw: boolean, result?: ConsentResult) {
  const { t } = ctx;
  // Signing pre-ticks both (the usual paper form); a withdrawal ticks nothing, so only a deliberate tick withdraws.
  const kinds = (checked: boolean) =>
    KINDS.map(
      (k) =>
        html`<label class="check"><input type="checkbox" name="kind" value="${k}"${checked ? html` checked` : ''}> ${t(`consent.kind.${k}`)}</label>`,
    );
  const state = (k: ConsentKind, status: ConsentResult['status']) =>
    k === 'agreement'
      ? `${t(`consent.state.${status.agreement}`)}${status.agreementVersion ? ` (${status.agreementVersion})` : ''}`
      : t(`consent.state.${status.camera}`);
  return html`${
    result
      ? html`<section class="panel" id="consent-status"><h2>${t('consent.status')}</h2>
${result.hash ? html`<p>${t('common.card_hash')}: <code class="hash">${shortHash(result.hash)}</code></p>` : ''}
<dl>${result.kinds.map((k) => html`<dt>${t(`consent.kind.${k}`)}</dt><dd id="${k}-state">${state(k, result.status)}</dd>`)}</dl></section>`
      : ''
  }
<h2>${t('consent.register')}</h2>
<form method="post" action="/consent/sign" class="stack" id="sign-form" autocomplete="off">${csrfField(ctx)}
<label>${t('common.card')} <input name="card" required maxlength="64" autocomplete="off"></label>
<small class="muted">${t('common.card_hint')}</small>
<fieldset><legend>${t('consent.kind')}</legend>${kinds(true)}</fieldset>
<label>${t('consent.version')} <input name="version" required maxlength="40"></label>
<label>${t('consent.date')} <input name="date" type="date" required value="${today}"></label>
<button type="submit">${t('consent.register')}</button></form>
${
  mayWithdraw
    ? html`<h2>${t('consent.withdraw')}</h2>
<form method="post" action="/consent/withdraw" class="stack" id="withdraw-form" autocomplete="off">${csrfField(ctx)}
<label>${t('common.card')} <input name="card" required maxlength="64" autocomplete="off"></label>
<fieldset><legend>${t('consent.withdraw_hint')}</legend>${kinds(false)}</fieldset>
<label>${t('consent.date')} <input name="date" type="date" required value="${today}"></label>
<label>${t('common.reason')} <input name="reason" maxlength="500"></label>
<button type="submit">${t('consent.withdraw')}</button></form>`
    : ''
}`;
}

function usersBody(ctx: PageContext, env: RouteEnv) {
  const { t, fmt } = ctx;
  const users = listUsers(env.deps.db);
  return html`<div class="table-scroll" role="region" aria-label="${t('users.title')}" tabindex="0"><table id="users"><thead><tr><th>${t('users.name')}</th><th>${t('users.role')}</th><th>${t('common.language')}</th><th>${t('users.last_login')}</th><th></th></tr></thead>
<tbody>${users.map(
    (
      u,
    ) => html`<tr data-user="${u.name}"><td>${u.name}${u.disabled ? html` <span class="warn">(${t('users.disabled')})</span>` : ''}</td>
<td><form method="post" action="/users/${u.id}/role" class="inline">${csrfField(ctx)}<select name="role" aria-label="${t('users.role')}">${ROLES.map(
      (r) =>
        html`<option value="${r}"${r === u.role ? html` selected` : ''}>${t(`users.role.${r}`)}</option>`,
    )}</select><button type="submit">${t('users.change_role')}</button></form></td>
<td>${t(`lang.${u.language}`)}</td><td>${fmt(u.lastLoginAt)}</td>
<td><form method="post" action="/users/${u.id}/${u.disabled ? 'enable' : 'disable'}" class="inline">${csrfField(ctx)}<button type="submit">${t(u.disabled ? 'users.enable' : 'users.disable')}</button></form></td></tr>`,
  )}</tbody></table></div>
<h2>${t('users.add')}</h2>
<form method="post" action="/users" class="stack" autocomplete="off">${csrfField(ctx)}
<label>${t('users.name')} <input name="name" required maxlength="64" autocomplete="off"></label>
<label>${t('users.role')} <select name="role">${ROLES.map((r) => html`<option value="${r}">${t(`users.role.${r}`)}</option>`)}</select></label>
<label>${t('common.language')} <select name="language">${LANGUAGES.map((l) => html`<option value="${l}"${l === ctx.lang ? html` selected` : ''}>${t(`lang.${l}`)}</option>`)}</select></label>
<label>${t('users.password')} <input name="password" type="password" required minlength="12" maxlength="1024" autocomplete="new-password"></label>
<button type="submit">${t('users.add')}</button></form>`;
}

export function registerAdminRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { deps } = env;
  const tz = deps.config.site.timezone;

  const showConsent = (
    req: FastifyRequest,
    reply: FastifyReply,
    status = 200,
    notice?: Notice,
    done?: { hash: string; kinds: readonly ConsentKind[] },
  ) => {
    const ctx = ctxOf(env, req, '/consent');
    const isAdmin = ctx.user.role === 'admin';
    const result = done && {
      hash: isAdmin ? done.hash : undefined,
      status: deps.consents.status(done.hash),
      kinds: isAdmin ? KINDS : done.kinds,
    };
    const body = consentForms(ctx, localDate(Date.now(), tz), isAdmin, result);
    return sendHtml(reply, layout(ctx, ctx.t('consent.title'), body, { notice }), status);
  };

  // Which role registers signatures is a setting (the front desk, or admins only); the hook enforces it
  // like any fixed role. Withdrawing stays with admins.
  const signRole = deps.config.web.consent_sign_role;
  get(app, signRole, '/consent', async (req, reply) => showConsent(req, reply));

  const consentAction = (action: 'sign' | 'withdraw') => async (req: FastifyRequest, reply: FastifyReply) => {
    const { t } = ctxOf(env, req, '/consent');
    const user = sessionOf(req).user;
    const refuse = (key: MessageKey) => showConsent(req, reply, 400, { kind: 'error', text: t(key) });
    const card = cardHashFrom(env, req.body);
    if ('refused' in card) return refuse(card.refused);
    const kinds = [
      ...new Set(fields(req.body, 'kind').filter((k): k is ConsentKind => (KINDS as string[]).includes(k))),
    ];
    if (kinds.length === 0)
      return refuse(action === 'sign' ? 'consent.sign_none_ticked' : 'consent.withdraw_none_ticked');
    const date = field(req.body, 'date', 10);
    const at = localToUtc(date, '12:00', tz);
    const version = field(req.body, 'version', 40);
    if (at === undefined || at > Date.now() + 86_400_000 || (action === 'sign' && !version)) {
      return refuse('common.invalid');
    }
    for (const kind of kinds) {
      if (action === 'sign') deps.consents.sign(card.hash, kind, version, at, user.name);
      else
        deps.consents.withdraw(card.hash, kind, at, user.name, field(req.body, 'reason', 500) || undefined);
    }
    const text = t(action === 'sign' ? 'consent.signed_ok' : 'consent.withdrawn_ok');
    return showConsent(req, reply, 200, { kind: 'ok', text }, { hash: card.hash, kinds });
  };
  post(app, signRole, '/consent/sign', consentAction('sign'));
  post(app, 'admin', '/consent/withdraw', consentAction('withdraw'));

  get(app, 'admin', '/audit', async (req, reply) => {
    const ctx = ctxOf(env, req, '/audit');
    const { t, fmt } = ctx;
    const before = Number(field(req.query, 'before', 16));
    const subject = field(req.query, 'subject', 200);
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (Number.isInteger(before) && before > 0) {
      where.push('id < ?');
      args.push(before);
    }
    if (subject) {
      where.push('subject = ?');
      args.push(subject);
    }
    const rows = deps.db
      .prepare(
        `SELECT id, ts, actor, action, subject, reason, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${AUDIT_PAGE}`,
      )
      .all(...args) as AuditRow[];
    const words = { config: deps.config, roles: new Map(listUsers(deps.db).map((u) => [u.name, u.role])) };
    const last = rows.at(-1);
    const body = html`<form method="get" action="/audit"><label>${t('common.subject')} <input name="subject" value="${subject}" maxlength="200"></label><button type="submit">${t('common.show')}</button></form>
<div class="table-scroll" role="region" aria-label="${t('audit.title')}" tabindex="0"><table id="audit"><thead><tr><th scope="col">${t('common.time')}</th><th scope="col">${t('audit.what')}</th><th scope="col">${t('common.reason')}</th></tr></thead>
<tbody>${rows.map(
      (r) =>
        html`<tr data-action="${r.action}"><td>${fmt(r.ts)}</td><td>${auditSentence(ctx, words, r)}</td><td>${r.reason ?? ''}</td></tr>`,
    )}</tbody></table></div>
${rows.length === AUDIT_PAGE && last ? html`<p><a href="/audit?${new URLSearchParams({ subject, before: String(last.id) }).toString()}">${t('common.next')} →</a></p>` : ''}`;
    return sendHtml(reply, layout(ctx, t('audit.title'), body));
  });

  const showUsers = (req: FastifyRequest, reply: FastifyReply, status = 200, notice?: Notice) => {
    const ctx = ctxOf(env, req, '/users');
    return sendHtml(
      reply,
      layout(ctx, ctx.t('users.title'), usersBody(ctx, env), {
        notice: notice ?? noticeFromQuery(req, ctx.t),
      }),
      status,
    );
  };
  get(app, 'admin', '/users', async (req, reply) => showUsers(req, reply));

  const userError = (req: FastifyRequest, reply: FastifyReply, error: unknown) => {
    if (error instanceof UserError) return showUsers(req, reply, 400, { kind: 'error', text: error.message });
    throw error;
  };

  post(app, 'admin', '/users', async (req, reply) => {
    const actor = sessionOf(req).user.name;
    try {
      const user = await addUser(deps.db, {
        name: field(req.body, 'name', 64),
        role: field(req.body, 'role', 10) as Role,
        language: field(req.body, 'language', 2) as Language,
        password: field(req.body, 'password', 1024),
      });
      audit(deps.db, { actor, action: 'user.add', subject: user.name, detail: { role: user.role } });
    } catch (error) {
      return userError(req, reply, error);
    }
    return reply.redirect('/users?n=done', 303);
  });

  const userAction =
    (action: 'disable' | 'enable' | 'role') => async (req: FastifyRequest, reply: FastifyReply) => {
      const actor = sessionOf(req).user.name;
      const user = getUser(deps.db, Number((req.params as { id: string }).id));
      if (!user) return reply.code(404).send({ error: 'no such user' });
      try {
        if (action === 'role') {
          const role = field(req.body, 'role', 10) as Role;
          setRole(deps.db, user.id, role);
          audit(deps.db, {
            actor,
            action: 'user.role',
            subject: user.name,
            detail: { from: user.role, to: role },
          });
        } else {
          setDisabled(deps.db, user.id, action === 'disable');
          audit(deps.db, { actor, action: `user.${action}`, subject: user.name });
        }
      } catch (error) {
        return userError(req, reply, error);
      }
      return reply.redirect('/users?n=done', 303);
    };
  post(app, 'admin', '/users/:id/disable', userAction('disable'));
  post(app, 'admin', '/users/:id/enable', userAction('enable'));
  post(app, 'admin', '/users/:id/role', userAction('role'));
}
