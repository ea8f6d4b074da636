/** The fleet dashboard over real HTTP: login required everywhere, CSRF on changes, statistics and CSV. */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../src/fleet/central-config.ts';
import { openFleetDb, storeFigures, storeOpeningHours } from '../../src/fleet/central-store.ts';
import { FleetCentre } from '../../src/fleet/centre.ts';
import { createFleetWeb } from '../../src/fleet/web.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Db } from '../../src/store/db.ts';
import { addUser } from '../../src/web/users.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('fleet-web-');
let db: Db;
let app: FastifyInstance;
let url = '';
let cookie = '';

const row = (door: string, outcome: 'granted' | 'denied', count: number, category = '') => ({
  door,
  mode: 'staffless',
  outcome,
  reason: outcome === 'granted' ? 'allow' : 'no_consent',
  category,
  age_band: '',
  count,
});

beforeAll(async () => {
  const config = parseFleetConfig(
    `store: { path: ${join(dir.path, 'fleet.sqlite')} }\nsites: [{ id: north, name: Nord }, { id: south, name: "=Sør" }]\n`,
    'fleet.yaml',
  );
  db = openFleetDb(config.store.path);
  const centre = new FleetCentre({ config, db, log: createLogger('silent'), keys: new Map() });
  storeFigures(
    db,
    'north',
    {
      v: 1,
      id: 'a-1',
      day: '2026-11-02',
      hour: 9,
      made_at: 1,
      rows: [row('front', 'granted', 5), row('front', 'denied', 1)],
      passages: [],
    },
    1,
  );
  storeFigures(
    db,
    'south',
    {
      v: 1,
      id: 'b-1',
      day: '2026-11-03',
      hour: 10,
      made_at: 1,
      rows: [row('side', 'granted', 7, '=cmd')],
      passages: [],
    },
    1,
  );
  storeOpeningHours(
    db,
    'north',
    {
      v: 1,
      id: 'a-2',
      week: '2026-W45',
      made_at: 1,
      days: [{ day: '2026-11-02', staffed: 7, staffless: 14 }],
    },
    1,
  );
  await addUser(db, { name: 'kari', password: 'a-long-fleet-password', role: 'staff', language: 'nb' });
  app = await createFleetWeb({
    config,
    db,
    centre,
    log: createLogger('silent'),
    nowMs: () => Date.parse('2026-11-20T12:00:00Z'),
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  const page = await fetch(`${url}/login`);
  const loginCookie = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: csrf, name: 'kari', password: 'a-long-fleet-password' }),
    redirect: 'manual',
  });
  expect(res.headers.get('location')).toBe('/sites');
  cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('dorvakt_session='))!
    .split(';')[0]!;
});

afterAll(async () => {
  await app?.close();
  db?.close();
  dir.cleanup();
});

describe('fleet dashboard', () => {
  it('asks for a login on every page but the login itself', async () => {
    for (const route of app.dorvaktRoutes.filter((r) => r.access !== 'public')) {
      const res = await fetch(`${url}${route.url.replace(':id', '1')}`, {
        method: route.method,
        redirect: 'manual',
      });
      expect([303, 401], `${route.method} ${route.url}`).toContain(res.status);
    }
  });

  it('shows every site in the user language', async () => {
    const html = await (await fetch(`${url}/sites`, { headers: { cookie } })).text();
    expect(html).toContain('Alle filialer');
    expect(html).toContain('data-site="north"');
    expect(html).toContain('data-site="south"');
  });

  it('counts across sites and per site, and refuses a bad period', async () => {
    const all = await (
      await fetch(`${url}/stats?from=2026-11-01&to=2026-11-30`, { headers: { cookie } })
    ).text();
    expect(all).toMatch(
      /<th scope="row">north<\/th><td class="num">5<\/td><td class="num">1<\/td><td class="num">6<\/td>/,
    );
    expect(all).toMatch(
      /<th scope="row">south<\/th><td class="num">7<\/td><td class="num">0<\/td><td class="num">7<\/td>/,
    );
    const one = await (
      await fetch(`${url}/stats?from=2026-11-01&to=2026-11-30&site=south`, { headers: { cookie } })
    ).text();
    expect(one).not.toContain('<th scope="row">north</th>');
    expect((await fetch(`${url}/stats?from=2026-11-30&to=2026-11-01`, { headers: { cookie } })).status).toBe(
      400,
    );
    expect((await fetch(`${url}/stats?site=nowhere`, { headers: { cookie } })).status).toBe(400);
  });

  it('gives the figures as CSV, a spreadsheet formula defused, and audits the download', async () => {
    const res = await fetch(`${url}/stats.csv?from=2026-11-01&to=2026-11-30`, { headers: { cookie } });
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect((await res.text()).split('\n')).toEqual([
      'site,day,hour,door,mode,outcome,reason,category,age_band,count',
      'north,2026-11-02,9,front,staffless,denied,no_consent,,,1',
      'north,2026-11-02,9,front,staffless,granted,allow,,,5',
      // The same escaping as the branch's own CSV (src/stats/csv-cell.ts): defused, then quoted.
      `south,2026-11-03,10,side,staffless,granted,allow,"'=cmd",,7`,
      '',
    ]);
    expect(db.prepare("SELECT actor FROM audit WHERE action = 'fleet.stats_csv'").pluck().all()).toEqual([
      'kari',
    ]);
  });

  it('refuses an acknowledgement without the CSRF token', async () => {
    const res = await fetch(`${url}/alarms/1/ack`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
  });

  it('shows the national report per branch and for the municipality, and its CSV, audited', async () => {
    const page = await (await fetch(`${url}/report?year=2026&format=no`, { headers: { cookie } })).text();
    expect(page).toContain('Årsrapport');
    // north: 5 staffless visits; 7 × 7 / 365 = 0.13 and 14 × 7 / 365 = 0.27 hours a week.
    expect(page).toMatch(
      /<th scope="row">Nord<\/th><td class="num">0<\/td><td class="num">5<\/td>\s*<td class="num">5<\/td><td class="num">0.1<\/td><td class="num">0.3<\/td>/,
    );
    expect(page).toMatch(/<th scope="row">=Sør<\/th><td class="num">0<\/td><td class="num">7<\/td>/);
    expect(page).toMatch(
      /<th scope="row">Kommunen i alt<\/th><td class="num">0<\/td><td class="num">12<\/td>\s*<td class="num">12<\/td>/,
    );
    const res = await fetch(`${url}/report.csv?year=2026&format=dk`, { headers: { cookie } });
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toMatch(/^filial,niveau,periode,/);
    expect(lines).toContain('north,uge,2026-W45,2026-11-02,2026-11-08,0,5,5,7.0,14.0,21.0,0');
    expect(lines).toContain('kommunen i alt,år,2026,2026-01-01,2026-12-31,0,12,12,0.1,0.3,0.4,0');
    expect(db.prepare("SELECT detail FROM audit WHERE action = 'fleet.report_csv'").pluck().all()).toEqual([
      JSON.stringify({ year: 2026, format: 'dk' }),
    ]);
    for (const bad of ['year=1999', 'year=2027', 'year=abcd', 'year=2026&format=se'])
      expect((await fetch(`${url}/report?${bad}`, { headers: { cookie } })).status).toBe(400);
    expect((await fetch(`${url}/report.csv?year=2027`, { headers: { cookie } })).status).toBe(400);
  });
});
