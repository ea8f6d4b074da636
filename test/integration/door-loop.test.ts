import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { parseEvent } from '../../src/contract/mqtt-check.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = 'integration-site-key-0123456789';

describe('door loop end to end: pty reader → decision → SQLite → sim door → MQTT', () => {
  let broker: Broker;
  let pty: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let app: App;
  let observer: MqttClient;
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  const events: DorvaktEvent[] = [];

  beforeAll(async () => {
    [broker, pty] = await Promise.all([startMosquitto(), createPtyPair()]);
    dir = tempDir();
    writeFileSync(join(dir.path, 'key'), KEY);
    const config = parseConfig(`
site: { id: itest, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${pty.devicePath}, profile: line, reconnect_min_ms: 50, reconnect_max_ms: 200 }
    hardware: { driver: sim, pulse_ms: 300, held_open_seconds: 5, sim: { open_after_ms: 50, close_after_ms: 100, patron_on_grant: true } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
`);
    observer = connect(broker.url);
    observer.on('message', (topic, payload, packet) =>
      messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await observer.subscribeAsync('dorvakt/itest/#');

    app = await startApp({ config, log: createLogger('silent') });
    app.bus.subscribe((e) => events.push(e));
    const registry = new LocalPatronSource(app.db, app.hashCard, () => '2026-11-26');
    registry.put('12345678', { category: 'V', birthYear: 1980 });
    registry.put('87654321', { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard('12345678'), kind, '1', Date.now(), 'test');
    await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader online');
  });

  afterAll(async () => {
    await observer?.endAsync();
    await app?.stop();
    await pty?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('publishes online status (retained) and the door state', async () => {
    await waitFor(
      () => messages.find((m) => m.topic === 'dorvakt/itest/status' && m.payload === 'online'),
      5000,
      'status online',
    );
  });

  it('a valid card swiped on the pty opens the door after the entry is committed', async () => {
    const relayWrites: boolean[] = [];
    app.doors[0]!.door.onRelayWrite((_at, unlocked) => relayWrites.push(unlocked));
    pty.write('12345678\r\n');
    const entry = await waitFor(() => events.find((e) => e.type === 'entry'), 5000, 'entry event');
    expect(entry).toMatchObject({ outcome: 'granted', reason: 'allow', door: 'front' });
    await waitFor(() => relayWrites.includes(true), 2000, 'relay unlocked');
    await waitFor(() => relayWrites.at(-1) === false, 3000, 'relay locked again');
    const row = app.db.prepare('SELECT outcome, reason, card_hash FROM entries').get() as Record<
      string,
      string
    >;
    expect(row).toEqual({ outcome: 'granted', reason: 'allow', card_hash: app.hashCard('12345678') });
    // store.entry_sync's default: the commit does not wait for the disk; it is synced after the relay.
    expect(app.db.pragma('synchronous', { simple: true })).toBe(1);
    // Nor does it ever checkpoint the WAL (the worker's job; test/store/shared-store.test.ts shows why).
    expect(app.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const syncs = async () =>
      (await app.metrics.entrySyncSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'))
        ?.value ?? 0;
    await waitFor(async () => (await syncs()) >= 1, 2000, 'the entry synced after the relay');
    const mqttEntry = await waitFor(
      () => messages.find((m) => m.topic === 'dorvakt/itest/event' && m.payload.includes('"entry"')),
      5000,
      'mqtt entry',
    );
    expect(JSON.parse(mqttEntry.payload)).toMatchObject({
      v: 2,
      type: 'entry',
      door: 'front',
      outcome: 'granted',
      reason: 'allow',
    });
    const state = await waitFor(
      () => messages.find((m) => m.topic === 'dorvakt/itest/door/front/state'),
      5000,
      'door state',
    );
    expect(Object.keys(JSON.parse(state.payload)).sort()).toEqual([
      'alarm',
      'fire',
      'held',
      'locked',
      'mode',
      'open',
      'ts',
    ]);
  });

  it('refuses a patron without consent and never pulses', async () => {
    const before = events.filter((e) => e.type === 'entry').length;
    let unlocked = 0;
    const off = app.doors[0]!.door.onRelayWrite((_at, u) => {
      if (u) unlocked++;
    });
    pty.write('87654321\n');
    await waitFor(() => events.filter((e) => e.type === 'entry').length > before, 5000, 'second entry');
    expect(events.filter((e) => e.type === 'entry').at(-1)).toMatchObject({
      outcome: 'denied',
      reason: 'no_agreement',
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(unlocked).toBe(0);
    off();
  });

  it('drops garbled frames without a grant or an entry', async () => {
    const entriesBefore = app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get();
    pty.write('12\x0034\x015678\r\n');
    pty.write(Buffer.from([0xff, 0xfe, 0x0d, 0x0a]));
    await waitFor(() => events.filter((e) => e.type === 'reader_rejected').length >= 2, 3000, 'rejections');
    expect(app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(entriesBefore);
  });

  it('a staff manual unlock reaches MQTT with its minutes as a number, then the relock', async () => {
    const wire = () =>
      messages.filter((m) => m.topic === 'dorvakt/itest/event').map((m) => JSON.parse(m.payload));
    app.doors[0]!.manualUnlock(5);
    const unlock = await waitFor(
      () => wire().find((e) => e.type === 'manual_unlock'),
      5000,
      'manual_unlock on MQTT',
    );
    expect(unlock).toMatchObject({ v: 2, door: 'front', minutes: 5 });
    expect(Date.parse(unlock.until) - Date.parse(unlock.ts)).toBeGreaterThan(4 * 60_000);
    await waitFor(
      () => wire().find((e) => e.type === 'door' && e.held === true && e.locked === false),
      5000,
      'held door event',
    );
    app.doors[0]!.manualLock();
    await waitFor(
      () => wire().findLast((e) => e.type === 'door')?.locked === true,
      5000,
      'the relock on MQTT',
    );
    expect(wire().some((e) => e.type === 'alarm' && e.alarm === 'manual_unlock')).toBe(false);
    const info = messages.find((m) => m.topic === 'dorvakt/itest/info');
    expect(info && JSON.parse(info.payload).doors).toEqual([{ id: 'front', name: expect.any(String) }]);
  });

  it('never puts a card number or card hash on MQTT, and every event keeps the v2 contract', () => {
    const wireEvents = messages.filter((m) => m.topic === 'dorvakt/itest/event');
    expect(wireEvents.length).toBeGreaterThan(0);
    for (const m of wireEvents) expect(parseEvent(m.payload).ok, m.payload).toBe(true);
    const all = messages.map((m) => m.payload).join('\n');
    for (const secret of ['12345678', '87654321', app.hashCard('12345678'), app.hashCard('87654321')]) {
      expect(all).not.toContain(secret);
    }
  });

  it('raises reader_offline when the reader is unplugged and clears it when it is back', async () => {
    await pty.unplug();
    await waitFor(() => app.alarms.isActive('reader_offline', 'front'), 5000, 'reader_offline raised');
    await waitFor(
      () =>
        messages.find(
          (m) =>
            m.topic === 'dorvakt/itest/event' &&
            JSON.parse(m.payload).type === 'alarm' &&
            JSON.parse(m.payload).alarm === 'reader_offline',
        ),
      5000,
      'alarm on mqtt',
    );
    await pty.plug();
    await waitFor(() => !app.alarms.isActive('reader_offline', 'front'), 5000, 'reader_offline cleared');
    const before = events.filter((e) => e.type === 'entry').length;
    pty.write('12345678\r');
    await waitFor(() => events.filter((e) => e.type === 'entry').length > before, 5000, 'swipe after replug');
  });

  it('the broker publishes the LWT offline when the controller vanishes', async () => {
    messages.length = 0;
    app.mqtt.client.stream.destroy();
    await waitFor(
      () => messages.find((m) => m.topic === 'dorvakt/itest/status' && m.payload === 'offline'),
      5000,
      'LWT',
    );
    // mqtt.js reconnects and says online again.
    await waitFor(
      () => messages.find((m) => m.topic === 'dorvakt/itest/status' && m.payload === 'online'),
      5000,
      'online again',
    );
  });
});

describe('startApp with a schedule it cannot read', () => {
  it('refuses to start and names the door and setting', async () => {
    const broker = await startMosquitto();
    const dir = tempDir();
    writeFileSync(join(dir.path, 'key'), KEY);
    const storePath = join(dir.path, 'store.sqlite');
    // parseConfig alone leaves schedules to the compiler (check-config checks them with lines).
    const config = parseConfig(`
site: { id: itest-bad, timezone: Europe/Oslo, country: NO }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: back
    schedule: { staffless: "Mo-Su 7-22" }
    reader: { path: ${join(dir.path, 'no-reader')} }
store: { path: ${storePath} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
`);
    await expect(startApp({ config, log: createLogger('silent') })).rejects.toThrow(
      /^door "back": schedule staffless "Mo-Su 7-22": opening_hours warning/,
    );
    await broker.stop();
    dir.cleanup();
  });
});
