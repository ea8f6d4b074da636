import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.ts';
import { findUserByName, type Language, setLanguage } from '../../src/web/users.ts';
import { launchChromium } from '../helpers/browser.ts';
import { ADMIN, type Harness, STAFF, startHarness } from './fixtures.ts';

/**
 * Every dashboard page, found from the server's own route table (so pages added later are covered), for an
 * admin and for staff, at a phone's width and a desktop's: no sideways page scroll, no serious or critical
 * axe-core finding, a visible focus on every stop of the Tab order, and a screenshot kept per page.
 */

const SCREENS = join(process.cwd(), 'test-artifacts', 'screens');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** More Tab stops than this on one page means a trap or a page too long to use by keyboard. */
const MAX_TAB_STOPS = 150;

interface PageToCheck {
  path: string;
  /** For the file name and the failure message. */
  name: string;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; html: string; failureSummary?: string }[];
}

interface FocusStop {
  tag: string;
  text: string;
  visible: boolean;
  inView: boolean;
  /** Focus came back to an element already visited: the walk is complete. */
  again: boolean;
  /** Focus moved to an element earlier in the document than the one before it. */
  backwards: boolean;
}

/**
 * The pages a signed-in person opens: GET routes without parameters that answer an HTML document.
 * The API (JSON and the event stream) is not a page; parameterised routes are actions, not pages.
 */
async function discoverPages(h: Harness, cookie: string): Promise<(PageToCheck & { access: string })[]> {
  const found: (PageToCheck & { access: string })[] = [];
  for (const route of h.app.dorvaktRoutes) {
    if (route.method !== 'GET' || route.access === 'public') continue;
    if (route.url.includes(':') || route.url.startsWith('/api/')) continue;
    const res = await h.app.inject({ method: 'GET', url: route.url, headers: { cookie } });
    const isDocument =
      res.statusCode === 200 &&
      String(res.headers['content-type']).startsWith('text/html') &&
      res.body.startsWith('<!doctype html>');
    if (isDocument) found.push({ path: route.url, name: route.url.slice(1), access: route.access });
  }
  return found;
}

/** A card with entries, a signed agreement and audit rows. */
const SEEDED_CARD = '77001234';

