import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwipeResult } from '../../src/access/gate.ts';
import { parseConfig } from '../../src/config/load.ts';
import { DEMO_SIP2_PATRONS, type Sip2Simulator, startSip2Simulator } from '../../src/ils/simulator.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Service, startService } from '../../src/service.ts';
import { addUser } from '../../src/web/users.ts';
import { launchChromium } from '../helpers/browser.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const STAFF = { name: 'kari', password: 'staff-password-456' };

/**
 * The desk's card check end to end: Chromium → the dashboard in the worker process → `access.explain` over
 * IPC → the door process asking the SIP2 simulator on a connection of its own. Nothing opens, no entry or
 * PIN failure is written, the audit row has no PIN, and a swipe meanwhile is not held up.
 */
describe('card check ("why can\'t I get in?") through the real door process', { timeout: 90_000 }, () => {
  const dir = tempDir('card-check-');
  let sip2: Sip2Simulator;
  let reader: PtyPair;
  let service: Service;
  let browser: Browser;
  let base: string;
  const relayWrites: boolean[] = [];
  const swipes: SwipeResult[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    sip2 = await startSip2Simulator({ encoding: 'cp850', errorDetection: true, patrons: DEMO_SIP2_PATRONS });
    reader = await createPtyPair();
    writeFileSync(join(dir.path, 'key'), 'card-check-site-key-0123456789');
    const config = parseConfig(`
site: { id: check, timezone: Europe/Oslo, country: NO, language: nb }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    name: Hovedinngangen
    require_pin: true
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${reader.devicePath}, profile: keypad, pin_timeout_ms: 5000, card_pattern: "^[0-9]{8}$" }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
access: { min_age: 15, pin_lockout_attempts: 3, pin_lockout_minutes: 15, category_labels: { V: { nb: Voksen, da: Voksen, en: Adult } } }
patrons: { source: sip2, offline_policy: deny }
ils:
  host: 127.0.0.1
  port: ${sip2.port}
  institution: DEMO
  encoding: cp850
  error_detection: true
  cache_seconds: 0
  request_timeout_ms: 5000
  connect_timeout_ms: 5000
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "mqtt://127.0.0.1:${await freePort()}", embedded_fallback: false }
ops: { host: 127.0.0.1, port: ${await freePort()} }
web: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }
log: { level: silent }
`);
    service = await startService({
      config,
      log: createLogger('silent'),
      onSwipe: (_door, result) => swipes.push(result),
    });
    const { app } = service;
    for (const runtime of app.doors) runtime.door.onRelayWrite((_at, unlocked) => relayWrites.push(unlocked));
    await addUser(app.db, { ...STAFF, role: 'staff', language: 'en' });
    for (const card of ['10000001', '10000002'])
      app.consents.sign(app.hashCard(card), 'agreement', '2026-1', Date.now(), 't');
    app.consents.sign(app.hashCard('10000001'), 'camera', '2026-1', Date.now(), 't');
    base = await waitFor(() => service.webUrl, 20_000, 'the dashboard');
    await waitFor(() => app.doors[0]!.reader.online, 5000, 'the reader');
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await reader?.close();
    await sip2?.close();
    dir.cleanup();
  });

  const count = (sql: string) => service.app.db.prepare(sql).pluck().get() as number;

  async function loggedIn(width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name="name"]', STAFF.name);
    await page.fill('input[name="password"]', STAFF.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    return page;
  }

  async function check(page: Page, card: string, pin?: string): Promise<void> {
    await page.goto(`${base}/check`);
    await page.fill('input[name="card"]', card);
    if (pin !== undefined) await page.fill('input[name="pin"]', pin);
    await page.click('#check-form button[type="submit"]');
    await page.waitForLoadState('load');
  }

  const rowStatus = (page: Page, section: string) =>
    page.$$eval(`#${section} tr[data-check]`, (rows) =>
      Object.fromEntries(rows.map((r) => [r.getAttribute('data-check'), r.getAttribute('data-status')])),
    );

  for (const width of [390, 1280]) {
    it(`at ${width} px: a card without camera consent, the right PIN: every row, the verdict, an audit row without the PIN, and the door untouched`, async () => {
      const page = await loggedIn(width);
      const auditBefore = count("SELECT COUNT(*) FROM audit WHERE action = 'card.check'");
      await check(page, '10000002', '2345');
      expect(await page.textContent('h1')).toBe("Why can't I get in?");
      expect(await page.getAttribute('#check-now .verdict', 'data-reason')).toBe('no_camera_consent');
      expect(await page.textContent('#check-now .verdict')).toContain('The door would stay locked');
      expect(await rowStatus(page, 'check-now')).toEqual({
        local: 'pass',
        schedule: 'pass',
        lockout: 'pass',
        pin: 'pass',
        library: 'pass',
        category: 'pass',
        agreement: 'pass',
        camera: 'fail',
      });
      expect(await page.getAttribute('#check-now tr[data-check="camera"]', 'class')).toContain('decisive');
      // Plain words, the code on hover; the door's name, the category's label.
      expect(await page.textContent('#check-now tr[data-check="camera"]')).toContain(
        'Camera surveillance consent is missing',
      );
      expect(await page.getAttribute('#check-now tr[data-check="camera"] span[title]', 'title')).toBe(
        'no_camera_consent',
      );
      expect(await page.textContent('main h2')).toBe('Hovedinngangen');
      expect(await page.textContent('#check-now tr[data-check="category"]')).toContain('Adult');
      // Staffless all week: no second moment to show.
      expect(await page.$('#check-next')).toBeNull();
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, `card-check-${width}.png`), fullPage: true });

      expect(count("SELECT COUNT(*) FROM audit WHERE action = 'card.check'")).toBe(auditBefore + 1);
      const row = service.app.db
        .prepare(
          "SELECT actor, subject, detail FROM audit WHERE action = 'card.check' ORDER BY id DESC LIMIT 1",
        )
        .get() as { actor: string; subject: string; detail: string };
      expect(row.actor).toBe(STAFF.name);
      expect(row.subject).toBe(service.app.hashCard('10000002'));
      expect(JSON.parse(row.detail)).toEqual({ door: 'front', pinGiven: true, now: 'no_camera_consent' });
      const everything = JSON.stringify(service.app.db.prepare('SELECT * FROM audit').all());
      expect(everything).not.toContain('2345');
      expect(everything).not.toContain('10000002');
      await page.context().close();
    });
  }

  it('a wrong PIN shows as a failing PIN row but is not counted towards the lockout; the relay never moves', async () => {
    const page = await loggedIn(1280);
    // As many wrong PINs as the lockout allows: counted, they would lock the card.
    for (let i = 0; i < 3; i++) await check(page, '10000001', '0000');
    expect(await rowStatus(page, 'check-now')).toMatchObject({
      pin: 'fail',
      lockout: 'pass',
      library: 'pass',
    });
    expect(await page.getAttribute('#check-now .verdict', 'data-reason')).toBe('bad_pin');
    // The right PIN after three wrong ones: not locked out, the door would open.
    await check(page, '10000001', '1234');
    expect(await page.getAttribute('#check-now .verdict', 'data-reason')).toBe('allow');
    expect(await page.textContent('#check-now .verdict')).toContain('The door would open');
    expect(count('SELECT COUNT(*) FROM pin_failures')).toBe(0);
    expect(count('SELECT COUNT(*) FROM entries')).toBe(0);
    expect(relayWrites.filter((unlocked) => unlocked)).toEqual([]);
    await page.context().close();
  });

  it('a card that does not fit the door reader is refused in words; a silent library system reads "not reachable" while a swipe goes first', async () => {
    const page = await loggedIn(1280);
    await check(page, 'abc');
    expect(await page.textContent('.notice.error')).toContain(
      "This door's reader does not accept this card number",
    );

    // The library system leaves its next answer (the card check's) unsaid; a swipe meanwhile is decided at once.
    const asked = sip2.stats.patronRequests;
    sip2.setFault({ mode: 'silent', times: 1, only: ['63'] });
    const checking = check(page, '10000001', '1234');
    await waitFor(() => sip2.stats.patronRequests > asked, 5000, 'the card check asking the library system');
    const started = Date.now();
    reader.write('10000001\r\n');
    reader.write('1234#');
    await waitFor(() => swipes.length === 1, 5000, 'the swipe');
    const swipeMs = Date.now() - started;
    expect(swipes[0]!.decision).toEqual({ allow: true, reason: 'allow' });
    await checking;
    // Sharing the swipes' connection, it would wait out the card check's 4 s.
    expect(swipeMs).toBeLessThan(2500);
    expect(await rowStatus(page, 'check-now')).toMatchObject({ library: 'fail' });
    expect(await page.getAttribute('#check-now .verdict', 'data-reason')).toBe('ils_unavailable');
    // The swipe opened the door; the card checks never did.
    expect(relayWrites.filter((unlocked) => unlocked)).toHaveLength(1);
    await page.context().close();
  });
});
