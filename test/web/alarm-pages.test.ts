import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOfLocalDay } from '../../src/stats/tz.ts';
import { createWebServer } from '../../src/web/server.ts';
import { localDate } from '../../src/web/time.ts';
import { form, type Harness, type Login, login, STAFF, startHarness } from './fixtures.ts';

const getAs = (h: Harness, who: Login, url: string) =>
  h.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
const postAs = (h: Harness, who: Login, url: string, data: Record<string, string>, csrf = who.csrf) =>
  h.app.inject({
    method: 'POST',
    url,
    headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ _csrf: csrf, ...data }),
  });
const ids = (body: string) => [...body.matchAll(/data-alarm-id="(\d+)"/g)].map((m) => Number(m[1]));

describe('alarm history page', () => {
  let h: Harness;
  let staff: Login;
  const seed = (code: string, door: string, raisedAt: string, acked = false) =>
    Number(
      h.db
        .prepare(
          'INSERT INTO alarms (code, door, raised_at, cleared_at, acked_at, acked_by) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(
          code,
          door,
          Date.parse(raisedAt),
          Date.parse(raisedAt) + 60_000,
          acked ? Date.parse(raisedAt) + 120_000 : null,
          acked ? 'anne' : null,
        ).lastInsertRowid,
    );
  let lateOn10th: number;
  let earlyOn11th: number;
  let lastOn29th: number;
  let firstOn30th: number;
  let site: number;

  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
    // Europe/Oslo: UTC+1 until 29 March 2026 02:00, then +2 (that day has 23 hours).
    lateOn10th = seed('door_forced', 'main', '2026-03-10T22:30:00Z', true); // 10 March 23:30 local
    earlyOn11th = seed('door_forced', 'main', '2026-03-10T23:30:00Z'); // 11 March 00:30 local
    lastOn29th = seed('door_held_open', 'main', '2026-03-29T21:30:00Z'); // 29 March 23:30 local
    firstOn30th = seed('door_held_open', 'main', '2026-03-29T22:30:00Z'); // 30 March 00:30 local
    site = seed('ils_offline', '', '2026-03-12T10:00:00Z');
    for (let i = 0; i < 55; i++)
      seed('broker_offline', '', `2026-02-01T10:${String(i).padStart(2, '0')}:00Z`);
  });
  afterAll(async () => h?.close());

  it('filters by local dates in the site zone, also across the change to summer time', async () => {
    expect(ids((await getAs(h, staff, '/alarms?from=2026-03-11&to=2026-03-11')).body)).toEqual([earlyOn11th]);
    expect(ids((await getAs(h, staff, '/alarms?from=2026-03-10&to=2026-03-10')).body)).toEqual([lateOn10th]);
    expect(ids((await getAs(h, staff, '/alarms?from=2026-03-29&to=2026-03-29')).body)).toEqual([lastOn29th]);
    expect(ids((await getAs(h, staff, '/alarms?from=2026-03-30&to=2026-03-30')).body)).toEqual([firstOn30th]);
    const reversed = await getAs(h, staff, '/alarms?from=2026-03-12&to=2026-03-10');
    expect(reversed.body).toContain('from must not be after to');
  });

  it('filters by door (names shown), site-wide, kind and state', async () => {
    const main = (await getAs(h, staff, '/alarms?door=main&from=2026-03-01&to=2026-03-31')).body;
    expect(ids(main).sort()).toEqual([lateOn10th, earlyOn11th, lastOn29th, firstOn30th].sort());
    expect(main).toContain('<td>Main door</td>');
    expect(main).not.toContain('<td>main</td>');
    expect(main).toContain('<option value="main" selected>Main door</option>');
    const siteWide = (await getAs(h, staff, '/alarms?door=-&from=2026-03-01')).body;
    expect(ids(siteWide)).toEqual([site]);
    expect(siteWide).toContain('<td>Whole site</td>');
    const kind = (await getAs(h, staff, '/alarms?kind=door_forced')).body;
    expect(ids(kind)).toEqual([earlyOn11th, lateOn10th]);
    expect(kind).toContain('Door forced open');
    expect(kind).toContain('Cleared, awaiting acknowledgement');
    expect(kind).toContain('Cleared and acknowledged');
    expect(ids((await getAs(h, staff, '/alarms?kind=door_forced&state=unacked')).body)).toEqual([
      earlyOn11th,
    ]);
  });

  it('pages through older alarms, keeping the filters', async () => {
    const first = (await getAs(h, staff, '/alarms?kind=broker_offline')).body;
    expect(ids(first)).toHaveLength(50);
    const older = /<a href="([^"]+)">Older alarms/.exec(first)?.[1]?.replace(/&#38;/g, '&');
    expect(older).toContain('kind=broker_offline');
    const second = (await getAs(h, staff, older!)).body;
    expect(ids(second)).toHaveLength(5);
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(55);
    expect(second).not.toContain('Older alarms');
    expect(second).toContain('Back to the newest');
  });

  it('acknowledges from the history (CSRF required, audited) and comes back to the same filters', async () => {
    const back = '/alarms?kind=door_forced&state=unacked';
    expect((await postAs(h, staff, `/alarms/${earlyOn11th}/ack`, { back }, 'wrong')).statusCode).toBe(403);
    const ack = await postAs(h, staff, `/alarms/${earlyOn11th}/ack`, { back });
    expect(ack.statusCode).toBe(303);
    expect(ack.headers.location).toBe(`${back}&n=done`);
    const stored = h.db.prepare('SELECT acked_by FROM alarms WHERE id = ?').pluck().get(earlyOn11th);
    expect(stored).toBe(STAFF.name);
    const audit = h.db
      .prepare("SELECT actor, subject, detail FROM audit WHERE action = 'alarm.acknowledged'")
      .all();
    expect(audit).toEqual([
      { actor: STAFF.name, subject: String(earlyOn11th), detail: '{"code":"door_forced","door":"main"}' },
    ]);
    // Twice is refused; a redirect elsewhere is never followed.
    const again = await postAs(h, staff, `/alarms/${earlyOn11th}/ack`, { back: 'https://evil.example/' });
    expect(again.headers.location).toBe('/now?n=invalid');
  });
});