/** Content the tables and lists need so that they are as wide as they get in use. */
function seed(h: Harness): void {
  const now = Date.now();
  const insert = h.db.prepare(
    'INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const reasons = ['allow', 'ils_unavailable', 'consent_withdrawn', 'no_agreement', 'outside_hours'];
  for (let i = 0; i < 12; i++) {
    insert.run(
      now - i * 600_000,
      'main',
      i % 3 ? 'staffless' : 'staffed',
      i % 2 ? 'denied' : 'granted',
      reasons[i % reasons.length],
      h.deps.hashCard(i % 4 ? `7700${1000 + i}` : SEEDED_CARD),
      i % 2 ? 'V' : 'B',
    );
  }
  const hash = h.deps.hashCard(SEEDED_CARD);
  h.deps.consents.sign(hash, 'agreement', '2026-1', now - 86_400_000, ADMIN.name);
  audit(h.db, {
    actor: ADMIN.name,
    action: 'consent.camera.signed',
    subject: hash,
    reason: 'signed at the front desk with the paper form',
    detail: { version: '2026-1', at: now, by: ADMIN.name, note: 'x'.repeat(180) },
  });
  audit(h.db, {
    actor: ADMIN.name,
    action: 'door.manual_unlock',
    subject: 'main',
    reason: 'delivery',
    detail: { minutes: 15 },
  });
  h.alarms.raise('door_forced', 'main', 'contact opened while locked');
  h.nvr.openExport({
    caseNumber: '2026-99001',
    authority: 'Oslo politidistrikt',
    from: new Date(now - 2 * 86_400_000).toISOString(),
    to: new Date(now - 2 * 86_400_000 + 3_600_000).toISOString(),
    cameras: ['entrance', 'hall'],
    reason: 'burglary at night',
    actor: ADMIN.name,
  });
}

/** Page-side checks, as source strings: the test project has no DOM types. */
const OVERFLOW = '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })';
const RUN_AXE = 'axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)';
/** How many lines the menu takes: on a phone one, however many entries it has (on a desktop it may wrap). */
const MENU_LINES = `(() => {
  const links = [...document.querySelectorAll('header nav a')];
  return new Set(links.map((a) => Math.round(a.getBoundingClientRect().top))).size;
})()`;
const POSITIVE_TABINDEX = '[...document.querySelectorAll("[tabindex]")].filter((e) => e.tabIndex > 0).length';
const FOCUSED = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && (cs.outlineStyle === 'auto' || parseFloat(cs.outlineWidth) >= 2);
  const r = el.getBoundingClientRect();
  const again = el.hasAttribute('data-tab-seen');
  el.setAttribute('data-tab-seen', '');
  const previous = window.__tabPrevious;
  window.__tabPrevious = el;
  return {
    tag: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('href') ? '[href=' + el.getAttribute('href') + ']' : '') + (el.name ? '[name=' + el.name + ']' : ''),
    text: (el.textContent || el.value || '').trim().slice(0, 30),
    visible: outline || cs.boxShadow !== 'none',
    inView: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight,
    again,
    backwards: !again && !!previous && !!(el.compareDocumentPosition(previous) & Node.DOCUMENT_POSITION_FOLLOWING),
  };
})()`;

/** A live page (Now) redraws its panel once its stream connects: let that happen before checking it. */
async function settled(page: Page): Promise<void> {
  const live = "document.getElementById('live-status')";
  if (!(await page.evaluate(`${live} !== null`))) return;
  await page.waitForFunction(`${live}.hidden === true`, null, { timeout: 15_000 });
  await page.waitForTimeout(500);
}

/** What is wrong with the page now shown, one line each; saves its screenshot first. */
async function checkShownPage(
  page: Page,
  label: string,
  file: string,
  layoutPage: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  await page.screenshot({ path: join(SCREENS, `${file}.png`), fullPage: true });
  const size = (await page.evaluate(OVERFLOW)) as { scrollWidth: number; innerWidth: number };
  if (size.scrollWidth > size.innerWidth)
    problems.push(`${label}: page is ${size.scrollWidth}px wide in a ${size.innerWidth}px window`);

  if (layoutPage && size.innerWidth < 700) {
    const lines = (await page.evaluate(MENU_LINES)) as number;
    if (lines !== 1) problems.push(`${label}: the menu takes ${lines} lines`);
  }

  // Evaluated, not added as a script tag: the page's CSP (script-src 'self') stays as in production.
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(RUN_AXE)) as AxeViolation[];
  for (const v of violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')) {
    const where = v.nodes
      .slice(0, 3)
      .map((n) => `${n.target.join(' ')} ${n.html.slice(0, 120)}`)
      .join(' | ');
    problems.push(`${label}: axe ${v.impact} ${v.id} (${v.help}) ×${v.nodes.length}: ${where}`);
  }

  if ((await page.evaluate(POSITIVE_TABINDEX)) !== 0)
    problems.push(`${label}: a positive tabindex reorders focus`);
  // Tab from the top through every stop, until focus leaves the document or comes round again.
  for (let i = 0; i < MAX_TAB_STOPS; i++) {
    await page.keyboard.press('Tab');
    const stop = (await page.evaluate(FOCUSED)) as FocusStop | null;
    if (!stop || stop.again) break;
    if (i === 0 && layoutPage && stop.tag !== 'a[href=#main]')
      problems.push(`${label}: the first Tab stop is ${stop.tag}, not the skip link to #main`);
    if (!stop.visible) problems.push(`${label}: no visible focus on ${stop.tag} "${stop.text}"`);
    if (!stop.inView) problems.push(`${label}: focused ${stop.tag} "${stop.text}" is off screen`);
    if (stop.backwards)
      problems.push(`${label}: focus went backwards in the page to ${stop.tag} "${stop.text}"`);
    if (i === MAX_TAB_STOPS - 1) problems.push(`${label}: more than ${MAX_TAB_STOPS} Tab stops`);
  }
  return problems;
}

