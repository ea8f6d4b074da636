import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { ADMIN, type Harness, STAFF, startHarness } from './fixtures.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

/** The consent forms in real Chromium: what is ticked on load is what a hurried click submits. */
describe('consent forms in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({ listen: true });
    const address = h.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const signIn = async (user: { name: string; password: string }): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name="name"]', user.name);
    await page.fill('input[name="password"]', user.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    return page;
  };
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: true });
  const consentRows = () => h.db.prepare('SELECT kind, action FROM consents ORDER BY id').all();

  it('withdraws only what is ticked: nothing on load, nothing ticked is refused, camera alone keeps the agreement', async () => {
    const card = '77009876';
    const page = await signIn(ADMIN);
    await page.goto(`${base}/consent`);
    const sign = page.locator('#sign-form');
    await sign.locator('input[name="card"]').fill(card);
    await sign.locator('input[name="version"]').fill('2026-1');
    await sign.locator('button[type="submit"]').click();
    await page.waitForSelector('#consent-status');
    expect(h.deps.consents.status(h.deps.hashCard(card))).toMatchObject({
      agreement: 'signed',
      camera: 'signed',
    });

    await page.goto(`${base}/consent`);
    const withdraw = page.locator('#withdraw-form');
    for (const kind of ['agreement', 'camera'])
      expect(await withdraw.locator(`input[name="kind"][value="${kind}"]`).isChecked(), kind).toBe(false);
    await shot(page, 'consent-withdraw-form');

    const before = consentRows();
    await withdraw.locator('input[name="card"]').fill(card);
    await withdraw.locator('input[name="reason"]').fill('patron wrote');
    await withdraw.locator('button[type="submit"]').click();
    await page.waitForSelector('.notice.error');
    expect(await page.textContent('.notice.error')).toContain('Tick what the patron withdraws');
    expect(consentRows()).toEqual(before);
    expect(h.deps.consents.status(h.deps.hashCard(card))).toMatchObject({
      agreement: 'signed',
      camera: 'signed',
    });
    await shot(page, 'consent-withdraw-nothing-ticked');

    // The refused form comes back unticked as well.
    for (const kind of ['agreement', 'camera'])
      expect(await page.locator(`#withdraw-form input[name="kind"][value="${kind}"]`).isChecked(), kind).toBe(
        false,
      );
    await page.locator('#withdraw-form input[name="card"]').fill(card);
    await page.locator('#withdraw-form input[name="kind"][value="camera"]').check();
    await page.locator('#withdraw-form button[type="submit"]').click();
    await page.waitForSelector('text=Withdrawal recorded');
    expect(await page.textContent('#camera-state')).toBe('withdrawn');
    expect(await page.textContent('#agreement-state')).toBe('signed (2026-1)');
    expect(h.deps.consents.status(h.deps.hashCard(card))).toMatchObject({
      agreement: 'signed',
      camera: 'withdrawn',
    });
    await shot(page, 'consent-withdraw-camera-only');
    await page.context().close();
  });

  it('refuses a card no door accepts, and registers a valid one, as front-desk staff', async () => {
    const page = await signIn(STAFF);
    await page.click('nav a[href="/consent"]');
    await page.waitForURL(`${base}/consent`);
    expect(await page.locator('#withdraw-form').count()).toBe(0);

    const before = consentRows();
    const sign = page.locator('#sign-form');
    await sign.locator('input[name="card"]').fill('abc');
    await sign.locator('input[name="version"]').fill('2026-1');
    await sign.locator('button[type="submit"]').click();
    await page.waitForSelector('.notice.error');
    expect(await page.textContent('.notice.error')).toContain('No door here accepts this card number');
    expect(consentRows()).toEqual(before);
    await shot(page, 'consent-card-refused');

    await page.locator('#sign-form input[name="card"]').fill('77004321');
    await page.locator('#sign-form input[name="version"]').fill('2026-1');
    await page.locator('#sign-form input[name="kind"][value="camera"]').uncheck();
    await page.locator('#sign-form button[type="submit"]').click();
    await page.waitForSelector('#consent-status');
    expect(await page.textContent('#agreement-state')).toBe('signed (2026-1)');
    expect(h.deps.consents.status(h.deps.hashCard('77004321'))).toMatchObject({
      agreement: 'signed',
      camera: 'none',
    });
    await shot(page, 'consent-staff-signed');
    await page.context().close();
  });
});
