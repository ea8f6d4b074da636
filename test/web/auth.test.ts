import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { createAuthedApp } from '../../src/web/auth-app.ts';
import { get, post, sendHtml, sessionOf } from '../../src/web/routing.ts';
import type { RouteInfo } from '../../src/web/server.ts';
import { addUser } from '../../src/web/users.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ADMIN, form, type Harness, type Login, login, STAFF, startHarness, testConfig } from './fixtures.ts';

/** A concrete URL for a route pattern: parameters filled with values that exist. */
const concrete = (url: string) =>
  url
    .replace(':file', 'app.css')
    .replace(':id', (_m, offset: number) => (url.startsWith('/doors') && offset ? 'main' : '1'));

const PUBLIC = [
  'GET /healthz',
  'HEAD /healthz',
  'GET /login',
  'HEAD /login',
  'POST /login',
  'GET /static/:file',
  'HEAD /static/:file',
];

describe('route table: authentication and roles', () => {
  let h: Harness;
  let staff: Login;
  let admin: Login;
  let routes: RouteInfo[];

  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
    admin = await login(h.app, ADMIN);
    routes = h.app.dorvaktRoutes;
  });
  afterAll(async () => h?.close());

  it('knows every route with an access level, and only /healthz, the login page and static files are public', () => {
    expect(routes.length).toBeGreaterThan(40);
    const publicRoutes = routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    expect(publicRoutes.sort()).toEqual([...PUBLIC].sort());
    expect(routes.filter((r) => r.access === 'admin').length).toBeGreaterThan(15);
  });

  it('refuses every non-public route without a session: 401 JSON for /api, a redirect to /login for pages', async () => {
    const checked: string[] = [];
    for (const route of routes.filter((r) => r.access !== 'public')) {
      for (const cookie of [undefined, 'dorvakt_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
        const res = await h.app.inject({
          method: route.method as 'GET',
          url: concrete(route.url),
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
          ...(route.method === 'POST' ? { payload: form({ reason: 'test reason', _csrf: admin.csrf }) } : {}),
        });
        if (route.url.startsWith('/api/')) {
          expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
          if (route.method !== 'HEAD') expect(res.json()).toEqual({ error: 'unauthenticated' });
        } else {
          expect(res.statusCode, `${route.method} ${route.url}`).toBe(303);
          expect(res.headers.location).toBe('/login');
        }
      }
      checked.push(`${route.method} ${route.url}`);
    }
    expect(checked.length).toBe(routes.length - PUBLIC.length);
  });

  it('refuses staff on every admin route with 403, even with a valid CSRF token', async () => {
    const adminRoutes = routes.filter((r) => r.access === 'admin');
    for (const route of adminRoutes) {
      const res = await h.app.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: {
          cookie: staff.cookie,
          'x-csrf-token': staff.csrf,
          'content-type': 'application/x-www-form-urlencoded',
        },
        ...(route.method === 'POST'
          ? { payload: form({ reason: 'test reason', card: '12345678', confirm: 'yes' }) }
          : {}),
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403);
    }
    // Nothing the staff user tried happened.
    const actions = h.db
      .prepare("SELECT action FROM audit WHERE actor = 'sven' AND action NOT LIKE 'web.%'")
      .all();
    expect(actions).toEqual([]);
  });

  it('lets staff read every staff page and admins read every page', async () => {
    const pages = routes.filter(
      (r) => r.method === 'GET' && r.access !== 'public' && r.url !== '/api/events',
    );
    for (const route of pages) {
      const as = route.access === 'admin' ? [admin] : [staff, admin];
      for (const who of as) {
        const res = await h.app.inject({
          method: 'GET',
          url: concrete(route.url),
          headers: { cookie: who.cookie },
        });
        expect([200, 303], `${route.url}`).toContain(res.statusCode);
      }
    }
  });

  it('refuses every state change without a valid CSRF token (403), for staff and admin routes alike', async () => {
    const posts = routes.filter((r) => r.method === 'POST' && r.access !== 'public');
    expect(posts.length).toBeGreaterThan(15);
    const other = await login(h.app, ADMIN);
    for (const route of posts) {
      for (const token of [undefined, 'wrong-token', other.csrf]) {
        const res = await h.app.inject({
          method: 'POST',
          url: concrete(route.url),
          headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({
            reason: 'test reason',
            card: '12345678',
            confirm: 'yes',
            ...(token ? { _csrf: token } : {}),
          }),
        });
        expect(res.statusCode, `${route.url} with ${token ?? 'no token'}`).toBe(403);
      }
    }
    // The same token in a header works where the form field is missing.
    const ok = await h.app.inject({
      method: 'POST',
      url: '/doors/main/lock',
      headers: {
        cookie: admin.cookie,
        'x-csrf-token': admin.csrf,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: form({ reason: 'closing up' }),
    });
    expect(ok.statusCode).toBe(303);
    expect(h.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'door.manual_lock'").get()).toEqual({
      n: 1,
    });
  });

  it('refuses a login post without the login form token', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ name: ADMIN.name, password: ADMIN.password }),
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']?.toString() ?? '').not.toContain('dorvakt_session=');
  });

  it('sets HttpOnly, SameSite=Strict session cookies (not Secure without TLS) and stores only a hash', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/login' });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const loginCookie = String(page.headers['set-cookie']).split(';')[0]!;
    const res = await h.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
      payload: form({ _csrf: token, name: STAFF.name, password: STAFF.password }),
    });
    const line = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('dorvakt_session='))!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).not.toMatch(/Secure/);
    const id = line.split(';')[0]!.split('=')[1]!;
    expect(Buffer.from(id, 'base64url').length).toBe(32);
    const stored = h.db.prepare('SELECT id_hash FROM web_sessions').all() as { id_hash: string }[];
    expect(stored.some((s) => s.id_hash === id)).toBe(false);
    expect(stored.every((s) => /^[0-9a-f]{64}$/.test(s.id_hash))).toBe(true);
  });

  it('sends a strict CSP and the other helmet headers', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/now', headers: { cookie: staff.cookie } });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
    // No inline script may be needed: every <script> is either external or a JSON data block.
    for (const tag of res.body.match(/<script[^>]*>/g) ?? [])
      expect(tag).toMatch(/src="\/static\/|type="application\/json"/);
  });

  it('ends a session on logout, and every session of a user who is disabled', async () => {
    const s = await login(h.app, STAFF);
    const out = await h.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    expect(out.statusCode).toBe(303);
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/state', headers: { cookie: s.cookie } })).statusCode,
    ).toBe(401);

    const victim = await login(h.app, STAFF);
    const staffId = (h.db.prepare("SELECT id FROM web_users WHERE name = 'sven'").get() as { id: number }).id;
    const res = await h.app.inject({
      method: 'POST',
      url: `/users/${staffId}/disable`,
      headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ _csrf: admin.csrf }),
    });
    expect(res.statusCode).toBe(303);
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/state', headers: { cookie: victim.cookie } }))
        .statusCode,
    ).toBe(401);
    await expect(login(h.app, STAFF)).rejects.toThrow(/login failed: 401/);
  });

  it('answers /healthz without a session and /api/state with doors and alarms', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    h.alarms.raise('door_forced', 'main');
    const state = (
      await h.app.inject({ method: 'GET', url: '/api/state', headers: { cookie: admin.cookie } })
    ).json();
    expect(state.doors[0]).toMatchObject({ id: 'main', mode: 'staffless', locked: true });
    expect(state.alarms[0]).toMatchObject({ code: 'door_forced', door: 'main' });
  });
});

