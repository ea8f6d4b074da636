import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { CardReader, CardReaderEvents } from '../../src/reader/reader.ts';
import { openDb } from '../../src/store/db.ts';
import { wallClock } from '../../src/time/zone.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

class StubReader extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly name = 'stub';
  readonly online = true;
  start(): void {}
  async stop(): Promise<void> {}
}

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The nightly reset (default 03:00, an hour's window) would zero the two inside at a start in that hour, as it
 * should: this test's reset lies twelve hours from now, whatever the clock (CI runs the suite at 03:30).
 */
function farFromNow(): string {
  const hour = (wallClock(new Date(), 'Europe/Oslo').hour + 12) % 24;
  return `${String(hour).padStart(2, '0')}:00`;
}

describe('occupancy in the service', () => {
  it('is off by default and not loaded', () => {
    const config = parseConfig(`
site: { id: off }
secrets: { card_hmac_key: { env: K } }
doors: [{ id: front, schedule: { staffless: "24/7" }, reader: { path: /dev/null } }]
`);
    expect(config.occupancy).toMatchObject({ enabled: false, doors: [], reset_at: '03:00' });
  });

  it('a config naming an unknown door or output, or both beams and mqtt, is refused with the key', () => {
    expect(() =>
      parseConfig(`
site: { id: bad }
secrets: { card_hmac_key: { env: K } }
doors: [{ id: front, schedule: { staffless: "24/7" }, reader: { path: /dev/null } }]
occupancy:
  enabled: true
  doors:
    - { door: back, mqtt: {} }
    - door: front
      mqtt: {}
      beams: { outside: { pin: 5 }, inside: { pin: 6 } }
  closing_sweep: { output: alarm }
`),
    ).toThrow(/occupancy\.doors\.0\.door[\s\S]*occupancy\.doors\.1[\s\S]*occupancy\.closing_sweep\.output/);
  });

  it('restarted at night with people inside: does not arm, raises occupied_at_close, arms when they leave', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    writeFileSync(join(dir.path, 'key'), 'occupancy-app-test-key-0123456789');
    const site = `oc${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const store = join(dir.path, 'store.sqlite');
    // Two people were inside when the controller went down.
    const before = openDb(store);
    before.prepare('INSERT INTO occupancy_now (id, inside, updated_at) VALUES (1, 2, 0)').run();
    before.close();
    const config = parseConfig(`
site: { id: ${site}, timezone: Europe/Oslo, country: NO, language: nb }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "", holidays_closed: false }
    reader: { path: /dev/null }
    hardware: { driver: sim, pulse_ms: 300, sim: { patron_on_grant: false } }
store: { path: ${store} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
states:
  enabled: true
  outputs:
    - id: alarm
      mqtt: { topic: ${site}/building/alarm }
      values: { closed: armed, staffless: disarmed }
occupancy:
  enabled: true
  doors: [{ door: front, mqtt: {} }]
  closing_sweep: { output: alarm, mqtt: true }
  reset_at: "${farFromNow()}"
`);
    const seen: { topic: string; payload: string }[] = [];
    const observer = await connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => observer.endAsync());
    observer.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await observer.subscribeAsync([`${site}/#`, `dorvakt/${site}/#`]);
    const app = await startApp({ config, log: createLogger('silent'), readerFor: () => new StubReader() });
    cleanups.push(() => app.stop());
    await waitFor(() => app.alarms.isActive('occupied_at_close'), 10_000, 'occupied_at_close');
    await waitFor(() => seen.some((m) => m.topic === `dorvakt/${site}/oncall`), 5000, 'on-call notice');
    expect(seen.some((m) => m.topic === `${site}/building/alarm`)).toBe(false);
    expect(app.occupancy?.occupancy.insideNow()).toBe(2);
    // The counter sees both leave.
    await waitFor(
      async () => {
        await observer.publishAsync(`dorvakt/${site}/counter/front`, '{"in":0,"out":2,"id":"last"}', {
          qos: 1,
        });
        return app.occupancy?.occupancy.insideNow() === 0;
      },
      5000,
      'counter report taken',
    );
    await waitFor(
      () => seen.some((m) => m.topic === `${site}/building/alarm` && m.payload === 'armed'),
      5000,
      'armed',
    );
    expect(app.alarms.isActive('occupied_at_close')).toBe(false);
    const events = seen.filter((m) => m.topic === `dorvakt/${site}/event`).map((m) => JSON.parse(m.payload));
    expect(events.filter((e) => e.type === 'occupancy')).toEqual([
      expect.objectContaining({ door: 'front', direction: 'out', inside: 0 }),
    ]);
  }, 60_000);
});
