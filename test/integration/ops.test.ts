import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { type Service, startService } from '../../src/service.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = '24681357';

/** The machine endpoints and door modes of the running service: /healthz, /api/state, /metrics. */
describe('ops endpoints and staffed modes', () => {
  let broker: Broker;
  let front: PtyPair;
  let lobby: PtyPair;
  let dir: ReturnType<typeof tempDir>;
  let service: Service;

  beforeAll(async () => {
    [broker, front, lobby] = await Promise.all([startMosquitto(), createPtyPair(), createPtyPair()]);
    dir = tempDir('ops-');
    writeFileSync(join(dir.path, 'key'), 'ops-site-key-0123456789abcdef');
    const config = parseConfig(`
site: { id: ops, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: ${front.devicePath} }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
  - id: lobby
    staffed_mode: unlocked
    schedule: { staffed: "Mo-Su 00:00-24:00", staffless: "", holidays_closed: false }
    reader: { path: ${lobby.devicePath} }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
ops: { port: ${await freePort()} }
web: { enabled: false }
log: { level: silent }
`);
    service = await startService({
      config,
      log: createLogger('silent'),
      journalAlarm: { afterMs: 300, everyMs: 50 },
    });
    const registry = new LocalPatronSource(service.app.db, service.app.hashCard, () => '2026-11-26');
    registry.put(CARD, { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      service.app.consents.sign(service.app.hashCard(CARD), kind, '1', Date.now(), 't');
    await waitFor(() => service.app.doors.every((d) => d.reader.online), 5000, 'readers');
  });

  afterAll(async () => {
    await service?.stop();
    await front?.close();
    await lobby?.close();
    await broker?.stop();
    dir?.cleanup();
  });

  it('holds a door unlocked in staffed hours when staffed_mode is unlocked, and keeps the other locked', () => {
    const lobbyState = service.app.doors.find((d) => d.id === 'lobby')!.door.state();
    expect(lobbyState).toMatchObject({ locked: false, held: true, heldReason: 'staffed' });
    expect(service.app.doors.find((d) => d.id === 'front')!.door.state()).toMatchObject({
      locked: true,
      held: false,
    });
  });

  it('answers /healthz and /api/state without personal data', async () => {
    const health = await fetch(`${service.opsUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { store: true, doors: true } });
    const state = (await (await fetch(`${service.opsUrl}/api/state`)).json()) as {
      doors: { id: string; mode: string; locked: boolean }[];
    };
    expect(state.doors.map((d) => [d.id, d.mode, d.locked])).toEqual([
      ['front', 'staffless', true],
      ['lobby', 'staffed', false],
    ]);
  });

  it('exports Prometheus metrics: swipes by outcome and reason, decision latency, door state, no identity', async () => {
    const before = service.app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    front.write(`${CARD}\r\n`);
    front.write('11112222\r\n');
    await waitFor(
      () => (service.app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number) >= before + 2,
      5000,
      'two swipes',
    );
    const response = await fetch(`${service.opsUrl}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('dorvakt_swipes_total{door="front",outcome="granted",reason="allow"} 1');
    expect(text).toContain('dorvakt_swipes_total{door="front",outcome="denied",reason="unknown_card"} 1');
    expect(text).toMatch(/dorvakt_decision_seconds_count\{door="front"\} 2/);
    expect(text).toContain('dorvakt_door_locked{door="lobby"} 0');
    expect(text).toContain('dorvakt_mqtt_connected 1');
    expect(text).toContain('dorvakt_process_resident_memory_bytes');
    for (const secret of [CARD, '11112222', service.app.hashCard(CARD)]) expect(text).not.toContain(secret);
  });

  it("says how many swipes wait in the door's journal while another process holds the store, and hands them on after", async () => {
    const scrape = async () => {
      const text = await (await fetch(`${service.opsUrl}/metrics`)).text();
      return Number(text.match(/^dorvakt_journal_undelivered_rows (\d+)$/m)?.[1]);
    };
    // The swipes of the test before leave the journal once the store's log is synced.
    await waitFor(async () => (await scrape()) === 0, 5000, 'the earlier swipes handed on');
    const before = service.app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    // The worker (or an admin command) in a long transaction.
    const other = new Database(service.app.config.store.path);
    try {
      other.exec('BEGIN IMMEDIATE');
      front.write('11112222\r\n');
      await waitFor(async () => (await scrape()) === 1, 5000, 'the swipe in the journal');
      // Staff see that the store lags behind, though the door works.
      await waitFor(() => service.app.alarms.isActive('entries_undelivered'), 5000, 'the alarm');
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    await waitFor(async () => (await scrape()) === 0, 5000, 'the swipe handed on');
    expect(service.app.db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(before + 1);
    await waitFor(() => !service.app.alarms.isActive('entries_undelivered'), 5000, 'the alarm cleared');
  });
});
