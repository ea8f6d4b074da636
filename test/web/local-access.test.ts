import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Harness, login, type Login, STAFF, startHarness } from './fixtures.ts';

describe('dashboard: block list, passes and emergency mode', () => {
  let h: Harness;
  let admin: Login;
  let staff: Login;
  let told = 0;
  beforeAll(async () => {
    h = await startHarness();
    h.deps.emergencyChanged = async () => {
      told++;
    };
    admin = await login(h.app, ADMIN);
    staff = await login(h.app, STAFF);
  });
  afterAll(() => h?.close());

  const postAs = (who: Login, url: string, data: Record<string, string | string[]>) => {
    const body = new URLSearchParams({ _csrf: who.csrf });
    for (const [k, v] of Object.entries(data)) for (const one of [v].flat()) body.append(k, one);
    return h.app.inject({
      method: 'POST',
      url,
      headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };
  const getAs = (who: Login, url: string) =>
    h.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
  const inAYear = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  const audit = (prefix: string) =>
    h.db
      .prepare('SELECT actor, action, subject FROM audit WHERE action LIKE ? ORDER BY id')
      .all(`${prefix}%`) as {
      actor: string;
      action: string;
      subject: string;
    }[];

  it('an admin blocks a typed card; the page shows only its last digits; audited with the hash', async () => {
    const res = await postAs(admin, '/access/blocks', {
      card: '12345678',
      note: 'damaged the book return',
      expires: inAYear(30),
      door: 'main',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/access?done=blocked');
    const page = await getAs(admin, '/access?done=blocked');
    expect(page.body).toContain('The card is blocked.');
    // A scrolling box the keyboard can reach (axe: scrollable-region-focusable).
    expect(page.body).toMatch(
      /<div class="table-scroll" tabindex="0" role="region" aria-label="Blocked cards"><table id="blocks-table">/,
    );
    expect(page.body).toContain('<td>…78</td>');
    expect(page.body).not.toContain('12345678');
    expect(audit('block.')).toEqual([
      { actor: ADMIN.name, action: 'block.added', subject: h.deps.hashCard('12345678') },
    ]);
  });

  it('refuses a block without a typed card, with a carried-over hash, or past a year', async () => {
    const hash = h.deps.hashCard('12345678');
    expect(
      (await postAs(admin, '/access/blocks', { card_hash: hash, note: 'xyz', expires: inAYear(3) }))
        .statusCode,
    ).toBe(400);
    expect(
      (await postAs(admin, '/access/blocks', { card: '', note: 'xyz', expires: inAYear(3) })).statusCode,
    ).toBe(400);
    const tooLong = await postAs(admin, '/access/blocks', {
      card: '87654321',
      note: 'xyz',
      expires: inAYear(400),
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toMatch(/366 days/);
  });

  it('issues a pass with camera consent required by default and says to register it', async () => {
    const res = await postAs(admin, '/access/passes', {
      card: '22223333',
      kind: 'cleaner',
      note: 'Renhold AS',
      hours: 'Mo-Fr 06:00-08:00',
      expires: inAYear(60),
      camera_consent: 'required',
    });
    expect(res.headers.location).toBe('/access?done=pass_consent');
    const page = await getAs(admin, '/access?done=pass_consent');
    expect(page.body).toContain('Register the holder’s camera consent');
    expect(page.body).toContain('Mo-Fr 06:00-08:00');
    expect(page.body).toContain('Required (registered like a patron’s)');
    // The form offers required first and selected.
    expect(page.body).toMatch(/<option value="required" selected>/);
  });

  it('removes a block by its hash, with the reason in the audit', async () => {
    const hash = h.deps.hashCard('12345678');
    expect(
      (await postAs(admin, '/access/blocks/remove', { card_hash: hash, reason: 'paid' })).headers.location,
    ).toBe('/access?done=removed');
    expect((await postAs(admin, '/access/blocks/remove', { card_hash: hash })).statusCode).toBe(404);
    expect(audit('block.').map((a) => a.action)).toEqual(['block.added', 'block.removed']);
  });

  it('staff can neither see nor change the lists or the emergency mode', async () => {
    expect((await getAs(staff, '/access')).statusCode).toBe(403);
    expect(
      (
        await postAs(staff, '/emergency', {
          mode: 'everybody',
          until_date: inAYear(1),
          until_time: '12:00',
          reason: 'x y z',
        })
      ).statusCode,
    ).toBe(403);
  });

  it('an emergency mode shows on every page, for staff too, tells the door process, and ends', async () => {
    const before = told;
    const res = await postAs(admin, '/emergency', {
      mode: 'nobody',
      until_date: inAYear(1),
      until_time: '12:00',
      reason: 'burst pipe in the hall',
    });
    expect(res.headers.location).toBe('/emergency?done=set');
    expect(told).toBe(before + 1);
    for (const [who, url] of [
      [staff, '/now'],
      [staff, '/entries'],
      [staff, '/stats'],
      [admin, '/users'],
      [admin, '/access'],
    ] as const) {
      const page = await getAs(who, url);
      expect(page.body, url).toMatch(/id="emergency-banner">Emergency mode: nobody is let in, until/);
    }
    const page = await getAs(admin, '/emergency');
    expect(page.body).toContain('burst pipe in the hall');
    expect((await postAs(admin, '/emergency/end', { reason: 'fixed' })).headers.location).toBe(
      '/emergency?done=ended',
    );
    expect(told).toBe(before + 2);
    expect((await getAs(staff, '/now')).body).not.toContain('emergency-banner');
    expect(audit('emergency.').map((a) => [a.actor, a.action])).toEqual([
      [ADMIN.name, 'emergency.set'],
      [ADMIN.name, 'emergency.ended'],
    ]);
  });

  it('the banner goes away by itself at `until`', async () => {
    h.deps.emergency!.set({ mode: 'everybody', until: Date.now() + 400, reason: 'short test' }, 'test');
    expect((await getAs(staff, '/now')).body).toContain('every card opens the door');
    await new Promise((r) => setTimeout(r, 500));
    expect((await getAs(staff, '/now')).body).not.toContain('emergency-banner');
  });

  it('refuses an emergency end in the past or an unknown mode', async () => {
    const past = await postAs(admin, '/emergency', {
      mode: 'nobody',
      until_date: '2020-01-01',
      until_time: '12:00',
      reason: 'x y z',
    });
    expect(past.statusCode).toBe(400);
    const odd = await postAs(admin, '/emergency', {
      mode: 'some',
      until_date: inAYear(1),
      until_time: '12:00',
      reason: 'x y z',
    });
    expect(odd.statusCode).toBe(400);
    expect(h.deps.emergency!.current(new Date())).toBeNull();
  });
});
