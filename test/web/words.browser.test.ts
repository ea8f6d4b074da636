import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { setLanguage } from '../../src/web/users.ts';
import { launchChromium } from '../helpers/browser.ts';
import { ADMIN, type Harness, startHarness } from './fixtures.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

/** The pages that now speak in words, in real Chromium on a phone and on a desk screen, in en and da. */
describe('plain words in a real browser', { timeout: 60_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({
      listen: true,
      config: parseConfig(
        `
site: { id: test, name: Testby bibliotek, timezone: Europe/Oslo, language: en }
secrets: { card_hmac_key: { env: DORVAKT_TEST_KEY } }
doors:
  - id: main
    name: Main door
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/null }
access: { category_labels: { V: { nb: Voksen, da: Voksen, en: Adult } } }
web: { port: 0 }
`,
        'test.yaml',
      ),
    });
    const address = h.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    h.db
      .prepare(
        "INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category) VALUES (?, 'main', 'staffless', 'denied', 'no_camera_consent', ?, 'V')",
      )
      .run(Date.now() - 60_000, 'd'.repeat(64));
    h.deps.consents.withdraw(h.deps.hashCard('77001234'), 'camera', Date.now(), ADMIN.name, 'patron asked');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  async function open(width: number): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width, height: 900 } })).newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name="name"]', ADMIN.name);
    await page.fill('input[name="password"]', ADMIN.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    return page;
  }
  const overflow = (page: Page) =>
    page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;

  for (const width of [390, 1280]) {
    it(`at ${width} px: a live entry, the entries, audit and export pages in words, no page wider than the screen`, async () => {
      const page = await open(width);
      await page.waitForFunction("document.getElementById('live-status').hidden === true");
      const id = 900_000 + width;
      const deadline = Date.now() + 10_000;
      while (!(await page.$(`#live tr[data-entry="${id}"]`)) && Date.now() < deadline) {
        h.bus.publish({
          type: 'entry',
          door: 'main',
          outcome: 'denied',
          reason: 'ils_unavailable',
          mode: 'staffless',
          category: 'V',
          entryId: id,
          ts: new Date().toISOString(),
        });
        await page.waitForTimeout(200);
      }
      const live = page.locator(`#live tr[data-entry="${id}"]`);
      expect(await live.textContent()).toContain('The library system is not answering, try again later');
      expect(await live.textContent()).toContain('Main door');
      expect(await live.textContent()).toContain('Adult');
      expect(await live.locator('span[title="ils_unavailable"]').count()).toBe(1);
      await page.screenshot({ path: join(ARTIFACTS, `words-now-${width}.png`), fullPage: true });

      await page.goto(`${base}/entries`);
      expect(await page.locator('table.entries span[title="no_camera_consent"]').first().textContent()).toBe(
        'Camera surveillance consent is missing',
      );
      await page.goto(`${base}/audit`);
      expect(await page.textContent('#audit')).toContain('anne (Admin) withdrew camera consent for card');
      expect(await overflow(page)).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, `words-audit-${width}.png`), fullPage: true });
      await page.goto(`${base}/exports`);
      expect(await page.locator('#export-cameras input[type="checkbox"]').count()).toBe(2);
      expect(await page.locator('#export-cameras input:checked').count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, `words-exports-${width}.png`), fullPage: true });
      await page.context().close();
    });
  }

  it('in Danish: Danish words, not Norwegian ones', async () => {
    setLanguage(h.db, 1, 'da');
    try {
      const page = await open(1280);
      expect(await page.textContent('h1')).toBe('Nu');
      expect(await page.textContent('#live-h')).toBe('Hændelser');
      expect(await page.textContent('main')).toContain('Åbent bibliotek');
      await page.goto(`${base}/check`);
      expect(await page.textContent('h1')).toBe('Hvorfor kan jeg ikke komme ind?');
      await page.goto(`${base}/audit`);
      expect(await page.textContent('#audit')).toContain(
        'trak samtykket til kameraovervågning tilbage for kort',
      );
      await page.screenshot({ path: join(ARTIFACTS, 'words-audit-da.png'), fullPage: true });
      await page.context().close();
    } finally {
      setLanguage(h.db, 1, 'en');
    }
  });
});
