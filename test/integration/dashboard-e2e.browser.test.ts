import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { NvrAgent } from '../../src/nvr-agent/agent.ts';
import { checkAgentConfig } from '../../src/nvr-agent/config.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Service, startService } from '../../src/service.ts';
import { addUser } from '../../src/web/users.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeKey } from '../nvr/helpers.ts';
import { launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const CARD = '31415926';

/**
 * The whole product at once, nothing faked but the GPIO: a swipe on a real pty, the real gate and store, the
 * dashboard in real Chromium, and a police export answered by the real recorder agent over real Mosquitto.
 */
describe('service end to end: door, dashboard, consent, police export', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let service: Service;
  let agent: NvrAgent;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('e2e-');
    writeFileSync(join(dir.path, 'key'), 'e2e-site-key-0123456789abcdef');
    const recordings = join(dir.path, 'recordings');
    // Two days ago, in Frigate's layout (UTC): inside retention, so an export can take it.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    const [day, time] = twoDaysAgo.toISOString().split('T') as [string, string];
    for (const minute of ['00', '10', '20']) {
      const segmentDir = join(recordings, day, time.slice(0, 2), 'entrance');
      mkdirSync(segmentDir, { recursive: true });
      writeFileSync(join(segmentDir, `${minute}.00.mp4`), `segment ${minute}\n`);
    }
    const [opsPort, webPort] = [await freePort(), await freePort()];
    const config = parseConfig(`
site: { id: e2e, timezone: UTC, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: main
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 200, sim: { open_after_ms: 50, close_after_ms: 100, patron_on_grant: true } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
nvr:
  enabled: true
  base_topic: nvr/e2e
  cameras: [entrance]
  answer_timeout_ms: 5000
  auth: { keys: [{ id: e2e, secret: { file: ${writeKey(dir.path, { id: 'e2e', secret: 'e2e-nvr-key-0123456789abcdefghijklmnop' })} } }] }
ops: { port: ${opsPort} }
web: { port: ${webPort} }
log: { level: silent }
`);
    service = await startService({ config, log: createLogger('silent') });
    new LocalPatronSource(service.app.db, service.app.hashCard, () => '2026-11-26').put(CARD, {
      category: 'V',
      birthYear: 1980,
    });
    await addUser(service.app.db, {
      name: 'ada',
      role: 'admin',
      password: 'correct horse battery',
      language: 'en',
    });
    agent = new NvrAgent({
      config: checkAgentConfig(
        {
          mqtt: { url: broker.url, base_topic: 'nvr/e2e', client_id: 'e2e-agent' },
          recordings: { root: recordings, layout: 'frigate' },
          exports_dir: join(dir.path, 'exports'),
          state_file: join(dir.path, 'agent-state.json'),
          cameras: ['entrance'],
          auth: { keys: [{ id: 'e2e', secret_file: 'nvr.key' }] },
        },
        dir.path,
      ),
      log: createLogger('silent'),
    });
    await agent.start();
    base = service.webUrl!;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await service?.stop();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  const lastEntry = () =>
    service.app.db.prepare('SELECT outcome, reason FROM entries ORDER BY id DESC LIMIT 1').get();
  const entryCount = () => service.app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
  async function swipe(): Promise<void> {
    const before = entryCount();
    pty.write(`${CARD}\r\n`);
    await waitFor(() => entryCount() > before, 5000, 'the swipe to be decided');
  }

  it('logs in; a patron without consent is refused and the refusal appears live', async () => {
    await page.goto(`${base}/login`);
    await page.fill('input[name="name"]', 'ada');
    await page.fill('input[name="password"]', 'correct horse battery');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/now`);
    await page.waitForFunction("document.getElementById('live-status').hidden === true");
    await swipe();
    expect(lastEntry()).toEqual({ outcome: 'denied', reason: 'no_agreement' });
    await page.waitForSelector('#live tr:has-text("Denied")', { timeout: 10_000 });
  });

  it('consent registered in the dashboard opens the door on the next swipe; withdrawal shuts it', async () => {
    await page.goto(`${base}/consent`);
    const sign = page.locator('#sign-form');
    await sign.locator('input[name="card"]').fill(CARD);
    await sign.locator('input[name="version"]').fill('2026-1');
    await sign.locator('button[type="submit"]').click();
    await page.waitForSelector('#consent-status');
    expect(await page.textContent('#camera-state')).toBe('signed');

    let unlocked = false;
    const off = service.app.doors[0]!.door.onRelayWrite((_at, u) => {
      if (u) unlocked = true;
    });
    await swipe();
    expect(lastEntry()).toEqual({ outcome: 'granted', reason: 'allow' });
    await waitFor(() => unlocked, 2000, 'the relay');
    off();

    await page.goto(`${base}/now`);
    await page.waitForSelector('#live tr:has-text("Granted")', { timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-now-granted.png'), fullPage: true });

    await page.goto(`${base}/consent`);
    const withdraw = page.locator('#withdraw-form');
    await withdraw.locator('input[name="card"]').fill(CARD);
    // Nothing is ticked on load: tick what the patron withdrew.
    await withdraw.locator('input[name="kind"][value="agreement"]').check();
    await withdraw.locator('input[name="kind"][value="camera"]').check();
    await withdraw.locator('input[name="reason"]').fill('patron withdrew at the desk');
    await withdraw.locator('button[type="submit"]').click();
    await page.waitForSelector('text=Withdrawal recorded');
    await swipe();
    expect(lastEntry()).toEqual({ outcome: 'denied', reason: 'consent_withdrawn' });
  });

  it('staff unlock the real door from Now with a reason, and lock it again; both audited', async () => {
    await page.goto(`${base}/now`);
    const unlock = page.locator('form[action="/doors/main/unlock"]');
    await unlock.locator('input[name="minutes"]').fill('5');
    await unlock.locator('input[name="reason"]').fill('delivery at the main door');
    await unlock.locator('button[type="submit"]').click();
    await waitFor(
      () => service.app.doors[0]!.door.state().heldReason === 'manual',
      5000,
      'the door held unlocked',
    );
    expect(service.app.doors[0]!.door.state().locked).toBe(false);
    expect(service.app.alarms.isActive('manual_unlock', 'main')).toBe(false);
    await page.goto(`${base}/now`);
    const lock = page.locator('form[action="/doors/main/lock"]');
    await lock.locator('input[name="reason"]').fill('delivery done, locking');
    await lock.locator('button[type="submit"]').click();
    await waitFor(() => service.app.doors[0]!.door.state().locked, 5000, 'the door locked again');
    const audit = service.app.db
      .prepare("SELECT action, reason FROM audit WHERE action LIKE 'door.%' ORDER BY id")
      .all();
    expect(audit).toEqual([
      { action: 'door.manual_unlock', reason: 'delivery at the main door' },
      { action: 'door.manual_lock', reason: 'delivery done, locking' },
    ]);
  });

  it('a police export opened in the dashboard is exported by the recorder agent, then closed', async () => {
    await page.goto(`${base}/exports`);
    const at = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    const from = Date.now() - 2 * 86_400_000 - 3_600_000;
    await page.fill('input[name="case"]', '2026-4711');
    await page.fill('input[name="authority"]', 'Oslo politidistrikt');
    await page.fill('input[name="from"]', at(from));
    await page.fill('input[name="to"]', at(from + 3 * 3_600_000));
    await page.fill('#open-export input[name="reason"]', 'break-in at the side door');
    await page.click('#open-export button[type="submit"]');
    await page.waitForURL(`${base}/exports?n=done`);
    const exported = await waitFor(
      () =>
        service.app.nvr!.listExports().find((c) => c.caseNumber === '2026-4711' && c.state === 'exported'),
      15_000,
      'the agent to export',
    );
    const manifest = readFileSync(join(exported.location!, 'manifest.json'));
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(manifest).digest('hex')).toBe(exported.sha256);
    expect(exported.files).toBe(3);
    await page.reload();
    expect(await page.locator('tr[data-export]').first().getAttribute('data-state')).toBe('exported');
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-export-exported.png'), fullPage: true });
    const row = page.locator('tr[data-export]').first();
    await row.locator('input[name="reason"]').fill('delivered to the police');
    await row.locator('button[value="close"]').click();
    await page.waitForURL(`${base}/exports?n=done`);
    expect(service.app.nvr!.listExports().find((c) => c.caseNumber === '2026-4711')?.state).toBe('closed');
    const actions = service.app.db
      .prepare("SELECT action FROM audit WHERE action LIKE 'nvr.export.%' ORDER BY id")
      .pluck()
      .all();
    expect(actions).toEqual([
      'nvr.export.open',
      'nvr.export.accepted',
      'nvr.export.done',
      'nvr.export.close',
    ]);
  });
});
