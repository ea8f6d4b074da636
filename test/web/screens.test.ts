import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CSV_DAYS, MAX_WINDOW_DAYS } from '../../src/web/pages/stats.ts';
import { localDate } from '../../src/web/time.ts';
import { ADMIN, type Harness, type Login, login, STAFF, startHarness } from './fixtures.ts';

const daysBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 86_400_000;

describe('dashboard screens', () => {
  let h: Harness;
  let admin: Login;
  let staff: Login;
  const CARD = '04AB77C2';
  let hash: string;
  let entryId: number;

  beforeAll(async () => {
    h = await startHarness();
    admin = await login(h.app, ADMIN);
    staff = await login(h.app, STAFF);
    hash = h.deps.hashCard(CARD);
    entryId = Number(
      h.db
        .prepare(
          "INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category) VALUES (?, 'main', 'staffless', 'granted', 'allow', ?, 'V')",
        )
        .run(Date.now() - 60_000, hash).lastInsertRowid,
    );
  });
  afterAll(async () => h?.close());

  const getAs = (who: Login, url: string) =>
    h.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
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
  const auditRows = (action: string) =>
    h.db
      .prepare('SELECT actor, subject, reason, detail FROM audit WHERE action = ? ORDER BY id')
      .all(action) as {
      actor: string;
      subject: string;
      reason: string | null;
      detail: string | null;
    }[];

  it('shows entries pseudonymously: a short pseudonym, never the hash', async () => {
    const res = await getAs(staff, '/entries');
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(hash);
    expect(res.body).not.toContain(hash.slice(0, 12));
    expect(res.body).toMatch(/P-[0-9a-f]{6}/);
    expect(res.body).not.toContain('/reveal');
    // Two entries of the same card get different pseudonyms.
    h.db
      .prepare(
        "INSERT INTO entries (ts, door, mode, outcome, reason, card_hash) VALUES (?, 'main', 'staffless', 'denied', 'no_agreement', ?)",
      )
      .run(Date.now(), hash);
    const pseudonyms = (await getAs(staff, '/entries')).body.match(/P-[0-9a-f]{6}/g) ?? [];
    expect(new Set(pseudonyms).size).toBe(2);
  });

  it('reveals the card hash behind an entry to an admin only with a reason, and audits it', async () => {
    const list = await getAs(admin, '/entries');
    expect(list.body).toContain(`/entries/${entryId}/reveal`);
    const noReason = await postAs(admin, `/entries/${entryId}/reveal`, { reason: '' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.body).not.toContain(hash);
    expect(auditRows('entry.reveal')).toEqual([]);
    const res = await postAs(admin, `/entries/${entryId}/reveal`, { reason: 'police request 2026/17' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(hash);
    expect(auditRows('entry.reveal')).toEqual([
      { actor: 'anne', subject: hash, reason: 'police request 2026/17', detail: JSON.stringify({ entryId }) },
    ]);
  });

  it('looks up a card typed at the desk: its hash, consent and entries; audited, card number not stored', async () => {
    const res = await postAs(admin, '/cards/lookup', {
      card: ` ${CARD.toLowerCase()} `,
      reason: 'patron asked at the desk',
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(hash);
    expect(res.body).toContain(`data-entry="${entryId}"`);
    expect(auditRows('card.lookup')).toEqual([
      { actor: 'anne', subject: hash, reason: 'patron asked at the desk', detail: null },
    ]);
    const everything = JSON.stringify(h.db.prepare('SELECT * FROM audit').all());
    expect(everything).not.toContain(CARD);
    expect(everything.toLowerCase()).not.toContain(CARD.toLowerCase());
  });

  it('registers agreement and camera consent, then a withdrawal that the consent check sees at once', async () => {
    const signed = await postAs(admin, '/consent/sign', {
      card: CARD,
      kind: 'agreement',
      version: 'v3',
      date: '2026-01-20',
    });
    expect(signed.statusCode).toBe(200);
    const both = await h.app.inject({
      method: 'POST',
      url: '/consent/sign',
      headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${admin.csrf}&card=${CARD}&kind=agreement&kind=camera&version=v3&date=2026-01-20`,
    });
    expect(both.statusCode).toBe(200);
    expect(h.deps.consents.status(hash)).toEqual({
      agreement: 'signed',
      camera: 'signed',
      agreementVersion: 'v3',
    });
    const withdrawn = await postAs(admin, '/consent/withdraw', {
      card: CARD,
      kind: 'camera',
      date: '2026-01-25',
      reason: 'patron wrote',
    });
    expect(withdrawn.statusCode).toBe(200);
    expect(withdrawn.body).toContain('Withdrawal recorded');
    expect(h.deps.consents.status(hash).camera).toBe('withdrawn');
    expect(auditRows('consent.camera.withdrawn')).toHaveLength(1);
    expect(
      (
        await postAs(admin, '/consent/sign', {
          card: CARD,
          kind: 'agreement',
          version: '',
          date: '2026-01-20',
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await postAs(admin, '/consent/sign', {
          card: '',
          kind: 'agreement',
          version: 'v1',
          date: '2026-01-20',
        })
      ).statusCode,
    ).toBe(400);
  });

  it('acknowledges an alarm and unlocks and locks a door, each with the user and reason audited', async () => {
    h.alarms.raise('door_held_open', 'main');
    const alarm = h.alarms.list().find((a) => a.code === 'door_held_open')!;
    const ack = await postAs(staff, `/alarms/${alarm.id}/ack`, {});
    expect(ack.headers.location).toBe('/now?n=done');
    expect(h.alarms.list().find((a) => a.id === alarm.id)?.ackedBy).toBe('sven');

    expect((await postAs(staff, '/doors/main/unlock', { minutes: '20', reason: '' })).headers.location).toBe(
      '/now?n=reason',
    );
    expect(h.door.state.locked).toBe(true);
    expect(
      (await postAs(staff, '/doors/main/unlock', { minutes: '20', reason: 'delivery at the back' })).headers
        .location,
    ).toBe('/now?n=done');
    expect(h.door.state.locked).toBe(false);
    expect(auditRows('door.manual_unlock')).toEqual([
      {
        actor: 'sven',
        subject: 'main',
        reason: 'delivery at the back',
        detail: JSON.stringify({ minutes: 20 }),
      },
    ]);
    const now = await getAs(staff, '/now');
    expect(now.body).toContain('action="/doors/main/lock"');
    await postAs(staff, '/doors/main/lock', { reason: 'delivery done' });
    expect(h.door.state.locked).toBe(true);
  });

  it("shows the site's state and its next output changes on the Now page, when states run", async () => {
    expect((await getAs(staff, '/now')).body).not.toContain('site-state');
    h.door.state.site = {
      state: 'closing',
      next: { state: 'closed', at: '2026-11-30T21:00:00.000Z' },
      upcoming: [{ at: '2026-11-30T21:10:00.000Z', output: 'lights', value: 'off' }],
    };
    const body = (await getAs(staff, '/now')).body;
    h.door.state.site = undefined;
    expect(body).toMatch(/class="site-state">[^<]*lights → off/);
  });

  it('opens, renews and closes a police export; a window past retention is refused clearly', async () => {
    const refused = await postAs(admin, '/exports', {
      case: '2026-4411',
      authority: 'Politiet Øst',
      from: '2020-01-01T10:00',
      to: '2020-01-01T11:00',
      camera: 'entrance',
      reason: 'theft report',
    });
    expect(refused.statusCode).toBe(409);
    // In words, with the local time the admin typed (Europe/Oslo), never UTC ISO.
    expect(refused.body).toContain('Refused: Footage from before');
    expect(refused.body).toContain('the window starting 01/01/2020, 10:00:00 cannot be exported');
    const notice = /<p class="notice error"[^>]*>([^<]*)</.exec(refused.body)?.[1];
    expect(notice).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    expect(h.nvr.cases).toHaveLength(0);

    const from = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 16);
    const to = new Date(Date.now() - 2 * 86_400_000 + 3_600_000).toISOString().slice(0, 16);
    const opened = await postAs(admin, '/exports', {
      case: '2026-4412',
      authority: 'Politiet Øst',
      from,
      to,
      camera: ['entrance', 'hall'],
      reason: 'theft report',
    });
    expect(opened.headers.location).toBe('/exports?n=done');
    const c = h.nvr.cases[0]!;
    expect(c).toMatchObject({
      caseNumber: '2026-4412',
      cameras: ['entrance', 'hall'],
      openedBy: 'anne',
      state: 'held',
    });
    const before = c.holdExpiresAt;
    await postAs(admin, `/exports/${c.id}/renew`, { reason: 'investigation continues' });
    expect(Date.parse(c.holdExpiresAt)).toBeGreaterThan(Date.parse(before));
    await postAs(admin, `/exports/${c.id}/close`, { reason: 'handed over' });
    expect(c.state).toBe('closed');
    expect(auditRows('web.export_close')).toEqual([
      { actor: 'anne', subject: c.id, reason: 'handed over', detail: null },
    ]);
    const retention = await getAs(staff, '/retention');
    expect(retention.body).toContain('entrance');
    expect(retention.body).toContain('Retention is kept.');
  });

  it('says so when camera retention is not configured', async () => {
    const bare = await startHarness({ nvr: false });
    try {
      const a = await login(bare.app, ADMIN);
      for (const url of ['/retention', '/exports']) {
        const res = await bare.app.inject({ method: 'GET', url, headers: { cookie: a.cookie } });
        expect(res.body).toContain('Camera retention is not configured.');
      }
    } finally {
      await bare.close();
    }
  });

  it('manages users: add, change role, disable; refuses weak passwords and demoting the last admin', async () => {
    const weak = await postAs(admin, '/users', {
      name: 'kari',
      role: 'staff',
      language: 'da',
      password: 'short',
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.body).toContain('at least 12 characters');
    const added = await postAs(admin, '/users', {
      name: 'kari',
      role: 'staff',
      language: 'da',
      password: 'kari-long-password',
    });
    expect(added.headers.location).toBe('/users?n=done');
    const kari = await login(h.app, { name: 'kari', password: 'kari-long-password' });
    const page = await getAs(kari, '/now');
    expect(page.body).toContain('<html lang="da">');
    expect(page.body).toContain('Døre');
    const anneId = (h.db.prepare("SELECT id FROM web_users WHERE name = 'anne'").get() as { id: number }).id;
    const demote = await postAs(admin, `/users/${anneId}/role`, { role: 'staff' });
    expect(demote.statusCode).toBe(400);
    expect(demote.body).toContain('last admin');
    expect(auditRows('user.add')).toEqual([
      { actor: 'anne', subject: 'kari', reason: null, detail: JSON.stringify({ role: 'staff' }) },
    ]);
  });

  it('switches a user language (nb) and renders every screen in it', async () => {
    const res = await postAs(staff, '/me/language', { language: 'nb', back: '/entries' });
    expect(res.headers.location).toBe('/entries');
    const page = await getAs(staff, '/entries');
    expect(page.body).toContain('<html lang="nb">');
    expect(page.body).toContain('Innpasseringer');
  });

  it('draws statistics as SVG and downloads them as CSV, with no card hashes', async () => {
    const stats = await getAs(staff, '/stats');
    expect(stats.statusCode).toBe(200);
    expect(stats.body).toContain('<svg');
    expect(stats.body).not.toContain(hash);
    const csv = await getAs(staff, '/stats.csv');
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="dorvakt-stats-/);
    expect(csv.body.split('\r\n')[0]).toBe('day,hour,door,mode,outcome,reason,category,age_band,count');
    expect(csv.body).toContain(',main,staffless,granted,allow,V,');
    expect(csv.body).not.toContain(hash);
    const api = (await getAs(staff, '/api/stats')).json();
    expect(api.byHour).toHaveLength(24);
  });

  it('bounds the statistics window to real dates and at most three years', async () => {
    const ancient = (await getAs(staff, '/api/stats?from=0100-01-01&to=0999-12-30')).json();
    expect(ancient.to).toBe(localDate(Date.now(), 'Europe/Oslo'));
    expect(daysBetween(ancient.from, ancient.to)).toBe(29); // the default window
    const wide = (await getAs(staff, '/api/stats?from=2000-01-01&to=2026-06-30')).json();
    expect(wide).toMatchObject({ from: '2023-06-29', to: '2026-06-30' });
    expect(daysBetween(wide.from, wide.to)).toBe(MAX_WINDOW_DAYS - 1);
    const unreal = (await getAs(staff, '/api/stats?from=2026-02-31&to=2026-03-10')).json();
    expect(unreal).toMatchObject({ from: '2026-02-09', to: '2026-03-10' });
    const future = (await getAs(staff, '/api/stats?from=2026-01-01&to=9999-12-31')).json();
    expect(future.to).toBe(localDate(Date.now(), 'Europe/Oslo'));
    // The CSV (a row per hour and kind) covers a year at most: its file name shows the window it got.
    const csv = await getAs(staff, '/stats.csv?from=2000-01-01&to=2026-06-30');
    const named = /dorvakt-stats-(\d{4}-\d{2}-\d{2})-(\d{4}-\d{2}-\d{2})\.csv/.exec(
      String(csv.headers['content-disposition']),
    );
    expect(named?.slice(1)).toEqual(['2025-06-30', '2026-06-30']);
    expect(daysBetween(named![1]!, named![2]!)).toBe(MAX_CSV_DAYS - 1);
  });

  it('gives an access report (HTML with a script-free CSP, and JSON) and erases a card, all audited', async () => {
    const noReason = await postAs(admin, '/gdpr/report', { card: CARD, reason: '' });
    expect(noReason.statusCode).toBe(400);
    const report = await postAs(admin, '/gdpr/report', { card: CARD, reason: 'subject access request' });
    expect(report.statusCode).toBe(200);
    expect(String(report.headers['content-security-policy'])).toContain("default-src 'none'");
    expect(report.body).toContain('<!doctype html>');
    const json = await postAs(admin, '/gdpr/report.json', {
      card_hash: hash,
      reason: 'subject access request',
    });
    expect(json.json()).toMatchObject({ cardHash: hash });
    expect(json.json().entries.length).toBeGreaterThanOrEqual(2);

    const unconfirmed = await postAs(admin, '/gdpr/erase', { card: CARD, reason: 'patron asked' });
    expect(unconfirmed.statusCode).toBe(400);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM entries WHERE card_hash = ?').get(hash)).toEqual({ n: 2 });
    const erased = await postAs(admin, '/gdpr/erase', { card: CARD, reason: 'patron asked', confirm: 'yes' });
    expect(erased.statusCode).toBe(200);
    expect(erased.body).toContain('The card was erased.');
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM entries WHERE card_hash = ?').get(hash)).toEqual({ n: 0 });
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM consents WHERE card_hash = ?').get(hash)).toEqual({
      n: 0,
    });
  });

  it('shows the audit log to admins', async () => {
    const res = await getAs(admin, '/audit');
    expect(res.body).toContain('door.manual_unlock');
    expect(res.body).toContain('entry.reveal');
  });
});
