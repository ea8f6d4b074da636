/**
 * The door process while another process (the worker, an admin command) holds the store's write lock: the
 * camera controller's periodic work and an admin's export order wait in the door process's queue of store
 * writes; the event loop that decides swipes never waits, and the swipe is decided and journalled meanwhile.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { longestStall } from '../helpers/stall.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = '13572468';

describe('the door process while another process holds the store', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let app: App;
  let other: Db | undefined;

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir('store-held-');
    writeFileSync(join(dir.path, 'key'), 'store-held-site-key-0123456789');
    writeFileSync(join(dir.path, 'nvr.key'), 'a-good-nvr-key-0123456789abcdefghijklmnop', { mode: 0o600 });
    const config = parseConfig(`
site: { id: held, timezone: UTC, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
nvr:
  enabled: true
  answer_timeout_ms: 100
  backoff: { factor: 1.5, max_ms: 200 }
  auth: { keys: [{ id: k1, secret: { file: ${join(dir.path, 'nvr.key')} } }] }
log: { level: silent }
`);
    app = await startApp({ config, log: createLogger('silent') });
    const registry = new LocalPatronSource(app.db, app.hashCard, () => '2026-12-01');
    registry.put(CARD, { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard(CARD), kind, '1', Date.now(), 't');
    await waitFor(
      () => app.nvr !== undefined && app.doors[0]!.reader.online,
      10_000,
      'the controller and reader',
    );
  });

  afterAll(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    await app?.stop();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('queues the controller’s ticks and an export order, decides a swipe meanwhile, and writes all once the lock is free', async () => {
    const t = Date.now() - 2 * 86_400_000;
    const grants: string[] = [];
    const unsubscribe = app.bus.subscribe((event) => {
      if (event.type === 'entry' && event.outcome === 'granted') grants.push(event.door);
    });
    let order: Promise<unknown> = Promise.resolve();
    other = openDb(app.config.store.path);
    const stall = await longestStall(async () => {
      other!.exec('BEGIN IMMEDIATE');
      try {
        order = Promise.resolve(
          app.nvrAdmin!.openExport({
            caseNumber: 'HELD-1',
            authority: 'Oslo politidistrikt',
            from: new Date(t).toISOString(),
            to: new Date(t + 60_000).toISOString(),
            cameras: ['door'],
            reason: 'reported theft',
            actor: 'admin:kari',
          }),
        );
        await waitFor(() => app.storeWrites.waiting.includes('nvr tick'), 5000, 'a tick waiting');
        expect(app.storeWrites.waiting).toContain('nvr export opened');
        pty.write(`${CARD}\r\n`);
        await waitFor(() => grants.length === 1, 5000, 'the swipe granted while the store is held');
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        other!.exec('COMMIT');
      }
    });
    unsubscribe();
    await expect(order).resolves.toMatchObject({ caseNumber: 'HELD-1', state: 'held' });
    await waitFor(() => app.storeWrites.pending === 0, 5000, 'the queue written');
    expect(app.db.prepare('SELECT COUNT(*) FROM nvr_exports').pluck().get()).toBe(1);
    expect(stall).toBeLessThan(250);
  });
});
