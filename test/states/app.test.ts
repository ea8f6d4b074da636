import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { SimDoorDriver } from '../../src/door/sim-driver.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import type { CardReader, CardReaderEvents } from '../../src/reader/reader.ts';
import { outputScope } from '../../src/states/engine.ts';
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

async function startWithStates(
  states: string,
): Promise<{ app: App; reader: StubReader; retained: Map<string, string> }> {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  writeFileSync(join(dir.path, 'key'), 'states-app-test-key-0123456789');
  const site = `st${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const config = parseConfig(`
site: { id: ${site}, timezone: Europe/Oslo, country: NO, language: nb }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: /dev/null }
    hardware: { driver: sim, pulse_ms: 300, sim: { patron_on_grant: false } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
${states.replaceAll('@SITE@', site).replaceAll('@DIR@', dir.path)}
`);
  const retained = new Map<string, string>();
  const observer = await connectAsync(broker.url, { protocolVersion: 5 });
  cleanups.push(() => observer.endAsync());
  observer.on('message', (topic, payload, packet) => {
    if (packet.retain || !retained.has(topic)) retained.set(topic, payload.toString());
  });
  await observer.subscribeAsync(`${site}/#`);
  const reader = new StubReader();
  const app = await startApp({ config, log: createLogger('silent'), readerFor: () => reader });
  cleanups.push(() => app.stop());
  return { app, reader, retained };
}

describe('states in the service', () => {
  it('is off by default', () => {
    const config = parseConfig(`
site: { id: off }
secrets: { card_hmac_key: { env: K } }
doors: [{ id: front, schedule: { staffless: "24/7" }, reader: { path: /dev/null } }]
`);
    expect(config.states).toMatchObject({ enabled: false, closing_minutes: 15, outputs: [] });
    expect(config.states.announcements).toMatchObject({ enabled: false, minutes: [15, 10, 5] });
  });

  it('a failing output raises output_failed naming it; the other outputs are set and the door still opens', async () => {
    const { app, reader, retained } = await startWithStates(`
states:
  enabled: true
  sysfs_root: @DIR@/no-gpio-here
  outputs:
    - id: lights
      gpio: { pin: 17 }
      values: { staffless: on, closed: { value: off, offset_minutes: 10 } }
    - id: panel
      mqtt: { topic: "@SITE@/building/panel" }
      values: { staffless: "Meråpent", closing: "Stenger snart", closed: Stengt }
`);
    await waitFor(() => app.states, 5000, 'state engine');
    await waitFor(() => app.alarms.isActive('output_failed', outputScope('lights')), 5000, 'output_failed');
    expect(app.alarms.isActive('part_failed', 'states')).toBe(false);
    await waitFor(() => retained.get(`${app.config.site.id}/building/panel`) === 'Meråpent', 5000, 'panel');
    // The dashboard sees the site's state through the door snapshot.
    expect(app.doors[0]!.snapshot().site).toMatchObject({ state: 'staffless', next: null });

    const registry = new LocalPatronSource(app.db, app.hashCard, () => '2026-11-30');
    registry.put('12345678', { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard('12345678'), kind, '1', Date.now(), 'test');
    const driver = app.doors[0]!.driver as SimDoorDriver;
    reader.emit('swipe', { card: '12345678', receivedAt: process.hrtime.bigint() });
    await waitFor(() => driver.relayWrites.includes(true), 3000, 'relay unlocked');
    const entry = app.db.prepare('SELECT outcome, reason FROM entries').get();
    expect(entry).toEqual({ outcome: 'granted', reason: 'allow' });
  });
});
