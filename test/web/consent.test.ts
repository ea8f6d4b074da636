import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { cardMatchesADoor } from '../../src/reader/card-match.ts';
import { ADMIN, form, type Harness, type Login, login, STAFF, startHarness } from './fixtures.ts';

/** Two doors with different readers: an 8-digit barcode and an EM4100 (10 upper-case hex). */
const twoDoors = () =>
  parseConfig(
    `
site: { id: test, name: Testby bibliotek, timezone: Europe/Oslo, language: en }
secrets: { card_hmac_key: { env: DORVAKT_TEST_KEY } }
doors:
  - id: main
    name: Main door
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/null, card_pattern: "[0-9]{8}" }
  - id: back
    name: Back door
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/null, profile: stx-etx, card_pattern: "^[0-9A-F]{10}$" }
web: { port: 0 }
`,
    'test.yaml',
  );

const NO_DOOR = 'No door here accepts this card number';

describe('card numbers on the dashboard are checked against the doors’ card patterns', () => {
  it('accepts a card that some door accepts, whole-string as the reader matches', () => {
    const doors = twoDoors().doors;
    expect(cardMatchesADoor(doors, '12345678')).toBe(true);
    expect(cardMatchesADoor(doors, '04AB77C2EF')).toBe(true);
    // The hash is taken of the upper-case card, and the EM4100 reader sends upper case.
    expect(cardMatchesADoor(doors, '04ab77c2ef')).toBe(true);
    for (const card of ['abc', '1234567', '123456789', '04AB77C2EFAA', 'x12345678', '1234 5678'])
      expect(cardMatchesADoor(doors, card), card).toBe(false);
  });

  describe('on every card field, with two doors', () => {
    let h: Harness;
    let admin: Login;
    beforeAll(async () => {
      h = await startHarness({ config: twoDoors() });
      admin = await login(h.app, ADMIN);
    });
    afterAll(async () => h?.close());

    const post = (url: string, data: Record<string, string>) =>
      h.app.inject({
        method: 'POST',
        url,
        headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: admin.csrf, ...data }),
      });
    const count = (table: string) =>
      (h.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

    it('refuses abc and a card no door accepts on sign, withdraw, lookup and GDPR; nothing stored or read', async () => {
      const before = { consents: count('consents'), audit: count('audit') };
      const overLong = '1'.repeat(65);
      for (const card of ['abc', '1234567', '04AB77C2EFAA', overLong]) {
        const requests: [string, Record<string, string>][] = [
          ['/consent/sign', { card, kind: 'agreement', version: 'v1', date: '2026-01-20' }],
          ['/consent/withdraw', { card, kind: 'camera', date: '2026-01-20' }],
          ['/cards/lookup', { card, reason: 'patron asked' }],
          ['/gdpr/report', { card, reason: 'subject access request' }],
          ['/gdpr/report.json', { card, reason: 'subject access request' }],
          ['/gdpr/erase', { card, reason: 'patron asked', confirm: 'yes' }],
        ];
        for (const [url, data] of requests) {
          const res = await post(url, data);
          expect(res.statusCode, `${url} ${card}`).toBe(400);
          // An over-long card is malformed rather than a card of the wrong shape.
          if (card !== overLong) expect(res.body, `${url} ${card}`).toContain(NO_DOOR);
        }
      }
      expect({ consents: count('consents'), audit: count('audit') }).toEqual(before);
    });

    it('accepts a card of either door', async () => {
      for (const card of ['12345678', '04ab77c2ef']) {
        const res = await post('/consent/sign', {
          card,
          kind: 'agreement',
          version: 'v1',
          date: '2026-01-20',
        });
        expect(res.statusCode, card).toBe(200);
        expect(h.deps.consents.status(h.deps.hashCard(card)).agreement).toBe('signed');
        expect((await post('/cards/lookup', { card, reason: 'patron asked' })).statusCode, card).toBe(200);
      }
    });
  });
});

