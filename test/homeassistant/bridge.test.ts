/**
 * Home Assistant over a real Mosquitto with the running controller: discovery published per door, sent again
 * when Home Assistant says `online`, removed (empty retained) for a door taken out of the config; lock
 * commands refused when disabled and outside staffed hours, carried out and audited when allowed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig, resolveConfigPaths } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { openDb } from '../../src/store/db.ts';
import { localDate } from '../../src/time/zone.ts';
import { IdleReader } from '../fleet-rules/helpers.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { longestStall } from '../helpers/stall.ts';
import { tempDir } from '../helpers/tmp.ts';
import { invalidComponents } from './ha-schemas.ts';

const BASE = 'dorvakt/habranch';
const topicOf = (door: string) => `homeassistant/device/dorvakt_habranch_${door}/config`;
const FRONT = `
  - id: front
    name: Main entrance
    schedule: { staffed: "Mo-Su 00:00-24:00", staffless: "", holidays_closed: false }
    reader: { path: /dev/null }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }`;
const BACK = `
  - id: back
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: /dev/null }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }`;

describe('Home Assistant discovery and lock commands over Mosquitto', () => {
  const dir = tempDir('ha-e2e-');
  let broker: Broker;
  let app: App | undefined;
  let ha: MqttClient;
  const seen: { topic: string; payload: string; retain: boolean }[] = [];
  const start = async (doors: string, lockCommands: boolean) => {
    const config = parseConfig(`
site: { id: habranch, name: Branch, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: key } }
doors:${doors}
store: { path: store.sqlite }
mqtt: { url: "${broker.url}" }
homeassistant: { enabled: true, lock_commands: ${lockCommands} }
occupancy: { enabled: true, doors: [{ door: front, mqtt: {} }] }
log: { level: silent }
`);
    resolveConfigPaths(config, dir.path);
    const started = await startApp({
      config,
      log: createLogger('silent'),
      readerFor: () => new IdleReader(),
    });
    await waitFor(() => started.homeassistant !== undefined && started.mqtt.connected, 10_000, 'the bridge');
    // Commands published before the broker has the bridge's subscription would be lost.
    expect(await started.homeassistant!.subscribed).toBe(true);
    return started;
  };
  const configs = (door: string) => seen.filter((m) => m.topic === topicOf(door));
  const commandOutcome = async (door: string, outcome: string) =>
    (await app!.metrics.homeassistantCommands.get()).values.find(
      (v) => v.labels.door === door && v.labels.outcome === outcome,
    )?.value ?? 0;
  const audits = (action: string) =>
    app!.db.prepare('SELECT actor, subject, reason FROM audit WHERE action = ? ORDER BY id').all(action);

  beforeAll(async () => {
    broker = await startMosquitto();
    writeFileSync(join(dir.path, 'key'), 'ha-site-card-key-0123456789');
    ha = await connectAsync(broker.url);
    ha.on('message', (topic, payload, packet) =>
      seen.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await ha.subscribeAsync(
      ['homeassistant/device/+/config', `${BASE}/door/+/today`, `${BASE}/door/+/occupancy`],
      { qos: 1 },
    );
    app = await start(FRONT + BACK, false);
  }, 120_000);

  afterAll(async () => {
    await ha?.endAsync();
    await app?.stop();
    await broker?.stop();
    dir.cleanup();
  });

  it('publishes a valid discovery per door, retained, reading Dørvakt’s own topics', async () => {
    await waitFor(() => configs('front').length > 0 && configs('back').length > 0, 10_000, 'discovery');
    for (const door of ['front', 'back']) {
      const payload = JSON.parse(configs(door)[0]!.payload) as Record<string, unknown>;
      expect(invalidComponents(payload)).toEqual([]);
      expect((payload.device as { identifiers: string[] }).identifiers).toEqual([`dorvakt_habranch_${door}`]);
    }
    const stored = app!.db.prepare('SELECT door FROM ha_discovery ORDER BY door').pluck().all();
    expect(stored).toEqual(['back', 'front']);
  });

  it('sends the discovery again when Home Assistant comes online', async () => {
    const before = configs('front').length;
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor(
      () => configs('front').length > before && configs('back').length > before,
      10_000,
      'rediscovery',
    );
    // `offline` (Home Assistant's last will) asks for nothing. The bridge handles messages in order, so once
    // the commands sent after it are counted, `offline` has been handled.
    const after = configs('front').length;
    await ha.publishAsync('homeassistant/status', 'offline', { qos: 1 });
    await ha.publishAsync(`${BASE}/door/front/lock/set`, 'LOCK', { qos: 1 });
    await waitFor(
      async () => (await commandOutcome('front', 'disabled')) === 1,
      10_000,
      'the command after it',
    );
    await ha.publishAsync(`${BASE}/door/back/lock/set`, 'LOCK', { qos: 1 });
    await waitFor(async () => (await commandOutcome('back', 'disabled')) === 1, 10_000, 'a round trip more');
    expect(configs('front').length).toBe(after);
  });

  it('gives the counted door an "inside now" sensor, fed from the people counter', async () => {
    await waitFor(() => configs('front').length > 0 && configs('back').length > 0, 10_000, 'discovery');
    const components = (door: string) =>
      Object.keys((JSON.parse(configs(door).at(-1)!.payload) as { components: object }).components);
    expect(components('front')).toContain('occupancy');
    expect(components('back')).not.toContain('occupancy');
    await waitFor(() => app!.occupancy?.counters !== undefined, 10_000, 'the occupancy part');
    // A count published before the broker has the counter's subscription would be lost.
    expect(await app!.occupancy!.counters!.subscribed).toBe(true);
    const insides = () => seen.filter((m) => m.topic === `${BASE}/door/front/occupancy`);
    await ha.publishAsync(`${BASE}/counter/front`, JSON.stringify({ in: 2, out: 0 }), { qos: 1 });
    await waitFor(() => insides().some((m) => JSON.parse(m.payload).inside === 2), 10_000, 'inside now');
    expect(seen.filter((m) => m.topic === `${BASE}/door/back/occupancy`)).toEqual([]);
  });

  it('keeps today’s staffless visits current for the sensor', async () => {
    const patrons = new LocalPatronSource(app!.db, app!.hashCard, () => localDate(new Date(), 'Europe/Oslo'));
    patrons.put('55554444', { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      app!.consents.sign(app!.hashCard('55554444'), kind, '1', Date.now(), 'test');
    const back = app!.doors.find((d) => d.id === 'back')!;
    const todays = () => seen.filter((m) => m.topic === `${BASE}/door/back/today`);
    // A refused swipe is published too, and counts nothing; then a granted one counts one.
    let before = todays().length;
    expect((await app!.gate.handle(back, { card: '99990000' })).decision.allow).toBe(false);
    await waitFor(() => todays().length > before, 10_000, 'the figures after the refusal');
    expect(JSON.parse(todays().at(-1)!.payload).staffless_visits).toBe(0);
    before = todays().length;
    expect((await app!.gate.handle(back, { card: '55554444' })).decision.allow).toBe(true);
    await waitFor(() => todays().length > before, 10_000, 'the figures after the visit');
    expect(JSON.parse(todays().at(-1)!.payload)).toMatchObject({
      staffless_visits: 1,
      date: localDate(new Date(), 'Europe/Oslo'),
    });
  });

  it('refuses a lock command when lock_commands is off, and audits the refusal', async () => {
    await ha.publishAsync(`${BASE}/door/front/lock/set`, 'UNLOCK', { qos: 1 });
    // Front's refusal in the test before was counted and audited; this one is counted, not audited again
    // within the minute.
    await waitFor(async () => (await commandOutcome('front', 'disabled')) === 2, 10_000, 'the refusal');
    const front = app!.doors.find((d) => d.id === 'front')!;
    expect(front.manualUnlockUntil).toBeNull();
    expect(front.door.state().locked).toBe(true);
    expect(audits('homeassistant.command_refused')).toEqual([
      { actor: 'homeassistant', subject: 'front', reason: 'disabled' },
      { actor: 'homeassistant', subject: 'back', reason: 'disabled' },
    ]);
    expect(audits('door.manual_unlock')).toEqual([]);
  });

  it('with lock_commands on: refused outside staffed hours, carried out and audited in staffed hours', async () => {
    await app!.stop();
    app = await start(FRONT + BACK, true);
    await ha.publishAsync(`${BASE}/door/back/lock/set`, 'UNLOCK', { qos: 1 });
    await waitFor(
      async () => (await commandOutcome('back', 'outside_staffed_hours')) === 1,
      10_000,
      'back refused',
    );
    expect(app.doors.find((d) => d.id === 'back')!.door.state().locked).toBe(true);

    await ha.publishAsync(`${BASE}/door/front/lock/set`, 'UNLOCK', { qos: 1 });
    await waitFor(async () => (await commandOutcome('front', 'done')) === 1, 10_000, 'front unlocked');
    const front = app.doors.find((d) => d.id === 'front')!;
    expect(front.manualUnlockUntil).not.toBeNull();
    expect(front.door.state().locked).toBe(false);
    expect(audits('door.manual_unlock')).toEqual([
      { actor: 'homeassistant', subject: 'front', reason: 'Home Assistant' },
    ]);

    await ha.publishAsync(`${BASE}/door/front/lock/set`, 'LOCK', { qos: 1 });
    await waitFor(async () => (await commandOutcome('front', 'done')) === 2, 10_000, 'front locked again');
    expect(front.manualUnlockUntil).toBeNull();
    expect(audits('door.manual_lock')).toEqual([
      { actor: 'homeassistant', subject: 'front', reason: 'Home Assistant' },
    ]);
  });

  it('while another process holds the store: the door acts on a command at once; its audit row, and the discovery (recorded before it is sent), follow when the lock is free', async () => {
    const front = app!.doors.find((d) => d.id === 'front')!;
    const other = openDb(app!.config.store.path);
    const unlocks = () => audits('door.manual_unlock').length;
    const unlocksBefore = unlocks();
    let actedAt = 0;
    const before = configs('front').length;
    const stall = await longestStall(async () => {
      other.exec('BEGIN IMMEDIATE');
      try {
        await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
        await waitFor(
          () => app!.storeWrites.waiting.includes('homeassistant discovery front'),
          10_000,
          'discovery waiting for its record',
        );
        await ha.publishAsync(`${BASE}/door/front/lock/set`, 'UNLOCK', { qos: 1 });
        await waitFor(async () => (await commandOutcome('front', 'done')) === 3, 10_000, 'front unlocked');
        actedAt = Date.now();
        expect(front.door.state().locked).toBe(false);
        expect(app!.storeWrites.waiting).toEqual(
          expect.arrayContaining(['homeassistant discovery front', 'door.manual_unlock']),
        );
        expect(unlocks()).toBe(unlocksBefore);
        // The people counter's hourly counts wait the same way.
        const inside = app!.occupancy!.occupancy.insideNow() ?? 0;
        await ha.publishAsync(`${BASE}/counter/front`, JSON.stringify({ in: 1, out: 0 }), { qos: 1 });
        await waitFor(() => app!.occupancy!.occupancy.insideNow() === inside + 1, 10_000, 'counted');
        app!.occupancy!.occupancy.flush();
        expect(app!.storeWrites.waiting).toContain('passages');
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        other.exec('COMMIT');
        other.close();
      }
    });
    await waitFor(() => app!.storeWrites.pending === 0, 10_000, 'the queue written');
    await waitFor(() => configs('front').length > before, 10_000, 'discovery sent again');
    expect(unlocks()).toBe(unlocksBefore + 1);
    // The row keeps the time of the act, not of its writing.
    const ts = app!.db
      .prepare("SELECT ts FROM audit WHERE action = 'door.manual_unlock' ORDER BY id DESC LIMIT 1")
      .pluck()
      .get() as number;
    expect(ts).toBeLessThanOrEqual(actedAt);
    expect(stall).toBeLessThan(250);
    await ha.publishAsync(`${BASE}/door/front/lock/set`, 'LOCK', { qos: 1 });
    await waitFor(async () => (await commandOutcome('front', 'done')) === 4, 10_000, 'front locked again');
  });

  it('removes the discovery of a door taken out of the config (empty retained payload)', async () => {
    await app!.stop();
    app = await start(FRONT, false);
    await waitFor(() => configs('back').some((m) => m.payload === ''), 10_000, 'the empty payload for back');
    await waitFor(
      () => (app!.db.prepare('SELECT door FROM ha_discovery').pluck().all() as string[]).join() === 'front',
      10_000,
      'the record of back removed',
    );
    // A new subscriber (Home Assistant after a restart) gets no retained config for the removed door.
    const fresh = await connectAsync(broker.url);
    const retained: string[] = [];
    let probed = false;
    fresh.on('message', (topic, payload) => {
      if (topic === 'probe/ha-e2e') probed = true;
      else if (payload.length > 0) retained.push(topic);
    });
    // Mosquitto answers subscriptions in order: once the probe's retained copy is here, every retained
    // discovery config has been delivered before it.
    await fresh.publishAsync('probe/ha-e2e', 'x', { qos: 1, retain: true });
    await fresh.subscribeAsync('homeassistant/device/+/config', { qos: 1 });
    await fresh.subscribeAsync('probe/ha-e2e', { qos: 1 });
    await waitFor(() => probed, 10_000, 'the probe after the retained configs');
    expect(retained).toContain(topicOf('front'));
    expect(retained).not.toContain(topicOf('back'));
    await fresh.endAsync();
  });
});
