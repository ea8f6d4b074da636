import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Harness, startHarness } from './fixtures.ts';
import { launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

/** Real Chromium against the real server on loopback, with a real SQLite file, EventBus, Alarms and Consents. */
describe('dashboard in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let base: string;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({ listen: true });
    const address = h.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: true });

  it('logs in and lands on Now', async () => {
    await page.goto(`${base}/now`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="name"]', ADMIN.name);
    await page.fill('input[name="password"]', ADMIN.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    await expect(page.textContent('h1')).resolves.toBe('Now');
    await expect(page.textContent('.door .mode')).resolves.toBe('Staffless');
    await shot('now');
  });

  it('shows a swipe published on the bus live, without a reload', async () => {
    // Browser-side code as strings: the test project has no DOM types.
    await page.evaluate('window.marker = 42');
    // The live stream is connected once the hidden "connection lost" note stays hidden and the panel refreshed.
    await page.waitForFunction("document.getElementById('live-status').hidden === true");
    const before = Number(await page.textContent('#let-in-count'));
    const id = Number(
      h.db
        .prepare(
          "INSERT INTO entries (ts, door, mode, outcome, reason, category) VALUES (?, 'main', 'staffless', 'granted', 'allow', 'V')",
        )
        .run(Date.now()).lastInsertRowid,
    );
    // SSE may still be handshaking: publish until the row shows (the handler ignores duplicates by entry id).
    const deadline = Date.now() + 10_000;
    while (!(await page.$(`#live tr[data-entry="${id}"]`)) && Date.now() < deadline) {
      h.bus.publish({
        type: 'entry',
        door: 'main',
        outcome: 'granted',
        reason: 'allow',
        mode: 'staffless',
        category: 'V',
        entryId: id,
        ts: new Date().toISOString(),
      });
      await page.waitForTimeout(200);
    }
    const row = await page.waitForSelector(`#live tr[data-entry="${id}"]`, { timeout: 1000 });
    expect(await row.textContent()).toContain('Granted');
    expect(Number(await page.textContent('#let-in-count'))).toBe(before + 1);
    expect(await page.evaluate('window.marker')).toBe(42);
    await shot('now-live-entry');
  });

  it('shows a raised alarm live and acknowledges it', async () => {
    h.alarms.raise('door_forced', 'main', 'contact opened while locked');
    const button = await page.waitForSelector('li.alarm[data-alarm="door_forced"] button', {
      timeout: 10_000,
    });
    await shot('now-alarm');
    await button.click();
    await page.waitForURL(`${base}/now?n=done`);
    expect(await page.textContent('li.alarm[data-alarm="door_forced"]')).toContain('Acknowledged by anne');
    expect(h.alarms.list().find((a) => a.code === 'door_forced')?.ackedBy).toBe('anne');
  });

  it('keeps what staff typed into a door form when a live event redraws the panel', async () => {
    const reason = page.locator('form[action="/doors/main/unlock"] input[name="reason"]');
    await reason.fill('delivery at the main door');
    await page.evaluate('document.activeElement.blur()');
    h.alarms.raise('reader_offline', 'main', 'test');
    await page.waitForSelector('li.alarm[data-alarm="reader_offline"]', { timeout: 10_000 });
    expect(await reason.inputValue()).toBe('delivery at the main door');
    h.alarms.clear('reader_offline', 'main');
  });

  it('registers consent for a card and withdraws it', async () => {
    await page.goto(`${base}/consent`);
    const sign = page.locator('#sign-form');
    await sign.locator('input[name="card"]').fill('77001234');
    await sign.locator('input[name="version"]').fill('2026-1');
    await sign.locator('button[type="submit"]').click();
    await page.waitForSelector('#consent-status');
    expect(await page.textContent('#agreement-state')).toBe('signed (2026-1)');
    expect(await page.textContent('#camera-state')).toBe('signed');
    await shot('consent-signed');
    const withdraw = page.locator('#withdraw-form');
    await withdraw.locator('input[name="card"]').fill('77001234');
    await withdraw.locator('input[value="camera"]').check();
    await withdraw.locator('input[name="reason"]').fill('patron withdrew by e-mail');
    await withdraw.locator('button[type="submit"]').click();
    await page.waitForSelector('text=Withdrawal recorded');
    expect(await page.textContent('#camera-state')).toBe('withdrawn');
    expect(h.deps.consents.status(h.deps.hashCard('77001234'))).toMatchObject({
      agreement: 'signed',
      camera: 'withdrawn',
    });
    await shot('consent-withdrawn');
  });

  it('opens a police export, is refused past retention, and closes it', async () => {
    await page.goto(`${base}/exports`);
    // A wall-clock time for the form; read in the site zone (Oslo) it is an hour or two off, well inside retention.
    const local = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 16);
    await page.fill('input[name="case"]', '2026-99001');
    await page.fill('input[name="authority"]', 'Oslo politidistrikt');
    await page.fill('input[name="from"]', '2025-01-01T10:00');
    await page.fill('input[name="to"]', '2025-01-01T11:00');
    await page.fill('#open-export input[name="reason"]', 'burglary');
    await page.click('#open-export button[type="submit"]');
    await page.waitForSelector('.notice.error');
    expect(await page.textContent('.notice.error')).toContain('Refused');
    await shot('export-refused');
    await page.fill('input[name="from"]', local(2 * 86_400_000));
    await page.fill('input[name="to"]', local(2 * 86_400_000 - 3_600_000));
    await page.click('#open-export button[type="submit"]');
    await page.waitForURL(`${base}/exports?n=done`);
    const row = page.locator('tr[data-export]');
    expect(await row.getAttribute('data-state')).toBe('held');
    await shot('export-held');
    await row.locator('input[name="reason"]').fill('case closed by police');
    await row.locator('button[value="close"]').click();
    await page.waitForURL(`${base}/exports?n=done`);
    expect(await page.locator('tr[data-export]').getAttribute('data-state')).toBe('closed');
    expect(h.nvr.cases[0]?.state).toBe('closed');
  });

  it('draws statistics and downloads the CSV', async () => {
    await page.goto(`${base}/stats`);
    await page.waitForSelector('#chart-hour svg rect');
    await shot('stats');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
    expect(download.suggestedFilename()).toMatch(/^dorvakt-stats-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('day,hour,door,mode,outcome,reason,category,age_band,count');
    expect(csv).toContain(',main,staffless,granted,allow,V,');
  });

  it('ran without a single CSP violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
