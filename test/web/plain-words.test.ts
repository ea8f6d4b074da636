import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ADMIN, type Harness, type Login, login, startHarness } from './fixtures.ts';

const config = () =>
  parseConfig(
    `
site: { id: test, name: Testby bibliotek, timezone: Europe/Oslo, language: en }
secrets: { card_hmac_key: { env: DORVAKT_TEST_KEY } }
doors:
  - id: main
    name: Main door
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/null }
access:
  category_labels: { V: { nb: Voksen, da: Voksen, en: Adult }, B: { nb: Barn } }
web: { port: 0 }
`,
    'test.yaml',
  );

/** Codes become words on the dashboard: reasons, doors, categories, audit rows, times in the site's zone. */
describe('plain words on the dashboard', () => {
  let h: Harness;
  let admin: Login;
  const CARD = '77001234';

  beforeAll(async () => {
    h = await startHarness({ config: config() });
    admin = await login(h.app, ADMIN);
  });
  afterAll(async () => h?.close());

  const getAs = (url: string) => h.app.inject({ method: 'GET', url, headers: { cookie: admin.cookie } });
  const postAs = (url: string, payload: string) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${admin.csrf}&${payload}`,
    });

  it("entries show the patron's reason in words with the code on hover, the door's name and the category's", async () => {
    const insert = h.db.prepare(
      'INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    insert.run(Date.now(), 'main', 'staffless', 'denied', 'no_camera_consent', 'a'.repeat(64), 'V');
    insert.run(Date.now(), 'main', 'staffless', 'denied', 'ils_unavailable', 'b'.repeat(64), 'B');
    insert.run(Date.now(), 'main', 'staffless', 'granted', 'allow', 'c'.repeat(64), 'X9');
    for (const url of ['/entries', '/now']) {
      const body = (await getAs(url)).body;
      expect(body).toContain(
        '<span class="reason" title="no_camera_consent">Camera surveillance consent is missing</span>',
      );
      expect(body).toContain(
        'title="ils_unavailable">The library system is not answering, try again later</span>',
      );
      expect(body).not.toMatch(/<td>(no_camera_consent|ils_unavailable)<\/td>/);
      expect(body).toContain('<td>Main door</td>');
      expect(body).not.toContain('<td>main</td>');
      expect(body).toContain('<span title="V">Adult</span>');
      // No English label: another language's, then the code itself.
      expect(body).toContain('<span title="B">Barn</span>');
      expect(body).toContain('<td>X9</td>');
    }
  });

  it('the audit log reads as sentences with local times, never epoch milliseconds or JSON', async () => {
    await postAs('/consent/sign', `card=${CARD}&kind=agreement&kind=camera&version=v3&date=2026-01-20`);
    await postAs('/consent/withdraw', `card=${CARD}&kind=camera&date=2026-01-25&reason=patron+asked`);
    await postAs('/doors/main/unlock', 'minutes=15&reason=delivery+at+the+back');
    const body = (await getAs('/audit')).body;
    const hash = h.deps.hashCard(CARD);
    const card = `<a href="/audit?subject=${hash}" class="hash" title="${hash}">card ${hash.slice(0, 12)}…</a>`;
    // The dashboard registers withdrawals at noon local time of the date typed.
    expect(body).toContain(`anne (Admin) withdrew camera consent for ${card} (as of 25/01/2026, 12:00:00)`);
    expect(body).toContain(
      `anne (Admin) registered the open-library agreement, version v3, signed 20/01/2026, 12:00:00, for ${card}`,
    );
    expect(body).toContain('anne (Admin) unlocked Main door for 15 minutes');
    expect(body).toContain('<td>patron asked</td>');
    expect(body).not.toMatch(/\d{13}/);
    expect(body).not.toContain('withdrawnAt');
    expect(body).not.toContain('{&#34;');
    expect(body).toContain('<table id="audit">');
  });

  it('an action without a sentence shows its code and details in words, times local', async () => {
    h.db
      .prepare('INSERT INTO audit (ts, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(
        Date.now(),
        'system',
        'something.new',
        'x1',
        JSON.stringify({ at: '2026-11-25T11:00:00.000Z', n: 3 }),
      );
    const body = (await getAs('/audit')).body;
    expect(body).toContain(
      'Dørvakt (automatic): <code>something.new</code> · x1 <small>(at: 25/11/2026, 12:00:00, n: 3)</small>',
    );
  });

  it('the export form offers the cameras as checkboxes, none ticked', async () => {
    const body = (await getAs('/exports')).body;
    expect(body).toContain('<input type="checkbox" name="camera" value="entrance"> entrance');
    expect(body).toContain('<input type="checkbox" name="camera" value="hall"> hall');
    expect(body).not.toMatch(/name="camera"[^>]*checked/);
  });
});
