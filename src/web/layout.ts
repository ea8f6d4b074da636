import { type Html, html, type HtmlValue } from './html.ts';
import { type MessageKey, type Translate, translator } from './i18n.ts';
import { formatDateTime } from './time.ts';
import type { Language, WebUser } from './users.ts';
import { LANGUAGES } from './users.ts';

/** What every screen needs to render for one user. */
export interface PageContext {
  user: WebUser;
  csrf: string;
  t: Translate;
  lang: Language;
  timeZone: string;
  siteName: string;
  fmt: (value: number | string | null | undefined) => string;
  /** The page being shown, to mark the nav entry. */
  path: string;
  /** web.consent_sign_role: when `staff`, staff see the consent page in the menu. */
  consentSignRole?: 'staff' | 'admin' | undefined;
}

export function pageContext(input: {
  user: WebUser;
  csrf: string;
  timeZone: string;
  siteName: string;
  path: string;
  consentSignRole?: 'staff' | 'admin' | undefined;
}): PageContext {
  const lang = input.user.language;
  return {
    ...input,
    lang,
    t: translator(lang),
    fmt: (value) => formatDateTime(value, lang, input.timeZone),
  };
}

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

const NAV: { path: string; key: MessageKey; admin: boolean }[] = [
  { path: '/now', key: 'nav.now', admin: false },
  { path: '/entries', key: 'nav.entries', admin: false },
  { path: '/check', key: 'nav.check', admin: false },
  { path: '/stats', key: 'nav.stats', admin: false },
  { path: '/retention', key: 'nav.retention', admin: false },
  { path: '/exports', key: 'nav.exports', admin: true },
  { path: '/consent', key: 'nav.consent', admin: true },
  { path: '/cards', key: 'nav.cards', admin: true },
  { path: '/gdpr', key: 'nav.gdpr', admin: true },
  { path: '/audit', key: 'nav.audit', admin: true },
  { path: '/users', key: 'nav.users', admin: true },
];

export const csrfField = (ctx: PageContext): Html =>
  html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;

export function noticeBox(notice: Notice | undefined): Html {
  if (!notice) return html``;
  return html`<p class="notice ${notice.kind}" role="${notice.kind === 'error' ? 'alert' : 'status'}">${notice.text}</p>`;
}

export function layout(
  ctx: PageContext,
  title: string,
  body: HtmlValue,
  options: { notice?: Notice | undefined; script?: string; head?: HtmlValue } = {},
): string {
  const { t } = ctx;
  const visible = (n: (typeof NAV)[number]) =>
    !n.admin || ctx.user.role === 'admin' || (n.path === '/consent' && ctx.consentSignRole === 'staff');
  const nav = NAV.filter(visible).map(
    (n) => html`<a href="${n.path}"${n.path === ctx.path ? html` aria-current="page"` : ''}>${t(n.key)}</a>`,
  );
  return `<!doctype html>${html`<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${ctx.csrf}">
<title>${title} · ${ctx.siteName || t('app.title')}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
${options.head}
${options.script ? html`<script src="/static/${options.script}" defer></script>` : ''}
</head>
<body>
<header>
<strong class="brand">${t('app.title')}${ctx.siteName ? html` · ${ctx.siteName}` : ''}</strong>
<nav>${nav}</nav>
<div class="me">
<span>${ctx.user.name} (${t(ctx.user.role === 'admin' ? 'users.role.admin' : 'users.role.staff')})</span>
<form method="post" action="/me/language" class="inline">${csrfField(ctx)}<input type="hidden" name="back" value="${ctx.path}">
<select name="language" aria-label="${t('common.language')}">${LANGUAGES.map(
    (l) => html`<option value="${l}"${l === ctx.lang ? html` selected` : ''}>${t(`lang.${l}`)}</option>`,
  )}</select><button type="submit">${t('common.save')}</button></form>
<form method="post" action="/logout" class="inline">${csrfField(ctx)}<button type="submit">${t('nav.logout')}</button></form>
</div>
</header>
<main>
<h1>${title}</h1>
${noticeBox(options.notice)}
${body}
</main>
</body>
</html>`}`;
}

/** The login page has no user yet. */
export function loginPage(input: {
  lang: Language;
  loginCsrf: string;
  notice?: Notice | undefined;
  plainHttp: boolean;
  siteName: string;
}): string {
  const t = translator(input.lang);
  return `<!doctype html>${html`<html lang="${input.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t('login.title')} · ${input.siteName || t('app.title')}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
</head>
<body class="login">
<main>
<h1>${t('app.title')}${input.siteName ? html` · ${input.siteName}` : ''}</h1>
${input.plainHttp ? html`<p class="notice error">${t('login.plain_http')}</p>` : ''}
${noticeBox(input.notice)}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${input.loginCsrf}">
<label>${t('login.user')} <input name="name" autocomplete="username" required maxlength="64" autofocus></label>
<label>${t('login.password')} <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">${t('login.submit')}</button>
</form>
</main>
</body>
</html>`}`;
}

/** A bare error page for signed-in users. */
export function errorPage(ctx: PageContext, key: MessageKey): string {
  return layout(ctx, ctx.t(key), html``);
}