describe('settings page', () => {
  let h: Harness;
  let staff: Login;
  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
  });
  afterAll(async () => h?.close());

  it('language and sound per user: the next page is in the new language and the script gets the sound setting', async () => {
    const page = (await getAs(h, staff, '/settings')).body;
    expect(page).toContain(
      '<input type="checkbox" id="sound" name="sound" value="on" aria-describedby="sound-hint" checked>',
    );
    expect(page).toContain('"sound":true');
    expect((await postAs(h, staff, '/settings', { language: 'nb' }, 'wrong')).statusCode).toBe(403);
    expect((await postAs(h, staff, '/settings', { language: 'xx' })).statusCode).toBe(400);
    const saved = await postAs(h, staff, '/settings', { language: 'nb' });
    expect(saved.headers.location).toBe('/settings?n=saved');
    const now = (await getAs(h, staff, '/now')).body;
    expect(now).toContain('<html lang="nb">');
    expect(now).toContain('<h1>Nå</h1>');
    expect(now).toContain('"sound":false');
    expect((await getAs(h, staff, '/settings?n=saved')).body).toContain('Innstillingene dine er lagret.');
    await postAs(h, staff, '/settings', { language: 'da', sound: 'on' });
    const da = (await getAs(h, staff, '/alarms')).body;
    expect(da).toContain('<html lang="da">');
    expect(da).toContain('<h1>Alarmhistorik</h1>');
    expect(da).toContain('"sound":true');
    // Another user's settings are their own.
    const row = h.db.prepare('SELECT name, language, sound FROM web_users ORDER BY name').all();
    expect(row).toEqual([
      { name: 'anne', language: 'en', sound: 1 },
      { name: 'sven', language: 'da', sound: 1 },
    ]);
  });
});