describe('consent at the desk (default web.consent_sign_role: staff)', () => {
  let h: Harness;
  let admin: Login;
  let staff: Login;
  const CARD = '77005678';
  let hash: string;

  beforeAll(async () => {
    h = await startHarness();
    admin = await login(h.app, ADMIN);
    staff = await login(h.app, STAFF);
    hash = h.deps.hashCard(CARD);
  });
  afterAll(async () => h?.close());

  const postAs = (who: Login, url: string, payload: string) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${who.csrf}&${payload}`,
    });
  const consentRows = () =>
    h.db.prepare('SELECT kind, action, registered_by FROM consents ORDER BY id').all();

  it('lets staff open the consent page from the menu, without the withdrawal form', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/consent', headers: { cookie: staff.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('id="sign-form"');
    expect(res.body).not.toContain('withdraw-form');
    expect(res.body).toContain('href="/consent"');
    // The menu's other admin pages stay hidden.
    expect(res.body).not.toContain('href="/cards"');
  });

  it('lets staff register a signature, shown back only for what they registered; audited with their name', async () => {
    h.deps.consents.sign(hash, 'camera', 'v1', Date.now() - 86_400_000, 'anne');
    const res = await postAs(
      staff,
      '/consent/sign',
      `card=${CARD}&kind=agreement&version=v3&date=2026-01-20`,
    );
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Signature registered');
    expect(res.body).toContain('id="agreement-state"');
    // Signing must not show staff the card's other consent (that is an admin's audited lookup).
    expect(res.body).not.toContain('camera-state');
    // Nor any card hash: staff never see one.
    expect(res.body).not.toContain(hash.slice(0, 12));
    expect(h.deps.consents.status(hash)).toEqual({
      agreement: 'signed',
      camera: 'signed',
      agreementVersion: 'v3',
    });
    expect(
      h.db.prepare("SELECT actor, subject FROM audit WHERE action = 'consent.agreement.signed'").all(),
    ).toEqual([{ actor: 'sven', subject: hash }]);
  });

  it('gives staff 403 on withdrawal and changes nothing', async () => {
    const before = consentRows();
    const res = await postAs(staff, '/consent/withdraw', `card=${CARD}&kind=camera&date=2026-01-25`);
    expect(res.statusCode).toBe(403);
    expect(consentRows()).toEqual(before);
    expect(h.deps.consents.status(hash).camera).toBe('signed');
  });

  it('serves the withdrawal form with no box ticked', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/consent', headers: { cookie: admin.cookie } });
    const withdrawForm = /<form[^>]*id="withdraw-form"[\s\S]*?<\/form>/.exec(res.body)?.[0] ?? '';
    expect(withdrawForm).toContain('name="kind" value="camera"');
    expect(withdrawForm).not.toMatch(/\bchecked\b/);
  });

  it('refuses a withdrawal with nothing ticked, with a message, and changes nothing', async () => {
    const before = consentRows();
    const res = await postAs(admin, '/consent/withdraw', `card=${CARD}&date=2026-01-25&reason=patron+wrote`);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Tick what the patron withdraws');
    expect(consentRows()).toEqual(before);
    const unknownKind = await postAs(
      admin,
      '/consent/withdraw',
      `card=${CARD}&kind=everything&date=2026-01-25`,
    );
    expect(unknownKind.statusCode).toBe(400);
    expect(consentRows()).toEqual(before);
  });

  it('withdraws only what is ticked', async () => {
    const res = await postAs(admin, '/consent/withdraw', `card=${CARD}&kind=camera&date=2026-01-25`);
    expect(res.statusCode).toBe(200);
    expect(h.deps.consents.status(hash)).toEqual({
      agreement: 'signed',
      camera: 'withdrawn',
      agreementVersion: 'v3',
    });
  });

  it('refuses a signature with nothing ticked', async () => {
    const before = consentRows();
    const res = await postAs(staff, '/consent/sign', `card=${CARD}&version=v3&date=2026-01-20`);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Tick what the patron signed');
    expect(consentRows()).toEqual(before);
  });

  it('says the refusals in Norwegian and Danish too', async () => {
    for (const [lang, text] of [
      ['nb', 'Ingen av dørene her godtar dette kortnummeret'],
      ['da', 'Ingen af dørene her accepterer dette kortnummer'],
    ] as const) {
      h.db.prepare("UPDATE web_users SET language = ? WHERE name = 'sven'").run(lang);
      const res = await postAs(staff, '/consent/sign', 'card=abc&kind=agreement&version=v3&date=2026-01-20');
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(text);
    }
    h.db.prepare("UPDATE web_users SET language = 'en' WHERE name = 'sven'").run();
  });
});

describe('consent with web.consent_sign_role: admin', () => {
  let h: Harness;
  let admin: Login;
  let staff: Login;

  beforeAll(async () => {
    h = await startHarness({ web: { consent_sign_role: 'admin' } });
    admin = await login(h.app, ADMIN);
    staff = await login(h.app, STAFF);
  });
  afterAll(async () => h?.close());

  it('gives staff 403 on the page, on signing and on withdrawal; nothing stored; no menu entry', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/consent', headers: { cookie: staff.cookie } });
    expect(page.statusCode).toBe(403);
    for (const url of ['/consent/sign', '/consent/withdraw']) {
      const res = await h.app.inject({
        method: 'POST',
        url,
        headers: { cookie: staff.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${staff.csrf}&card=77005678&kind=agreement&version=v3&date=2026-01-20`,
      });
      expect(res.statusCode, url).toBe(403);
    }
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM consents').get()).toEqual({ n: 0 });
    const now = await h.app.inject({ method: 'GET', url: '/now', headers: { cookie: staff.cookie } });
    expect(now.body).not.toContain('href="/consent"');
  });

  it('still lets an admin sign', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/consent/sign',
      headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${admin.csrf}&card=77005678&kind=agreement&version=v3&date=2026-01-20`,
    });
    expect(res.statusCode).toBe(200);
  });
});
