/**
 * What the centre sends down to branches survives a centre restart while its broker is away (real Mosquitto,
 * real SQLite file), and receipts are pruned only where no branch can send them again (injected clock).
 */
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type FigureRow, parseAck, parseAlarmAck } from '../../src/contract/fleet.ts';
import { parseFleetConfig } from '../../src/fleet/central-config.ts';
import {
  openFleetDb,
  PRUNE_BATCH,
  RECEIPT_GRACE_MS,
  storeFigures,
  storeOpeningHours,
} from '../../src/fleet/central-store.ts';
import { FleetCentre } from '../../src/fleet/centre.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Db } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = Buffer.from('centre-outbox-key-0123456789abcdef');
const log = createLogger('silent');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const row = (count: number): FigureRow => ({
  door: 'front',
  mode: 'staffless',
  outcome: 'granted',
  reason: 'allow',
  category: '',
  age_band: '',
  count,
});

function configFor(dir: string, url: string) {
  return parseFleetConfig(
    `store: { path: ${join(dir, 'fleet.sqlite')} }\nmqtt: { url: "${url}", client_id: centre-test }\nsites: [{ id: north }]\n`,
    'fleet.yaml',
  );
}

describe('centre outbox', () => {
  it('keeps acknowledgements made while the broker is down across a centre restart, and sends them', async () => {
    const dir = tempDir('fleet-centre-outbox-');
    cleanups.push(() => dir.cleanup());
    const broker: Broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const config = configFor(dir.path, broker.url);
    const keys = new Map([['north', KEY]]);
    const db1: Db = openFleetDb(config.store.path);
    const centre1 = new FleetCentre({ config, db: db1, log, keys, mqttOptions: { reconnectPeriod: 100 } });
    centre1.start();
    await waitFor(() => centre1.connected, 5000, 'centre connected');
    centre1.handle(
      'dorvakt/north/event',
      Buffer.from(
        JSON.stringify({
          v: 2,
          type: 'alarm',
          alarm: 'door_forced',
          state: 'raised',
          scope: 'front',
          ts: 'x',
        }),
      ),
      false,
    );
    const alarmId = db1.prepare('SELECT id FROM centre_alarms').pluck().get() as number;

    await broker.kill();
    await waitFor(() => !centre1.connected, 5000, 'centre sees the broker gone');
    expect(centre1.acknowledgeAlarm(alarmId, 'kari')).toBe(true);
    centre1.handle(
      'dorvakt/north/fleet/figures',
      Buffer.from(
        JSON.stringify({ v: 1, id: 'abc-7', day: '2026-11-30', hour: 9, made_at: 1, rows: [row(4)] }),
      ),
      false,
    );
    expect(centre1.unsent()).toBe(2);
    // The centre restarts while the broker is still down: nothing of the above is in its memory any more.
    await centre1.stop();
    db1.close();

    const db2 = openFleetDb(config.store.path);
    cleanups.push(() => {
      db2.close();
    });
    const centre2 = new FleetCentre({ config, db: db2, log, keys, mqttOptions: { reconnectPeriod: 100 } });
    expect(centre2.unsent()).toBe(2);
    await broker.start();
    const branch: MqttClient = await connectAsync(broker.url);
    cleanups.push(() => branch.endAsync());
    const received: { topic: string; payload: Buffer }[] = [];
    branch.on('message', (topic, payload) => received.push({ topic, payload }));
    await branch.subscribeAsync('dorvakt/fleet/site/north/#', { qos: 1 });
    centre2.start();
    cleanups.push(() => centre2.stop());
    await waitFor(() => received.length >= 2, 10_000, 'both messages at the branch');
    const alarmAck = received.find((m) => m.topic === 'dorvakt/fleet/site/north/alarm-ack')!;
    const parsed = parseAlarmAck('north', KEY, alarmAck.payload);
    expect(parsed.ok && parsed.value).toMatchObject({ alarm: 'door_forced', scope: 'front', by: 'kari' });
    const figuresAck = received.find((m) => m.topic === 'dorvakt/fleet/site/north/ack')!;
    expect(parseAck(figuresAck.payload)).toEqual({ ok: true, value: { v: 1, id: 'abc-7' } });
    // Deleted once the broker accepted them.
    await waitFor(() => centre2.unsent() === 0, 5000, 'outbox emptied');
  });

  it('deletes a stored message only when the broker has accepted it, not when it was handed over', async () => {
    const dir = tempDir('fleet-centre-puback-');
    cleanups.push(() => dir.cleanup());
    const broker: Broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const config = configFor(dir.path, broker.url);
    const db = openFleetDb(config.store.path);
    cleanups.push(() => {
      db.close();
    });
    const centre = new FleetCentre({
      config,
      db,
      log,
      keys: new Map(),
      mqttOptions: { reconnectPeriod: 100 },
    });
    centre.start();
    await waitFor(() => centre.connected, 5000, 'centre connected');
    const branch: MqttClient = await connectAsync(broker.url);
    cleanups.push(() => branch.endAsync());
    const received: string[] = [];
    branch.on('message', (_topic, payload) => received.push(payload.toString()));
    await branch.subscribeAsync('dorvakt/fleet/site/north/ack', { qos: 1 });
    // A hung broker: the connection stays open, the message goes into the socket, no PUBACK comes back.
    broker.pause();
    cleanups.push(() => broker.resume());
    centre.handle(
      'dorvakt/north/fleet/figures',
      Buffer.from(
        JSON.stringify({ v: 1, id: 'abc-8', day: '2026-11-30', hour: 9, made_at: 1, rows: [row(1)] }),
      ),
      false,
    );
    expect(centre.connected).toBe(true);
    expect(centre.unsent()).toBe(1);
    broker.resume();
    await waitFor(() => centre.unsent() === 0, 10_000, 'accepted by the broker');
    await waitFor(() => received.length === 1, 5000, 'the ack at the branch');
    cleanups.push(() => centre.stop());
  });

  it('prunes a receipt only once it is past the grace and no longer the revision in force', async () => {
    const dir = tempDir('fleet-centre-prune-');
    cleanups.push(() => dir.cleanup());
    const config = configFor(dir.path, 'mqtt://127.0.0.1:1');
    const db = openFleetDb(config.store.path);
    cleanups.push(() => {
      db.close();
    });
    const t0 = Date.parse('2026-11-30T12:00:00Z');
    let now = t0;
    const centre = new FleetCentre({ config, db, log, keys: new Map(), nowMs: () => now });
    const hour = (id: string, madeAt: number, count: number) =>
      storeFigures(
        db,
        'north',
        { v: 1, id, day: '2026-11-30', hour: 9, made_at: madeAt, rows: [row(count)], passages: [] },
        now,
      );
    const week = (id: string, madeAt: number, staffless: number) =>
      storeOpeningHours(
        db,
        'north',
        { v: 1, id, week: '2026-W49', made_at: madeAt, days: [{ day: '2026-11-30', staffed: 0, staffless }] },
        now,
      );
    expect(hour('abc-1', 1, 4)).toBe('stored');
    expect(hour('abc-2', 2, 5)).toBe('stored');
    expect(week('abc-3', 1, 10)).toBe('stored');
    expect(week('abc-4', 2, 12)).toBe('stored');
    const receipts = () => db.prepare('SELECT id FROM centre_receipts ORDER BY id').pluck().all();

    now = t0 + RECEIPT_GRACE_MS;
    expect(await centre.prune()).toBe(0);
    expect(receipts()).toEqual(['abc-1', 'abc-2', 'abc-3', 'abc-4']);
    now = t0 + RECEIPT_GRACE_MS + 1;
    expect(await centre.prune()).toBe(2);
    // The revisions in force keep theirs: the branch resends them until an acknowledgement reaches it.
    expect(receipts()).toEqual(['abc-2', 'abc-4']);
    expect(hour('abc-2', 2, 5)).toBe('duplicate');
    // A late copy of a pruned revision finds a newer one in force and changes nothing.
    expect(hour('abc-1', 1, 4)).toBe('older');
    expect(week('abc-3', 1, 10)).toBe('older');
    expect(db.prepare('SELECT SUM(count) FROM centre_figures').pluck().get()).toBe(5);
    expect(db.prepare('SELECT SUM(staffless) FROM centre_opening').pluck().get()).toBe(12);

    // More than one batch goes in several statements, all of it.
    const insert = db.prepare("INSERT INTO centre_receipts (site, id, received_at) VALUES ('north', ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < PRUNE_BATCH + 10; i++) insert.run(`old-${i}`, t0);
    })();
    // (The late copies above have fresh receipts of their own, within the grace.)
    expect(await centre.prune()).toBe(PRUNE_BATCH + 10);
    expect(receipts()).toEqual(['abc-1', 'abc-2', 'abc-3', 'abc-4']);
  });
});