describe('every page, both roles, phone and desktop', () => {
  let h: Harness;
  let browser: Browser;
  let base: string;
  let pages: (PageToCheck & { access: string })[] = [];
  /** One signed-in page per role, reused at both widths. */
  const signedIn = new Map<string, Page>();

  async function signIn(who: { name: string; password: string }): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name="name"]', who.name);
    await page.fill('input[name="password"]', who.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    return page;
  }

  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    h = await startHarness({ listen: true });
    const address = h.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    seed(h);
    browser = await launchChromium();
    signedIn.set('admin', await signIn(ADMIN));
    signedIn.set('staff', await signIn(STAFF));
    const cookies = await signedIn.get('admin')!.context().cookies();
    pages = await discoverPages(h, cookies.map((c) => `${c.name}=${c.value}`).join('; '));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('finds the pages from the route table, and every menu entry is one of them', async () => {
    const paths = pages.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/now', '/entries', '/audit', '/users']));
    const menu = (await signedIn
      .get('admin')!
      .$$eval('header nav a[href]', (links) => links.map((a) => a.getAttribute('href')))) as string[];
    expect(menu.length).toBeGreaterThan(0);
    for (const href of menu) expect(paths).toContain(href);
  });

  // Each combination in another language: nb and da words are longer than en and overflow first.
  const combinations = [
    { role: 'admin', who: ADMIN, width: 390, lang: 'nb' },
    { role: 'admin', who: ADMIN, width: 1280, lang: 'en' },
    { role: 'staff', who: STAFF, width: 390, lang: 'da' },
    { role: 'staff', who: STAFF, width: 1280, lang: 'nb' },
  ] as const;

  for (const { role, who, width, lang } of combinations) {
    it(`${role} at ${width}px (${lang}): no overflow, no serious axe finding, visible focus in order`, async () => {
      setLanguage(h.db, findUserByName(h.db, who.name)!.id, lang as Language);
      const page = signedIn.get(role)!;
      await page.setViewportSize({ width, height: 800 });
      // Staff see their own pages, and one admin page as the "forbidden" error page.
      const forbidden = pages.find((p) => p.access === 'admin');
      const visit =
        role === 'admin'
          ? [...pages]
          : [
              ...pages.filter((p) => p.access !== 'admin'),
              ...(forbidden ? [{ ...forbidden, name: 'forbidden' }] : []),
            ];
      visit.push({ path: '/no-such-page', name: 'not-found', access: 'staff' });
      const problems: string[] = [];
      for (const p of visit) {
        await page.goto(`${base}${p.path}`);
        await settled(page);
        const pageLang = await page.evaluate('document.documentElement.lang');
        if (pageLang !== lang)
          problems.push(`${role} ${width}px ${p.path}: <html lang="${pageLang}">, not ${lang}`);
        problems.push(
          ...(await checkShownPage(page, `${role} ${width}px ${p.path}`, `${role}-${width}-${p.name}`, true)),
        );
      }
      // Pages only a form's answer shows, reached as a person would: a card looked up, its access report.
      if (role === 'admin') {
        await page.goto(`${base}/cards`);
        await page.fill('form[action="/cards/lookup"] input[name="card"]', SEEDED_CARD);
        await page.fill('form[action="/cards/lookup"] input[name="reason"]', 'patron asked at the desk');
        await page.click('form[action="/cards/lookup"] button[type="submit"]');
        await page.waitForSelector('form[action="/gdpr/report"]');
        problems.push(
          ...(await checkShownPage(
            page,
            `${role} ${width}px card lookup`,
            `${role}-${width}-cards-lookup`,
            true,
          )),
        );
        await page.fill('form[action="/gdpr/report"] input[name="reason"]', 'patron asked for a copy');
        await page.click('form[action="/gdpr/report"] button[type="submit"]');
        await page.waitForURL(`${base}/gdpr/report`);
        problems.push(
          ...(await checkShownPage(
            page,
            `${role} ${width}px access report`,
            `${role}-${width}-gdpr-report`,
            false,
          )),
        );
      }

      // The skip link moves focus to the main content.
      await page.goto(`${base}/now`);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      const focused = await page.evaluate('document.activeElement && document.activeElement.id');
      if (focused !== 'main')
        problems.push(`${role} ${width}px: the skip link left focus on "${focused}", not #main`);
      expect(problems, problems.join('\n')).toEqual([]);
    }, 300_000);
  }

  for (const width of [390, 1280]) {
    it(`login page at ${width}px, empty and after a failed login`, async () => {
      const page = await (await browser.newContext({ viewport: { width, height: 800 } })).newPage();
      await page.goto(`${base}/login`);
      const problems = await checkShownPage(page, `login ${width}px`, `login-${width}`, false);
      await page.fill('input[name="name"]', ADMIN.name);
      await page.fill('input[name="password"]', 'wrong-password-000');
      await page.click('button[type="submit"]');
      await page.waitForSelector('.notice.error');
      problems.push(
        ...(await checkShownPage(page, `login failed ${width}px`, `login-failed-${width}`, false)),
      );
      expect(problems, problems.join('\n')).toEqual([]);
      await page.context().close();
    }, 120_000);
  }
});