describe('Now: door tiles, inside now, entries', () => {
  let h: Harness;
  let staff: Login;
  beforeAll(async () => {
    h = await startHarness();
    staff = await login(h.app, STAFF);
  });
  afterAll(async () => h?.close());

  const tile = async () => {
    const body = (await getAs(h, staff, '/now/panel')).body;
    const m = /data-state="([a-z_]+)"[\s\S]*?<p class="tile-state">[\s\S]*?<strong>([^<]+)<\/strong>/.exec(
      body,
    );
    return [m?.[1], m?.[2]];
  };
  const settle = () => {
    for (const a of h.alarms.unresolved()) {
      h.alarms.clear(a.code, a.door);
      h.alarms.acknowledge(a.id, 'test');
    }
    h.door.state = { ...h.door.state, locked: true, open: false, fireActive: false };
  };

  it('says each state in words as well as colour', async () => {
    settle();
    expect(await tile()).toEqual(['locked', 'Locked']);
    h.door.state = { ...h.door.state, locked: false };
    expect(await tile()).toEqual(['unlocked', 'Unlocked']);
    h.door.state = { ...h.door.state, open: true };
    expect(await tile()).toEqual(['open', 'Open']);
    h.alarms.raise('door_held_open', 'main');
    expect(await tile()).toEqual(['held_open', 'Held open too long']);
    settle();
    h.door.state = { ...h.door.state, open: true };
    h.alarms.raise('door_forced', 'main');
    expect(await tile()).toEqual(['forced', 'Forced open']);
    // Closed again: the tile says locked, the alarm stays below until acknowledged.
    h.alarms.clear('door_forced', 'main');
    h.door.state = { ...h.door.state, open: false };
    expect(await tile()).toEqual(['locked', 'Locked']);
    expect((await getAs(h, staff, '/now/panel')).body).toContain('Cleared, awaiting acknowledgement');
    settle();
    h.door.state = { ...h.door.state, fireActive: true, locked: false };
    expect(await tile()).toEqual(['fire', 'Fire release']);
    settle();
    h.alarms.raise('relay_fault', 'main', 'could not lock');
    expect(await tile()).toEqual(['offline', 'Offline']);
    settle();
    const snapshot = h.door.snapshot;
    h.door.snapshot = () => {
      throw new Error('door main is not in the door process state');
    };
    try {
      expect(await tile()).toEqual(['offline', 'Offline']);
      expect((await getAs(h, staff, '/now/panel')).body).toContain('<h3 id="door-main-h">Main door</h3>');
    } finally {
      h.door.snapshot = snapshot;
    }
  });

  it('shows "inside now" only when an occupancy source exists', async () => {
    expect((await getAs(h, staff, '/now')).body).not.toContain('inside-now');
    const app = await createWebServer({ ...h.deps, occupancy: { insideNow: () => 7 } });
    try {
      const page = await app.inject({ method: 'GET', url: '/now/panel', headers: { cookie: staff.cookie } });
      expect(page.body).toContain('Inside now: <strong>7</strong>');
    } finally {
      await app.close();
    }
  });

  it('lists entries with door names and plain reasons, filtered and paged', async () => {
    const today = localDate(Date.now(), 'Europe/Oslo');
    const add = h.db.prepare(
      "INSERT INTO entries (ts, door, mode, outcome, reason, category) VALUES (?, 'main', 'staffless', ?, ?, NULL)",
    );
    // Inside today whatever the clock (the page lists today's; CI's clock run starts at 23:59:30).
    const start = Math.max(Date.now() - 60_000, startOfLocalDay('Europe/Oslo', today) + 1000);
    for (let i = 0; i < 33; i++) add.run(start + i * 1000, 'granted', 'allow');
    const denied = Number(add.run(start + 40_000, 'denied', 'no_camera_consent').lastInsertRowid);
    const page = (await getAs(h, staff, '/now')).body;
    expect(page).toContain('<tbody id="live" data-live="1">');
    expect(page).toContain('<td>Main door</td>');
    expect(page).not.toContain('<td>main</td>');
    expect(page).toContain('<span class="reason" title="no_camera_consent">');
    expect([...page.matchAll(/data-entry="/g)]).toHaveLength(30);
    const older = /<a href="([^"]+)">Older entries/.exec(page)?.[1]?.replace(/&#38;/g, '&');
    const second = (await getAs(h, staff, older!)).body;
    expect([...second.matchAll(/data-entry="/g)]).toHaveLength(4);
    expect(second).toContain('<tbody id="live">');
    const only = (
      await getAs(h, staff, `/now?date=${today}&outcome=denied&reason=no_camera_consent&door=main`)
    ).body;
    expect([...only.matchAll(/data-entry="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([denied]);
    expect((await getAs(h, staff, '/now?date=2020-01-01')).body).toContain('No entries match these filters.');
  });
});
