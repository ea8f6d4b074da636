/**
 * The fleet part as it runs: in the worker process of a whole service, on the site's broker. The test plays
 * the centre (acknowledges figures, sends a signed alarm acknowledgement).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import {
  ackTopic,
  alarmAckTopic,
  type FleetFigures,
  type FleetOpeningHours,
  parseFigures,
  parseOpeningHours,
  signAlarmAck,
} from '../../src/contract/fleet.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Service, startService } from '../../src/service.ts';
import { openDb } from '../../src/store/db.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/ports.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
const KEY = 'worker-fleet-key-0123456789abcdef';

describe('the fleet part in the worker process', () => {
  const dir = tempDir('fleet-worker-');
  let broker: Broker | undefined;
  let reader: PtyPair | undefined;
  let service: Service | undefined;
  let centre: MqttClient | undefined;
  afterAll(async () => {
    await centre?.endAsync();
    await service?.stop();
    await reader?.close();
    await broker?.stop();
    dir.cleanup();
  });

  it('sends the store hourly figures until acknowledged, and applies a signed alarm acknowledgement', async () => {
    [broker, reader] = await Promise.all([startMosquitto(), createPtyPair()]);
    writeFileSync(join(dir.path, 'key'), 'worker-site-key-0123456789abcdef');
    writeFileSync(join(dir.path, 'fleet.key'), KEY);
    const store = join(dir.path, 'store.sqlite');
    const seed = openDb(store);
    const insert = seed.prepare(
      "INSERT INTO entries (ts, door, mode, outcome, reason, source) VALUES (?, 'front', 'staffless', 'granted', 'allow', 'local')",
    );
    for (let h = 2; h <= 6; h++) insert.run(Date.now() - h * HOUR);
    seed.close();

    centre = await connectAsync(broker.url);
    const figures: FleetFigures[] = [];
    const weeks: FleetOpeningHours[] = [];
    centre.on('message', (topic, payload) => {
      // An answer to a message that arrives while the test ends its client is lost, not an error of the test.
      const ack = (id: string) =>
        void centre!
          .publishAsync(ackTopic('wk'), JSON.stringify({ v: 1, id }), { qos: 1 })
          .catch(() => undefined);
      if (topic === 'dorvakt/wk/fleet/opening-hours') {
        const parsed = parseOpeningHours(payload);
        if (!parsed.ok) return;
        weeks.push(parsed.value);
        ack(parsed.value.id);
        return;
      }
      if (topic !== 'dorvakt/wk/fleet/figures') return;
      const parsed = parseFigures(payload);
      if (!parsed.ok) return;
      figures.push(parsed.value);
      ack(parsed.value.id);
    });
    await centre.subscribeAsync(['dorvakt/wk/fleet/figures', 'dorvakt/wk/fleet/opening-hours'], { qos: 1 });

    const config = parseConfig(`
site: { id: wk, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader.devicePath} }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${store} }
mqtt: { url: "${broker.url}" }
ops: { host: 127.0.0.1, port: ${await freePort()} }
web: { enabled: false }
fleet: { enabled: true, key: { file: ${join(dir.path, 'fleet.key')} }, scan_seconds: 1, send_seconds: 1 }
log: { level: silent }
`);
    service = await startService({ config, log: createLogger('silent') });
    const { app } = service;
    await waitFor(() => new Set(figures.map((f) => f.hour)).size >= 5, 30_000, 'five hours of figures');
    expect(figures.every((f) => f.rows.every((r) => r.count === 1 && r.door === 'front'))).toBe(true);
    // The opening hours from the door process's saved day plans: staffless round the clock (an ordinary day).
    await waitFor(() => weeks.length >= 2, 30_000, 'opening hours of the weeks ahead');
    const days = weeks.flatMap((w) => w.days);
    expect(days.filter((d) => d.staffless === 24 && d.staffed === 0).length).toBeGreaterThan(days.length - 2);
    await waitFor(
      () => app.db.prepare('SELECT COUNT(*) FROM fleet_outbox WHERE acked_at IS NULL').pluck().get() === 0,
      10_000,
      'every figure acknowledged',
    );

    app.alarms.raise('door_forced', 'front', 'test');
    const at = Date.now() + 1;
    await centre.publishAsync(
      alarmAckTopic('wk'),
      JSON.stringify(
        signAlarmAck('wk', Buffer.from(KEY), { alarm: 'door_forced', scope: 'front', by: 'ola', at }),
      ),
      { qos: 1 },
    );
    const acked = await waitFor(
      () => app.alarms.unresolved().find((a) => a.code === 'door_forced' && a.ackedAt !== null),
      20_000,
      'the acknowledgement in the door process',
    );
    expect(acked.ackedBy).toBe('fleet:ola');
  }, 60_000);

  it('a fleet part that cannot start raises part_failed for it in the door process', async () => {
    const failing = await startService({
      config: parseConfig(`
site: { id: wk2, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7", holidays_closed: false }
    reader: { path: ${reader!.devicePath} }
    hardware: { driver: sim, pulse_ms: 100, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store2.sqlite')} }
mqtt: { url: "${broker!.url}" }
ops: { host: 127.0.0.1, port: ${await freePort()} }
web: { enabled: false }
fleet: { enabled: true, key: { file: ${join(dir.path, 'no-such-fleet.key')} } }
log: { level: silent }
`),
      log: createLogger('silent'),
    });
    try {
      await waitFor(
        () => failing.app.alarms.isActive('part_failed', 'fleet'),
        30_000,
        'part_failed for the fleet part',
      );
    } finally {
      await failing.stop();
    }
  }, 60_000);
});
