import type { FastifyInstance } from 'fastify';
import { html } from '../html.ts';
import { csrfField, layout } from '../layout.ts';
import { ctxOf, field, get, post, type RouteEnv, sendHtml, sessionOf } from '../routing.ts';
import { LANGUAGES, type Language, setPreferences } from '../users.ts';

/** Each user's own settings: the dashboard's language and whether a new alarm plays a sound. */
export function registerSettingsRoutes(app: FastifyInstance, env: RouteEnv): void {
  get(app, 'staff', '/settings', async (req, reply) => {
    const ctx = ctxOf(env, req, '/settings');
    const { t, user } = ctx;
    const saved = field(req.query, 'n', 8) === 'saved';
    const body = html`<form method="post" action="/settings" class="settings">${csrfField(ctx)}
<label>${t('settings.language')} <select name="language">${LANGUAGES.map(
      (l) =>
        html`<option value="${l}" lang="${l}"${l === user.language ? html` selected` : ''}>${t(`lang.${l}`)}</option>`,
    )}</select></label>
<div class="check"><input type="checkbox" id="sound" name="sound" value="on" aria-describedby="sound-hint"${user.sound ? html` checked` : ''}>
<label for="sound">${t('settings.sound')}</label></div>
<p id="sound-hint" class="muted">${t('settings.sound_hint')}</p>
<button type="submit">${t('common.save')}</button></form>`;
    return sendHtml(
      reply,
      layout(ctx, t('settings.title'), body, {
        notice: saved ? { kind: 'ok', text: t('settings.saved') } : undefined,
      }),
    );
  });

  post(app, 'staff', '/settings', async (req, reply) => {
    const language = field(req.body, 'language', 2) as Language;
    if (!LANGUAGES.includes(language)) return reply.code(400).send({ error: 'bad language' });
    setPreferences(env.deps.db, sessionOf(req).user.id, {
      language,
      sound: field(req.body, 'sound', 3) === 'on',
    });
    return reply.redirect('/settings?n=saved', 303);
  });
}
