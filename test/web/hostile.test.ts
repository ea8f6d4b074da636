import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, form, type Harness, type Login, login, startHarness } from './fixtures.ts';

describe('hostile HTTP', () => {
  let h: Harness;
  let admin: Login;
  beforeAll(async () => {
    h = await startHarness({ web: { body_limit_bytes: 4096 } });
    admin = await login(h.app, ADMIN);
  });
  afterAll(async () => h?.close());

  const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: {
        cookie: admin.cookie,
        'x-csrf-token': admin.csrf,
        'content-type': 'application/x-www-form-urlencoded',
        ...headers,
      },
      payload,
    });

  it('refuses an oversized body with 413 and no stack trace', async () => {
    for (const url of ['/consent/sign', '/login']) {
      const res = await post(url, form({ reason: 'x'.repeat(10_000) }));
      expect(res.statusCode, url).toBe(413);
      expect(res.body).not.toMatch(/at .*\.ts|node_modules/);
    }
  });

  it('answers malformed JSON with 400 and unknown content types with 415', async () => {
    const bad = await post('/consent/sign', '{"card": ', { 'content-type': 'application/json' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: expect.any(String) });
    expect((await post('/consent/sign', 'x', { 'content-type': 'application/x-evil' })).statusCode).toBe(415);
  });

  it('serves only the listed static files: no path traversal', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/static/app.css' })).statusCode).toBe(200);
    for (const url of [
      '/static/..%2fserver.ts',
      '/static/..%2F..%2Fpackage.json',
      '/static/%2e%2e%2f%2e%2e%2fstore%2fdb.ts',
      '/static/../server.ts',
      '/static/....//....//etc/passwd',
      '/static/%00app.css',
      '/static/app.css%00.js',
      '/static/constructor',
      '/static/__proto__',
      '/static/hasOwnProperty',
    ]) {
      const res = await h.app.inject({ method: 'GET', url });
      // Either refused outright, or normalised to a non-static path that needs a session.
      expect([400, 404, 303], url).toContain(res.statusCode);
      if (res.statusCode === 303) expect(res.headers.location).toBe('/login');
      expect(res.body, url).not.toMatch(/import |root:|createServer/);
    }
  });

  it('treats bad cookies as no session, never as an error', async () => {
    for (const cookie of [
      'dorvakt_session=',
      'dorvakt_session=%E0%A4%A',
      `dorvakt_session=${'A'.repeat(5000)}`,
      'dorvakt_session="unterminated',
      'dorvakt_session=a; dorvakt_session=b',
      '=;=;;;==',
      'dorvakt_session=../../etc/passwd',
      `dorvakt_session=${Buffer.alloc(32).toString('base64url')}`,
    ]) {
      const api = await h.app.inject({ method: 'GET', url: '/api/state', headers: { cookie } });
      expect(api.statusCode, cookie).toBe(401);
      const page = await h.app.inject({ method: 'GET', url: '/now', headers: { cookie } });
      expect(page.statusCode, cookie).toBe(303);
    }
  });

  it('escapes what it shows: an alarm detail or an entry category with markup', async () => {
    h.alarms.raise('reader_offline', 'main', '<img src=x onerror=alert(1)>');
    h.db
      .prepare(
        "INSERT INTO entries (ts, door, mode, outcome, reason, category) VALUES (?, 'main', 'staffless', 'granted', 'allow', ?)",
      )
      .run(Date.now(), '<script>alert(1)</script>');
    const now = await h.app.inject({ method: 'GET', url: '/now', headers: { cookie: admin.cookie } });
    expect(now.body).not.toContain('<img src=x');
    expect(now.body).not.toContain('<script>alert');
    expect(now.body).toContain('&#60;img src=x');
    const entries = await h.app.inject({ method: 'GET', url: '/entries', headers: { cookie: admin.cookie } });
    expect(entries.body).toContain('&#60;script&#62;alert(1)');
  });

  it('does not redirect anywhere but local paths after a language change', async () => {
    const res = await post('/me/language', form({ language: 'nb', back: 'https://evil.example/' }));
    expect(res.headers.location).toBe('/now');
    const ok = await post('/me/language', form({ language: 'en', back: '/stats' }));
    expect(ok.headers.location).toBe('/stats');
    expect((await post('/me/language', form({ language: 'xx' }))).statusCode).toBe(400);
  });

  it('ignores junk query parameters and ids', async () => {
    for (const url of [
      '/entries?before=abc&from=2026-99-99&door=%00',
      '/audit?before=-1&subject=%27%3B--',
      '/stats?from=x&to=y',
    ]) {
      expect(
        (await h.app.inject({ method: 'GET', url, headers: { cookie: admin.cookie } })).statusCode,
        url,
      ).toBe(200);
    }
    expect((await post('/alarms/abc/ack', '')).headers.location).toBe('/now?n=invalid');
    expect((await post('/doors/nope/unlock', form({ reason: 'because', minutes: '5' }))).statusCode).toBe(
      404,
    );
    expect((await post('/users/999/disable', '')).statusCode).toBe(404);
  });
});
