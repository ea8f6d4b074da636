/**
 * A Wiegand reader through to the gate: fake gpiomon (real child process) → decoder → card format →
 * decision → sim door, LED/beeper feedback on (fake) sysfs lines, and reader_offline while gpiomon is down.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { FakeSysfs, PI4_KERNEL_6_6 } from '../door/fake-sysfs.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { encodeFrame } from '../../src/reader/wiegand/decoder.ts';
import { card, frameEdges, installFakeGpiomon, pidOf, script } from '../reader/wiegand/fixture.ts';

const KEY = 'wiegand-integration-key-0123456789';
/** GPIO22 on a Pi 4 with kernel 6.6 (base 512): the reader's LED input. */
const LED = 534;

describe('Wiegand reader → gate → door', () => {
  let broker: Broker;
  let dir: ReturnType<typeof tempDir>;
  let sysfs: FakeSysfs;
  let app: App;
  const events: DorvaktEvent[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = tempDir('wiegand-itest-');
    sysfs = new FakeSysfs(join(dir.path, 'gpio'), PI4_KERNEL_6_6).startKernel();
    writeFileSync(join(dir.path, 'key'), KEY);
    const gpiomon = installFakeGpiomon(dir.path);
    // Start 0 holds the lines and reads nothing (the patron is registered meanwhile); each later start
    // follows a kill of the one before it.
    script(dir.path, 1, card(26, 0x6f6c3a, 1_000_000_000n));
    script(dir.path, 2, card(26, 0x6f0001, 5_000_000_000n));
    // A frame whose odd parity bit is wrong: dropped and counted, never a swipe.
    const bad = encodeFrame(26, 0x6f6c3a);
    script(dir.path, 3, frameEdges([...bad.slice(0, -1), 1 - bad.at(-1)!], 9_000_000_000n));
    const config = parseConfig(`
site: { id: witest, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader:
      path: /dev/gpiochip0
      profile: wiegand
      card_format: facility-number
      reconnect_min_ms: 50
      reconnect_max_ms: 200
      wiegand:
        d0: 17
        d1: 27
        gpiomon: ${gpiomon}
        sysfs_root: ${join(dir.path, 'gpio')}
        led_green: { pin: { chip: pinctrl-bcm2711, line: 22 }, active_low: true }
        feedback: { granted: { led: { duration_ms: 60000 } } }
    hardware: { driver: sim, pulse_ms: 300, held_open_seconds: 5, sim: { open_after_ms: 50, close_after_ms: 100, patron_on_grant: true } }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
`);
    app = await startApp({ config, log: createLogger('silent') });
    app.bus.subscribe((e) => events.push(e));
    const registry = new LocalPatronSource(app.db, app.hashCard, () => '2026-11-26');
    registry.put('11127706', { category: 'V', birthYear: 1980 });
    for (const kind of ['agreement', 'camera'] as const)
      app.consents.sign(app.hashCard('11127706'), kind, '1', Date.now(), 'test');
  });

  afterAll(async () => {
    await app?.stop();
    sysfs?.stopKernel();
    await broker?.stop();
    dir?.cleanup();
  });

  const entries = () => events.filter((e) => e.type === 'entry');
  const alarms = (state: 'raised' | 'cleared') =>
    events.filter((e) => e.type === 'alarm' && e.alarm === 'reader_offline' && e.state === state).length;

  it('gpiomon killed: reader_offline is raised and cleared; the card read by the new gpiomon opens the door, LED green', async () => {
    await waitFor(() => app.doors[0]!.reader.online, 5000, 'reader online');
    process.kill(pidOf(dir.path, 0)!, 'SIGKILL');
    await waitFor(() => alarms('raised') === 1, 5000, 'reader_offline raised');
    await waitFor(() => alarms('cleared') === 1, 5000, 'reader_offline cleared');
    const entry = await waitFor(() => entries()[0], 10000, 'entry');
    expect(entry).toMatchObject({ outcome: 'granted', reason: 'allow', door: 'front' });
    // Active-low LED input: low is green.
    await waitFor(() => sysfs.read(LED, 'value') === '0', 5000, 'green LED');
  });

  it('an unknown card is denied and the green LED goes off (denied is red)', async () => {
    process.kill(pidOf(dir.path, 1)!, 'SIGKILL');
    const entry = await waitFor(() => entries()[1], 10000, 'second entry');
    expect(entry).toMatchObject({ outcome: 'denied', door: 'front' });
    await waitFor(() => sysfs.read(LED, 'value') === '1', 5000, 'LED back to red');
    expect(alarms('raised')).toBe(2);
  });

  it('a frame with a bad parity bit is dropped: a reader_rejected event and the metric, no entry', async () => {
    const before = entries().length;
    process.kill(pidOf(dir.path, 2)!, 'SIGKILL');
    const rejected = await waitFor(
      () => events.find((e) => e.type === 'reader_rejected'),
      10000,
      'reader_rejected',
    );
    expect(rejected).toMatchObject({ reader: 'front', why: 'bad_checksum' });
    const metric = await app.metrics.text('dorvakt_reader_rejected_total');
    expect(metric).toContain('dorvakt_reader_rejected_total{door="front",why="bad_checksum"} 1');
    expect(entries().length).toBe(before);
  });
});
