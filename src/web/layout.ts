import type { AlarmSummary } from './alarm-view.ts';
import { type Html, html, type HtmlValue, trusted } from './html.ts';
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
  /** The site's emergency mode in force: a banner on every page. */
  emergency?: { mode: 'nobody' | 'everybody'; until: number } | null | undefined;
  /** Unacknowledged alarms: the count in the tab title; the page script announces newer ones. */
  alarms: AlarmSummary;
}

export function pageContext(input: {
  user: WebUser;
  csrf: string;
  timeZone: string;
  siteName: string;
  path: string;
  consentSignRole?: 'staff' | 'admin' | undefined;
  emergency?: { mode: 'nobody' | 'everybody'; until: number } | null | undefined;
  alarms?: AlarmSummary | undefined;
}): PageContext {
  const lang = input.user.language;
  return {
    ...input,
    alarms: input.alarms ?? { unacknowledged: 0, newest: null },
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
  { path: '/alarms', key: 'nav.alarms', admin: false },
  { path: '/entries', key: 'nav.entries', admin: false },
  { path: '/check', key: 'nav.check', admin: false },
  { path: '/stats', key: 'nav.stats', admin: false },
  { path: '/retention', key: 'nav.retention', admin: false },
  { path: '/exports', key: 'nav.exports', admin: true },
  { path: '/consent', key: 'nav.consent', admin: true },
  { path: '/access', key: 'nav.access', admin: true },
  { path: '/emergency', key: 'nav.emergency', admin: true },
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

/** Shown on every page while an emergency mode is in force (it ends by itself at `until`). */
export function emergencyBanner(ctx: PageContext): Html {
  const emergency = ctx.emergency;
  if (!emergency) return html``;
  const text = ctx.t(`emergency.banner.${emergency.mode}`, { until: ctx.fmt(emergency.until) });
  return html`<p class="notice error emergency-banner" role="alert" id="emergency-banner">${text}${
    ctx.user.role === 'admin' ? html` <a href="/emergency">${ctx.t('emergency.title')}</a>` : ''
  }</p>`;
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
    (n) =>
      html`<li><a href="${n.path}"${n.path === ctx.path ? html` aria-current="page"` : ''}>${t(n.key)}</a></li>`,
  );
  return `<!doctype html>${html`<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${ctx.csrf}">
<title>${ctx.alarms.unacknowledged > 0 ? `(${ctx.alarms.unacknowledged}) ` : ''}${title} · ${ctx.siteName || t('app.title')}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
${alarmHead(ctx)}
${options.head}
<script src="/static/alarms.js" defer></script>
${options.script ? html`<script src="/static/${options.script}" defer></script>` : ''}
<script src="/static/menu.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${t('nav.skip')}</a>
<header>
<strong class="brand">${t('app.title')}${ctx.siteName ? html` · ${ctx.siteName}` : ''}</strong>
<div class="me">
<a class="who" href="/settings"${ctx.path === '/settings' ? html` aria-current="page"` : ''} title="${t('nav.settings')}">${ctx.user.name} <span class="role">(${t(ctx.user.role === 'admin' ? 'users.role.admin' : 'users.role.staff')})</span></a>
<form method="post" action="/me/language" class="inline">${csrfField(ctx)}<input type="hidden" name="back" value="${ctx.path}">
<select name="language" aria-label="${t('common.language')}">${LANGUAGES.map(
    (l) => html`<option value="${l}"${l === ctx.lang ? html` selected` : ''}>${t(`lang.${l}`)}</option>`,
  )}</select><button type="submit">${t('common.save')}</button></form>
<form method="post" action="/logout" class="inline">${csrfField(ctx)}<button type="submit">${t('nav.logout')}</button></form>
</div>
<nav aria-label="${t('nav.menu')}"><ul>${nav}</ul></nav>
</header>
<main id="main" tabindex="-1">
${emergencyBanner(ctx)}
<h1>${title}</h1>
<p class="notify-bar"><button type="button" id="notify-enable" hidden>${t('alarms.notify_enable')}</button><span id="notify-state" class="muted" role="status"></span></p>
${noticeBox(options.notice)}
${body}
</main>
</body>
</html>`}`;
}

/**
 * What alarms.js needs on every page: the count and newest alarm already shown (so loading a page never
 * rings), the user's sound setting and the words for notifications. A JSON data block: the CSP allows it.
 */
function alarmHead(ctx: PageContext): Html {
  const data = {
    summary: ctx.alarms,
    sound: ctx.user.sound,
    words: {
      newAlarm: ctx.t('alarms.new'),
      notifyOn: ctx.t('alarms.notify_on'),
      notifyBlocked: ctx.t('alarms.notify_blocked'),
    },
  };
  return html`<script type="application/json" id="alarm-data">${trusted(JSON.stringify(data).replace(/</g, '\\u003c'))}</script>`;
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
<main id="main">
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
