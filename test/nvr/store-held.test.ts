/**
 * The controller runs in the door process: while another process (the worker, an admin command) holds the
 * store's write lock, the recorder's answers, the controller's ticks and the admin's export orders wait in the
 * door process's queue of store writes, never on its event loop, and each is taken once when the lock is free.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { nvrTopics } from '../../src/contract/nvr.ts';
import type { NvrKey } from '../../src/contract/nvr-auth.ts';
import { NvrController } from '../../src/nvr/controller.ts';
import { queuedNvrAdmin } from '../../src/nvr/queued-admin.ts';
import { openDb } from '../../src/store/db.ts';
import { DeferredWrites } from '../../src/store/deferred-writes.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { longestStall } from '../helpers/stall.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  agentConfig,
  captureLog,
  DAY,
  filesRoot,
  frigatePath,
  listFiles,
  mqttClient,
  sealed,
  startAgent,
  TEST_KEY,
  testNvrConfig,
  writeSegment,
} from './helpers.ts';

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOLD_MS = 1200;

describe('the NVR controller while another process holds the store', () => {
  async function rig() {
    const tmp = tempDir('nvr-held-');
    cleanups.push(() => tmp.cleanup());
    const base = `nvrheld${process.pid}-${Date.now()}`;
    const config = testNvrConfig({ base_topic: base });
    const agentCfg = agentConfig(tmp.path, broker.url);
    agentCfg.mqtt.base_topic = base;
    const { log, lines } = captureLog();
    const dbPath = `${tmp.path}/dorvakt.sqlite`;
    const db = openDb(dbPath);
    const writes = new DeferredWrites(db, log);
    const alarms = new Alarms(db, new EventBus(), log, writes);
    const mqtt = await mqttClient(broker.url);
    const rejected: string[] = [];
    const controller = new NvrController({
      config,
      db,
      writes,
      mqtt,
      alarms,
      log,
      keys: [TEST_KEY],
      onRejected: (reason) => rejected.push(reason),
    });
    controller.start();
    const other = openDb(dbPath);
    cleanups.push(async () => {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await controller.stop();
      await mqtt.endAsync();
      db.close();
    });
    await waitFor(() => mqtt.connected, 2000, 'controller connected');
    const agent = await startAgent(agentCfg, log);
    cleanups.push(() => agent.stop());
    await waitFor(() => lines.some((l) => l.msg === 'connected to broker'), 5000, 'agent connected');
    await new Promise((r) => setTimeout(r, 50));
    const hold = () => other.exec('BEGIN IMMEDIATE');
    const release = () => other.exec('COMMIT');
    return { db, writes, alarms, controller, agentCfg, lines, hold, release, rejected, base, mqtt };
  }

  it('a purge answer waits for the lock off the event loop and is verified once', async () => {
    const r = await rig();
    const root = filesRoot(r.agentCfg);
    const keep = frigatePath('door', Date.now() - 2 * DAY);
    writeSegment(root, keep);
    writeSegment(root, frigatePath('door', Date.now() - 8 * DAY));
    let id = '';
    const stall = await longestStall(async () => {
      id = r.controller.purgeNow();
      // Taken before the answer can come back over the broker.
      r.hold();
      await waitFor(() => r.writes.waiting.includes('nvr purge answer'), 5000, 'the answer queued');
      await new Promise((done) => setTimeout(done, HOLD_MS));
      r.release();
    });
    await waitFor(() => r.writes.pending === 0, 5000, 'the queue written');
    expect(listFiles(root)).toEqual([keep]);
    const answered = r.db.prepare('SELECT answered_at FROM nvr_outbox WHERE id = ?').pluck().get(id);
    expect(answered).not.toBeNull();
    const health = r.controller.health();
    expect(health.lastPurgeDeleted).toBe(1);
    expect(health.breach).toBe(false);
    // Run again whole, it was not taken for a duplicate of itself.
    expect(r.lines.filter((l) => l.msg === 'nvr: purge response ignored')).toEqual([]);
    expect(r.alarms.list()).toEqual([]);
    expect(stall).toBeLessThan(HOLD_MS / 3);
  }, 20_000);

  it('forged messages while the store is held are counted at once and keep one write waiting, however many', async () => {
    const r = await rig();
    const attacker = await mqttClient(broker.url);
    cleanups.push(() => attacker.endAsync());
    const topic = nvrTopics(r.base).purgeResponse;
    const guess: NvrKey = { id: TEST_KEY.id, secret: 'an-attacker-guess-of-the-key-0123456789' };
    const forged = (i: number) =>
      sealed(
        topic,
        { v: 1, id: `forged-${i}`, ok: true, deleted: 0, oldest: null, ts: new Date().toISOString() },
        guess,
      );
    r.hold();
    try {
      // A tick waits first, so it runs before the forgery's write when the lock is free.
      await waitFor(() => r.writes.waiting.includes('nvr tick'), 5000, 'a tick waiting');
      for (let i = 0; i < 50; i++) await attacker.publishAsync(topic, forged(i), { qos: 1 });
      await waitFor(() => r.rejected.length === 50, 5000, 'every forgery counted while the store is held');
      expect(r.writes.waiting.filter((what) => what === 'nvr forgery')).toEqual(['nvr forgery']);
      expect(r.writes.pending).toBeLessThanOrEqual(3);
    } finally {
      r.release();
    }
    await waitFor(() => r.writes.pending === 0, 5000, 'the queue written');
    // The tick before it did not find the alarm without its time and clear it as quiet.
    expect(r.alarms.isActive('nvr_forgery')).toBe(true);
    expect(r.db.prepare("SELECT value FROM nvr_state WHERE key = 'forgery'").pluck().get()).toMatch(
      /bad_mac/,
    );
    // A tick after it does not take the alarm for an old one.
    r.controller.tick();
    expect(r.alarms.isActive('nvr_forgery')).toBe(true);
  });

  it("an admin's export order waits for the lock in the queue and opens exactly one case", async () => {
    const r = await rig();
    const admin = queuedNvrAdmin(r.controller, r.db, r.writes);
    const t = Date.now() - 3 * DAY;
    let opened: Promise<unknown> = Promise.resolve();
    const stall = await longestStall(async () => {
      r.hold();
      opened = Promise.resolve(
        admin.openExport({
          caseNumber: '2026/77',
          authority: 'Oslo politidistrikt',
          from: new Date(t).toISOString(),
          to: new Date(t + 60_000).toISOString(),
          cameras: ['door'],
          reason: 'reported theft',
          actor: 'admin:kari',
        }),
      );
      await new Promise((done) => setTimeout(done, HOLD_MS));
      expect(r.writes.waiting).toContain('nvr export opened');
      r.release();
    });
    await expect(opened).resolves.toMatchObject({ caseNumber: '2026/77' });
    expect(r.db.prepare('SELECT COUNT(*) FROM nvr_exports').pluck().get()).toBe(1);
    expect(r.db.prepare("SELECT COUNT(*) FROM audit WHERE action = 'nvr.export.open'").pluck().get()).toBe(1);
    expect(stall).toBeLessThan(HOLD_MS / 3);
  }, 20_000);
});
