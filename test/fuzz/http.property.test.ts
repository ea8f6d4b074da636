import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Harness, type Login, login, startHarness } from '../web/fixtures.ts';

/**
 * Hostile HTTP against the dashboard: random paths (traversal, encodings), random cookies, random bodies
 * and content types, with and without a session. Never a 5xx, never a stack trace, never a protected
 * page to a stranger, never a state change without the session's CSRF token, never a card number in the log.
 */
describe('hostile HTTP (fast-check)', () => {
  let h: Harness;
  let admin: Login;
  const routes: { method: string; url: string; access: string }[] = [];

  beforeAll(async () => {
    h = await startHarness({
      web: { body_limit_bytes: 4096, login_ip_lockout_attempts: 1000, login_lockout_attempts: 100 },
    });
    admin = await login(h.app, ADMIN);
    routes.push(...(h.app as unknown as { dorvaktRoutes: typeof routes }).dorvaktRoutes);
  });
  afterAll(async () => h?.close());

  const segment = fc.oneof(
    fc.constantFrom(
      '..',
      '%2e%2e',
      '%2F',
      '..%2f',
      'static',
      'now',
      'api',
      'state',
      'events',
      'login',
      '%00',
      'etc',
      'passwd',
      '~',
      '%c0%ae',
    ),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
  );
  const path = fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
  const cookie = fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 80 }).map((s) => `dorvakt_session=${encodeURIComponent(s)}`),
    fc.string({ maxLength: 200 }).map((s) => s.replace(/[\r\n]/g, '')),
  );
  const contentType = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/x-evil',
  );

  it('strangers get 401/3xx/404/4xx on any path, never a protected page or a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
        path,
        cookie,
        async (method, url, c) => {
          const res = await h.app.inject({ method: method as 'GET', url, headers: c ? { cookie: c } : {} });
          expect(res.statusCode).toBeLessThan(500);
          expect(res.body).not.toMatch(/at .*\.ts:\d|node_modules/);
          const route = routes.find((r) => r.method === method && r.url === url.split('?')[0]);
          if (res.statusCode === 200 && method !== 'HEAD') expect(route?.access ?? 'public').toBe('public');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random bodies to every state-changing route: no 5xx, and nothing changes without the CSRF token', async () => {
    const posts = routes.filter((r) => r.method === 'POST' && !r.url.includes(':'));
    const count = () =>
      h.db.prepare('SELECT (SELECT COUNT(*) FROM consents) + (SELECT COUNT(*) FROM audit)').pluck().get();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...posts.map((r) => r.url)),
        contentType,
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.json({ maxDepth: 3 }),
          fc.uint8Array({ maxLength: 5000 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        async (url, type, payload) => {
          const before = count();
          const res = await h.app.inject({
            method: 'POST',
            url,
            headers: { cookie: admin.cookie, 'content-type': type },
            payload,
          });
          expect(res.statusCode).toBeLessThan(500);
          expect(res.body).not.toMatch(/at .*\.ts:\d|node_modules/);
          if (url !== '/login') expect(count()).toBe(before);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never writes a card number given in a form to the log', async () => {
    await h.app.inject({
      method: 'POST',
      url: '/consent/sign',
      headers: {
        cookie: admin.cookie,
        'x-csrf-token': admin.csrf,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'card=98765432123&kind=agreement&version=1',
    });
    expect(h.logLines.join('')).not.toContain('98765432123');
  });
});
