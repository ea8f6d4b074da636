import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { type Harness, STAFF, startHarness } from './fixtures.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The browser's Notification and audio cannot run headless: the page gets stand-ins before its own scripts
 * run, which record what the dashboard asked of them.
 */
const STUBS = `
window.__notes = []; window.__tones = 0; window.__asked = 0;
class StubNotification {
  constructor(title, options) { window.__notes.push({ title, body: options && options.body }); }
  static async requestPermission() { window.__asked++; StubNotification.permission = 'granted'; return 'granted'; }
}
StubNotification.permission = sessionStorage.getItem('granted') ? 'granted' : 'default';
window.Notification = StubNotification;
const param = { setValueAtTime() {}, exponentialRampToValueAtTime() {} };
window.AudioContext = class {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    window.__tones++;
    return { type: '', frequency: param, connect: (n) => n, start() {}, stop() {} };
  }
  createGain() { return { gain: param, connect: (n) => n }; }
};
`;

for (const width of [390, 1280]) {
  describe(`alarms, tiles and settings in a real browser at ${width} px`, () => {
    let h: Harness;
    let browser: Browser;
    let page: Page;
    let base: string;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      h = await startHarness({ listen: true });
      const address = h.app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      await context.addInitScript({ content: STUBS });
      page = await context.newPage();
      await page.goto(`${base}/login`);
      await page.fill('input[name="name"]', STAFF.name);
      await page.fill('input[name="password"]', STAFF.password);
      await page.click('button[type="submit"]');
      await page.waitForURL(`${base}/now`);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await h?.close();
    });

    const shot = (name: string) =>
      page.screenshot({ path: join(ARTIFACTS, `alarms-${name}-${width}.png`), fullPage: true });
    const streamOpen = () =>
      page.waitForFunction('window.dorvaktEvents && window.dorvaktEvents.readyState === 1');
    const noPageScroll = async () => {
      const wide = await page.evaluate(
        `[...document.querySelectorAll('body *')].filter((e) => !e.closest('.table-scroll') && e.getBoundingClientRect().right > window.innerWidth + 0.5).slice(0, 8).map((e) => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))`,
      );
      return expect(
        await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
        `horizontal overflow on ${page.url()}: ${JSON.stringify(wide)}`,
      ).toBeLessThanOrEqual(0);
    };
    const axeFindings = async () => {
      await page.addScriptTag({ content: AXE });
      const found = (await page.evaluate(
        `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
           .filter((v) => v.impact === 'serious' || v.impact === 'critical')
           .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
      )) as string[];
      return found;
    };

    it('never asks for notification permission on load; the button asks', async () => {
      await streamOpen();
      expect(await page.evaluate('window.__asked')).toBe(0);
      expect(await page.isVisible('#notify-enable')).toBe(true);
      await page.click('#notify-enable');
      await page.waitForFunction('window.__asked === 1');
      expect(await page.textContent('#notify-state')).toBe('Desktop notifications are on for this browser.');
      expect(await page.isVisible('#notify-enable')).toBe(false);
      await page.evaluate("sessionStorage.setItem('granted', '1')");
    });

    it('a new alarm on any page: count in the title, a tone and a notification; it stays after its cause clears', async () => {
      await page.goto(`${base}/settings`);
      await streamOpen();
      const title = await page.title();
      expect(title).toBe('My settings · Testby bibliotek');
      h.alarms.raise('door_forced', 'main', 'opened while locked');
      await page.waitForFunction("document.title.startsWith('(1) ')");
      expect(await page.title()).toBe(`(1) ${title}`);
      expect(await page.evaluate('window.__notes')).toEqual([
        { title: 'New alarm: Door forced open', body: 'Main door' },
      ]);
      expect(await page.evaluate('window.__tones')).toBe(1);
      h.alarms.clear('door_forced', 'main');
      await page.waitForTimeout(300);
      expect(await page.title()).toBe(`(1) ${title}`);

      // Loading a page with the alarm already there does not ring again.
      await page.goto(`${base}/now`);
      await streamOpen();
      expect(await page.title()).toMatch(/^\(1\) Now/);
      const item = page.locator('li.alarm[data-alarm="door_forced"]');
      expect(await item.textContent()).toContain('Cleared, awaiting acknowledgement');
      expect(await page.evaluate('window.__tones')).toBe(0);
      expect(await page.evaluate('window.__notes.length')).toBe(0);
      await shot('now-cleared-alarm');
      await noPageScroll();
      expect(await axeFindings()).toEqual([]);

      await item.locator('button').click();
      await page.waitForURL(`${base}/now?n=done`);
      expect(await page.locator('li.alarm[data-alarm="door_forced"]').count()).toBe(0);
      expect(await page.title()).toMatch(/^Now/);
    });

    it('tiles say the state in words; forced shows while the door is open', async () => {
      h.door.state = { ...h.door.state, open: true };
      h.alarms.raise('door_forced', 'main');
      await page.waitForSelector('.door[data-state="forced"]', { timeout: 10_000 });
      expect(await page.textContent('.door .tile-state')).toBe('State: Forced open');
      await shot('now-forced');
      h.alarms.clear('door_forced', 'main');
      h.door.state = { ...h.door.state, open: false };
      // A raise/clear elsewhere refreshes the panel; the door panel here is a stand-in without events.
      h.alarms.raise('ils_offline');
      await page.waitForSelector('.door[data-state="locked"]', { timeout: 10_000 });
      expect(await page.textContent('.door .tile-state')).toBe('State: Locked');
      for (const a of h.alarms.unresolved()) {
        h.alarms.clear(a.code, a.door);
        h.alarms.acknowledge(a.id, 'test');
      }
    });

    it('the alarm history filters and acknowledges', async () => {
      h.alarms.raise('door_held_open', 'main');
      h.alarms.clear('door_held_open', 'main');
      await page.goto(`${base}/alarms`);
      await page.selectOption('select[name="kind"]', 'door_held_open');
      await page.selectOption('select[name="state"]', 'unacked');
      await page.click('form.filters button[type="submit"]');
      await page.waitForURL(/kind=door_held_open/);
      const rows = page.locator('table.alarm-history tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain('Cleared, awaiting acknowledgement');
      await shot('history');
      await noPageScroll();
      expect(await axeFindings()).toEqual([]);
      await rows.first().locator('button').click();
      await page.waitForURL(/n=done/);
      expect(new URL(page.url()).searchParams.get('kind')).toBe('door_held_open');
      expect(await page.locator('table.alarm-history tbody tr').count()).toBe(0);
    });

    it('settings: sound off means no tone (the notification still shows); the language applies on the next page', async () => {
      await page.goto(`${base}/settings`);
      await noPageScroll();
      expect(await axeFindings()).toEqual([]);
      await page.uncheck('#sound');
      await page.click('form.settings button[type="submit"]');
      await page.waitForURL(`${base}/settings?n=saved`);
      await streamOpen();
      h.alarms.raise('reader_offline', 'main');
      await page.waitForFunction("document.title.startsWith('(1) ')");
      expect(await page.evaluate('window.__notes.length')).toBe(1);
      expect(await page.evaluate('window.__tones')).toBe(0);

      await page.selectOption('form.settings select[name="language"]', 'nb');
      await page.check('#sound');
      await page.click('form.settings button[type="submit"]');
      await page.waitForURL(`${base}/settings?n=saved`);
      expect(await page.textContent('h1')).toBe('Mine innstillinger');
      await page.goto(`${base}/now`);
      expect(await page.textContent('h1')).toBe('Nå');
      expect(await page.textContent('.door .tile-state')).toBe('Tilstand: Frakoblet');
      await shot('now-nb');
      await noPageScroll();
    });
  });
}
