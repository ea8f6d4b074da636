/**
 * The whole service: an admin's export order from the dashboard (the worker process) while another process
 * holds the store's write lock. The order crosses to the door process and waits in its queue of store writes;
 * the door's event loop never waits for the lock, so a swipe is decided meanwhile; the case opens once it is free.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpLogin } from '../helpers/http-login.ts';
import type { SwipeResult } from '../../src/access/gate.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Service, startService } from '../../src/service.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { addUser } from '../../src/web/users.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { longestStall } from '../helpers/stall.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = '11223344';

describe('an export order from the dashboard while another process holds the store', () => {
  const dir = tempDir('export-held-');
  let broker: Broker | undefined;
  let pty: PtyPair | undefined;
  let service: Service | undefined;
  let other: Db | undefined;

  afterAll(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    await service?.stop();
    await pty?.close();
    await broker?.stop();
    dir.cleanup();
  });

  it('waits in the door process’s queue, not on its event loop: a swipe is granted meanwhile, the case opens after', async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    writeFileSync(join(dir.path, 'key'), 'export-held-site-key-0123456789');
    writeFileSync(join(dir.path, 'nvr.key'), 'a-good-nvr-key-0123456789abcdefghijklmnop', { mode: 0o600 });
    const config = parseConfig(`
site: { id: exportheld, timezone: UTC, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
nvr: { enabled: true, auth: { keys: [{ id: k1, secret: { file: ${join(dir.path, 'nvr.key')} } }] } }
ops: { host: 127.0.0.1, port: ${await freePort()} }
web: { host: 127.0.0.1, port: ${await freePort()} }
log: { level: silent }
`);
    const swipes: SwipeResult[] = [];
    service = await startService({
      config,
      log: createLogger('silent'),
      onSwipe: (_door, result) => swipes.push(result),
    });
    const { app } = service;
    new LocalPatronSource(app.db, app.hashCard, () => '2026-12-02').put(CARD, {
      category: 'V',
      birthYear: 1980,
    });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard(CARD), kind, '1', Date.now(), 't');
    await addUser(app.db, { name: 'kari', role: 'admin', password: 'correct horse battery', language: 'en' });
    const base = await waitFor(() => service!.webUrl, 30_000, 'the dashboard');
    await waitFor(
      () => app.nvr !== undefined && app.doors[0]!.reader.online,
      10_000,
      'the controller and reader',
    );

    const cookie = await httpLogin(base, 'kari', 'correct horse battery');
    const page = await (await fetch(`${base}/exports`, { headers: { cookie } })).text();
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
    const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);

    other = openDb(app.config.store.path);
    let answer: Promise<Response> | undefined;
    const stall = await longestStall(async () => {
      other!.exec('BEGIN IMMEDIATE');
      try {
        answer = fetch(`${base}/exports`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
          body: new URLSearchParams({
            _csrf: csrf,
            case: 'HELD-WEB-1',
            authority: 'Oslo politidistrikt',
            from: `${day}T10:00`,
            to: `${day}T10:30`,
            camera: 'door',
            reason: 'reported theft',
          }),
        });
        await waitFor(
          () => app.storeWrites.waiting.includes('nvr export opened'),
          10_000,
          'the order in the queue',
        );
        pty!.write(`${CARD}\r\n`);
        await waitFor(() => swipes.length === 1, 5000, 'the swipe while the store is held');
        expect(swipes[0]!.decision).toEqual({ allow: true, reason: 'allow' });
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        other!.exec('COMMIT');
      }
    });
    const res = await answer!;
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/exports?n=done');
    expect(
      app.db.prepare("SELECT COUNT(*) FROM nvr_exports WHERE case_number = 'HELD-WEB-1'").pluck().get(),
    ).toBe(1);
    // The controller's store work would otherwise wait for the lock on the door's loop: 5 s (its busy timeout).
    expect(stall).toBeLessThan(400);
  }, 90_000);
});