const options = (db: Db) => ({
  db,
  web: testConfig().web,
  log: createLogger('info', new Writable({ write: (_c, _e, done) => done() })),
  siteName: 'Guard test',
  language: 'en' as const,
  home: '/now',
  // The key alone, so each answer says exactly which error page it is.
  errorHtml: (_req: unknown, key: string) => `<p>${key}</p>`,
});

describe("the auth guard's answers: JSON for /api and signed-out requests, the error page for signed-in pages", () => {
  let app: FastifyInstance;
  let db: Db;
  let dir: ReturnType<typeof tempDir>;
  let staff: Login;

  beforeAll(async () => {
    dir = tempDir('dorvakt-guard-');
    db = openDb(`${dir.path}/dorvakt.sqlite`);
    ({ app } = await createAuthedApp(options(db)));
    get(app, 'staff', '/now', async (req, reply) =>
      sendHtml(reply, `<meta name="csrf-token" content="${sessionOf(req).csrfToken}">`),
    );
    get(app, 'admin', '/api/admin-only', async () => ({ ok: true }));
    post(app, 'staff', '/api/change', async () => ({ ok: true }));
    get(app, 'admin', '/admin-only', async (_req, reply) => sendHtml(reply, 'admin page'));
    post(app, 'staff', '/change', async (_req, reply) => sendHtml(reply, 'changed'));
    await app.ready();
    await addUser(db, { ...STAFF, role: 'staff', language: 'en' });
    staff = await login(app, STAFF);
  });
  afterAll(async () => {
    await app?.close();
    db?.close();
    dir?.cleanup();
  });

  const json = 'application/json; charset=utf-8';
  const html = 'text/html; charset=utf-8';

  it('refuses to register a route without an access level, naming its method and url', async () => {
    // Registered inside the test (not in beforeAll), so per-test coverage sees the onRoute hook run.
    const { app: other } = await createAuthedApp(options(db));
    try {
      expect(() => other.route({ method: 'GET', url: '/no-level', handler: async () => 'open' })).toThrow(
        /^route GET \/no-level declares no access level$/,
      );
      expect(() =>
        other.route({
          method: 'POST',
          url: '/odd',
          config: { access: 'everyone' as never },
          handler: async () => 'x',
        }),
      ).toThrow(/^route POST \/odd declares no access level$/);
      expect(other.dorvaktRoutes.some((r) => r.url === '/no-level' || r.url === '/odd')).toBe(false);
    } finally {
      await other.close();
    }
    expect(app.dorvaktRoutes.map((r) => `${r.method} ${r.url} ${r.access}`)).toContain(
      'GET /api/admin-only admin',
    );
  });

  it('answers a signed-out /api request 401 JSON, not stored', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/admin-only' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toBe(json);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ error: 'unauthenticated' });
  });

  it('answers a forbidden /api request 403 JSON: forbidden for the role, csrf for a bad token', async () => {
    const role = await app.inject({
      method: 'GET',
      url: '/api/admin-only',
      headers: { cookie: staff.cookie },
    });
    expect(role.statusCode).toBe(403);
    expect(role.headers['content-type']).toBe(json);
    expect(role.json()).toEqual({ error: 'forbidden' });

    const csrf = await app.inject({
      method: 'POST',
      url: '/api/change',
      headers: { cookie: staff.cookie, 'x-csrf-token': 'wrong-token' },
    });
    expect(csrf.statusCode).toBe(403);
    expect(csrf.headers['content-type']).toBe(json);
    expect(csrf.json()).toEqual({ error: 'csrf' });

    const ok = await app.inject({
      method: 'POST',
      url: '/api/change',
      headers: { cookie: staff.cookie, 'x-csrf-token': staff.csrf },
    });
    expect(ok.json()).toEqual({ ok: true });
  });

  it('answers a forbidden page request from a signed-in user with the HTML error page, 403', async () => {
    const role = await app.inject({ method: 'GET', url: '/admin-only', headers: { cookie: staff.cookie } });
    expect(role.statusCode).toBe(403);
    expect(role.headers['content-type']).toBe(html);
    expect(role.headers['cache-control']).toBe('no-store');
    expect(role.body).toBe('<p>error.forbidden</p>');
    // A page served by sendHtml: HTML, never stored by the browser or a proxy.
    const page = await app.inject({ method: 'GET', url: '/now', headers: { cookie: staff.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe(html);
    expect(page.headers['cache-control']).toBe('no-store');

    const csrf = await app.inject({
      method: 'POST',
      url: '/change',
      headers: { cookie: staff.cookie, 'x-csrf-token': 'wrong-token' },
    });
    expect(csrf.statusCode).toBe(403);
    expect(csrf.headers['content-type']).toBe(html);
    expect(csrf.body).toBe('<p>error.csrf</p>');
  });

  it('answers an unknown URL 404: JSON under /api, the HTML page for a signed-in page request', async () => {
    const api = await app.inject({
      method: 'GET',
      url: '/api/nothing-here',
      headers: { cookie: staff.cookie },
    });
    expect(api.statusCode).toBe(404);
    expect(api.headers['content-type']).toBe(json);
    expect(api.json()).toEqual({ error: 'not found' });

    const page = await app.inject({ method: 'GET', url: '/nothing-here', headers: { cookie: staff.cookie } });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toBe(html);
    expect(page.body).toBe('<p>error.not_found</p>');

    // Signed out, an unknown URL is refused like any other: it reveals nothing about what exists.
    const out = await app.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(out.statusCode).toBe(401);
    expect(out.json()).toEqual({ error: 'unauthenticated' });
    const outPage = await app.inject({ method: 'GET', url: '/nothing-here' });
    expect(outPage.statusCode).toBe(303);
    expect(outPage.headers.location).toBe('/login');
  });
});
