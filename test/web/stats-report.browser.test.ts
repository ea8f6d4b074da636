import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { STAFF, type Harness, startHarness } from './fixtures.ts';

interface Axe {
  run(context: unknown): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }>;
}
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The statistics page with a year's report shown (the every-page test sees only the page without it): on a
 * phone, no sideways page scroll and no serious axe finding, with 53 weeks in the table.
 */
describe('statistics as reported in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let base: string;
  const year = new Date().getUTCFullYear() - 1;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
    const address = h.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    h.db
      .prepare(
        `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, source) VALUES (?, 'main', 'staffless', 'granted', 'ok', 'h', 'local')`,
      )
      .run(Date.UTC(year, 5, 1, 18));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('shows a year on a phone without sideways scroll or serious axe findings', {
    timeout: 120_000,
  }, async () => {
    // axe is injected as an inline script, which the dashboard's CSP rightly refuses.
    const context = await browser.newContext({ viewport: { width: 390, height: 900 }, bypassCSP: true });
    const page: Page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name="name"]', STAFF.name);
    await page.fill('input[name="password"]', STAFF.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    await page.goto(`${base}/stats`);
    await page.selectOption('select[name="year"]', String(year));
    await Promise.all([page.waitForURL(/year=/), page.click('form[action="/stats#report"] button')]);
    await page.waitForSelector('#report-weeks');
    expect(await page.locator('#report-year td').first().textContent()).toBe('0');
    expect(await page.locator('#report-weeks tbody tr').count()).toBeGreaterThanOrEqual(52);
    const [scroll, width] = (await page.evaluate(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    )) as [number, number];
    expect(scroll).toBeLessThanOrEqual(width);
    await page.addScriptTag({ content: AXE });
    const violations = (await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: Axe }).axe;
      const result = await axe.run({ exclude: [['.notice.ok']] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length }));
    })) as { id: string; impact: string }[];
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
    await context.close();
  });
});
