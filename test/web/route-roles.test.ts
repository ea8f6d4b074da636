import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { form, type Harness, login, type Login, STAFF, startHarness } from './fixtures.ts';

/**
 * Who may use each dashboard route, written out by hand and reviewed by a person. It is the reference:
 * the code must match it, and the 403 checks below read it, not the code under test. A new route fails
 * the first test until it is added here with its role. HEAD follows GET.
 * Reviewed 2026-11-30: identity (reveal, card lookup, GDPR), consent, exports, audit and users are admin only.
 * Changed 2026-11-30 (issue 13): the front desk registers signed agreements, so GET /consent and
 * POST /consent/sign follow `web.consent_sign_role`; the table holds its default (`staff`), and the test
 * below checks that `admin` makes both admin only again. Withdrawing stays admin only.
 */
const ROUTE_ROLES: Record<string, 'public' | 'staff' | 'admin'> = {
  'GET /healthz': 'public',
  'GET /static/:file': 'public',
  'GET /login': 'public',
  'POST /login': 'public',
  'POST /logout': 'staff',
  'POST /me/language': 'staff',
  'GET /': 'staff',
  'GET /now': 'staff',
  'GET /now/panel': 'staff',
  'GET /api/state': 'staff',
  'GET /api/events': 'staff',
  'GET /alarms': 'staff',
  'POST /alarms/:id/ack': 'staff',
  'GET /settings': 'staff',
  'POST /settings': 'staff',
  'POST /doors/:id/unlock': 'staff',
  'POST /doors/:id/lock': 'staff',
  'GET /entries': 'staff',
  'POST /entries/:id/reveal': 'admin',
  'GET /cards': 'admin',
  'POST /cards/lookup': 'admin',
  'GET /check': 'staff',
  'POST /check': 'staff',
  'GET /retention': 'staff',
  'GET /exports': 'admin',
  'POST /exports': 'admin',
  'POST /exports/:id/close': 'admin',
  'POST /exports/:id/renew': 'admin',
  'GET /consent': 'staff',
  'POST /consent/sign': 'staff',
  'POST /consent/withdraw': 'admin',
  'GET /audit': 'admin',
  'GET /users': 'admin',
  'POST /users': 'admin',
  'POST /users/:id/disable': 'admin',
  'POST /users/:id/enable': 'admin',
  'POST /users/:id/role': 'admin',
  'GET /stats': 'staff',
  'GET /api/stats': 'staff',
  'GET /stats.csv': 'staff',
  // Issue 14 item 8: the figures of the national statistics forms.
  'GET /api/stats/report': 'staff',
  'GET /stats/report.csv': 'staff',
  'GET /gdpr': 'admin',
  'POST /gdpr/report': 'admin',
  'POST /gdpr/report.json': 'admin',
  'POST /gdpr/erase': 'admin',
  // Issue 14: the site's block list, passes and emergency mode are admin only.
  'GET /access': 'admin',
  'POST /access/blocks': 'admin',
  'POST /access/passes': 'admin',
  'POST /access/blocks/remove': 'admin',
  'POST /access/passes/remove': 'admin',
  'GET /emergency': 'admin',
  'POST /emergency': 'admin',
  'POST /emergency/end': 'admin',
};

const concrete = (url: string) =>
  url
    .replace(':file', 'app.css')
    .replace(':id', (_m, offset: number) => (url.startsWith('/doors') && offset ? 'main' : '1'));

describe('the written route → role table', () => {
  let h: Harness;
  let staff: Login;

  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
  });
  afterAll(async () => h?.close());

  it('is exactly the routes the dashboard serves, each with the written role', () => {
    const served: Record<string, string> = {};
    for (const r of h.app.dorvaktRoutes) {
      if (r.method === 'HEAD') {
        expect(h.app.dorvaktRoutes.find((g) => g.method === 'GET' && g.url === r.url)?.access).toBe(r.access);
        continue;
      }
      served[`${r.method} ${r.url}`] = r.access;
    }
    expect(served).toEqual(ROUTE_ROLES);
  });

  it('gives staff 403 on every route the table says is admin only, and changes nothing', async () => {
    const adminRoutes = Object.entries(ROUTE_ROLES).filter(([, role]) => role === 'admin');
    expect(adminRoutes.length).toBe(26);
    for (const [route] of adminRoutes) {
      const [method, url] = route.split(' ') as ['GET' | 'POST', string];
      const res = await h.app.inject({
        method,
        url: concrete(url),
        headers: {
          cookie: staff.cookie,
          'x-csrf-token': staff.csrf,
          'content-type': 'application/x-www-form-urlencoded',
        },
        ...(method === 'POST'
          ? { payload: form({ reason: 'test reason', card: '12345678', confirm: 'yes', kind: 'camera' }) }
          : {}),
      });
      expect(res.statusCode, route).toBe(403);
    }
    const actions = h.db
      .prepare("SELECT action FROM audit WHERE actor = 'sven' AND action NOT LIKE 'web.%'")
      .all();
    expect(actions).toEqual([]);
  });

  it('lets staff reach every page the table says is theirs', async () => {
    const staffPages = Object.entries(ROUTE_ROLES).filter(
      ([route, role]) => role === 'staff' && route.startsWith('GET ') && route !== 'GET /api/events',
    );
    for (const [route] of staffPages) {
      const res = await h.app.inject({
        method: 'GET',
        url: concrete(route.slice(4)),
        headers: { cookie: staff.cookie },
      });
      expect([200, 303], route).toContain(res.statusCode);
    }
  });
});

describe('the route → role table with web.consent_sign_role: admin', () => {
  it('makes the consent page and signing admin only; every other route keeps its written role', async () => {
    const h = await startHarness({ web: { consent_sign_role: 'admin' } });
    try {
      const served: Record<string, string> = {};
      for (const r of h.app.dorvaktRoutes) if (r.method !== 'HEAD') served[`${r.method} ${r.url}`] = r.access;
      expect(served).toEqual({ ...ROUTE_ROLES, 'GET /consent': 'admin', 'POST /consent/sign': 'admin' });
    } finally {
      await h.close();
    }
  });
});
