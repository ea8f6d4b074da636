import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { EventBus } from '../../src/events/bus.ts';
import {
  cameraScope,
  type FrigateRecordingConfig,
  FrigateRecordingSchedule,
  frigateRecordingDefaults,
} from '../../src/nvr/frigate-recording.ts';
import type { CardReader, CardReaderEvents } from '../../src/reader/reader.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { scheduleFromConfig } from '../../src/schedule/planner.ts';
import { ScheduleWatcher } from '../../src/schedule/watcher.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeFrigate } from './fake-frigate.ts';
import { captureLog } from './helpers.ts';

const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [],
};
const schedule = scheduleFromConfig(LIBRARY, { timezone: 'Europe/Oslo', country: 'NO' });
const GRACE_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;

/**
 * The controller side with a schedule on a clock the test moves (`at`), its own MQTT client and a
 * topic prefix of its own, so retained Frigate state from one test cannot reach another.
 */
async function rig(startIso: string, overrides: Partial<FrigateRecordingConfig> = {}) {
  const prefix = `frigate${process.pid}-${++seq}`;
  const config = frigateRecordingDefaults({
    enabled: true,
    topic_prefix: prefix,
    cameras: ['entrance', 'stacks'],
    grace_seconds: GRACE_MS / 1000,
    ...overrides,
  });
  const { log, lines } = captureLog();
  const bus = new EventBus();
  const alarms = new Alarms(null, bus, log);
  const clock = { now: new Date(startIso) };
  const watcher = new ScheduleWatcher({
    door: 'main',
    schedule,
    bus,
    now: () => clock.now,
    tickMs: 3_600_000,
  });
  watcher.start();
  // Reconnects as MqttLink does (1 s), later than the test's observers.
  const mqtt = await connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 1000 });
  mqtt.on('error', () => undefined);
  const recording = new FrigateRecordingSchedule({
    config,
    mqtt,
    bus,
    alarms,
    log,
    initialModes: [['main', watcher.current()]],
  });
  cleanups.push(async () => {
    recording.stop();
    watcher.stop();
    await mqtt.endAsync(true);
  });
  const at = (iso: string) => {
    clock.now = new Date(iso);
    watcher.evaluate();
  };
  const frigate = (options: { enabledInConfig?: boolean; persist?: boolean } = {}) => {
    const fake = new FakeFrigate({ url: broker.url, prefix, cameras: config.cameras, ...options });
    cleanups.push(async () => {
      await fake.stop();
      await fake.clearRetained(broker.url);
    });
    return fake;
  };
  const mismatch = (camera: string) =>
    alarms.list().find((a) => a.code === 'recording_mismatch' && a.door === cameraScope(camera));
  return { prefix, config, bus, alarms, watcher, mqtt, recording, at, frigate, mismatch, lines };
}

const lastCommand = (fake: FakeFrigate, camera: string) =>
  fake.commands.filter((c) => c.camera === camera).at(-1)?.payload;
const recordingIs = (fake: FakeFrigate, on: boolean) => [...fake.recording.values()].every((v) => v === on);

describe('Frigate recording follows the schedule (real Mosquitto, fake Frigate)', () => {
  it('staffless → staffed → closed → staffless, and a Frigate restart that forgets the toggle', async () => {
    const r = await rig('2026-11-25T08:00:00+01:00'); // Wednesday, staffless
    const fake = r.frigate(); // record.enabled: true in its config, so it starts recording
    await fake.start();
    r.recording.start();
    await waitFor(
      () => lastCommand(fake, 'entrance') === 'ON' && lastCommand(fake, 'stacks') === 'ON',
      3000,
      'ON',
    );
    expect(recordingIs(fake, true)).toBe(true);

    r.at('2026-11-25T10:00:00+01:00'); // staffed
    await waitFor(() => recordingIs(fake, false), 3000, 'recording off when staffed');
    expect(lastCommand(fake, 'entrance')).toBe('OFF');
    await waitFor(() => r.recording.status().cameras.every((c) => c.state === 'OFF'), 3000, 'state OFF');

    // Frigate ≤ 0.17 restarts with its config's toggle (ON) and says `online`: we ask OFF again.
    const before = fake.commands.length;
    await fake.restart();
    expect(fake.recording.get('entrance')).toBe(true); // forgotten: back to the config value
    await waitFor(() => fake.commands.length > before && recordingIs(fake, false), 3000, 'OFF again');
    expect(fake.commands.slice(before).every((c) => c.payload === 'OFF')).toBe(true);
    await waitFor(() => r.recording.status().cameras.every((c) => c.state === 'OFF'), 3000, 'state OFF');

    // staffed → closed: still OFF, nothing new to ask.
    const beforeClosed = fake.commands.length;
    r.at('2026-11-25T16:00:01+01:00'); // staffless again
    await waitFor(() => recordingIs(fake, true), 3000, 'ON at 16:00');
    r.at('2026-11-25T22:00:00+01:00'); // closed
    await waitFor(() => recordingIs(fake, false), 3000, 'OFF when closed');
    r.at('2026-11-26T06:00:00+01:00'); // still closed
    await sleep(100);
    expect(fake.commands.slice(beforeClosed).map((c) => c.payload)).toEqual(['ON', 'ON', 'OFF', 'OFF']);
    r.at('2026-11-26T07:00:00+01:00'); // Thursday, staffless
    await waitFor(() => recordingIs(fake, true), 3000, 'ON at 07:00');

    await sleep(GRACE_MS + 100);
    expect(r.alarms.list()).toEqual([]);
  });

  it('0.18 keeps the toggle across a restart; the republish does no harm', async () => {
    const r = await rig('2026-11-25T12:00:00+01:00'); // staffed
    const fake = r.frigate({ persist: true });
    await fake.start();
    r.recording.start();
    await waitFor(() => recordingIs(fake, false), 3000, 'OFF');
    await fake.restart();
    expect(fake.recording.get('entrance')).toBe(false);
    await sleep(GRACE_MS + 100);
    expect(recordingIs(fake, false)).toBe(true);
    expect(r.alarms.list()).toEqual([]);
  });

  it('a Frigate that ignores OFF raises recording_mismatch (privacy) after the grace, cleared when it complies', async () => {
    const r = await rig('2026-11-25T12:00:00+01:00'); // staffed
    const fake = r.frigate();
    fake.ignoring = true;
    await fake.start(); // says ON from its config and keeps it
    r.recording.start();
    await waitFor(() => lastCommand(fake, 'entrance') === 'OFF', 3000, 'asked OFF');
    await sleep(GRACE_MS / 3);
    expect(r.mismatch('entrance')).toBeUndefined(); // Frigate gets its grace
    await waitFor(() => r.mismatch('entrance') && r.mismatch('stacks'), GRACE_MS * 5, 'mismatch raised');
    const alarm = r.mismatch('entrance')!;
    expect(alarm.detail).toContain('camera entrance');
    expect(alarm.detail).toContain('asked OFF, Frigate says ON');
    expect(alarm.detail).toContain('staffed hours');
    expect(alarm.detail).toMatch(/privacy$/);

    fake.ignoring = false;
    await fake.restart(); // back online: asked again, and this time it complies
    await waitFor(
      () => recordingIs(fake, false) && r.recording.status().cameras.every((c) => c.state === 'OFF'),
      3000,
      'complied',
    );
    expect(r.mismatch('entrance')).toBeUndefined();
    expect(r.mismatch('stacks')).toBeUndefined();
  });

  it('a Frigate with recording off in its config cannot turn it ON: mismatch (safety) until staffed hours', async () => {
    const r = await rig('2026-11-25T08:00:00+01:00'); // staffless
    const fake = r.frigate({ enabledInConfig: false });
    await fake.start();
    r.recording.start();
    await waitFor(() => r.mismatch('entrance'), GRACE_MS * 5, 'mismatch raised');
    expect(r.mismatch('entrance')!.detail).toBe(
      'camera entrance not recording in staffless hours (asked ON, Frigate says OFF): safety',
    );
    r.at('2026-11-25T10:00:00+01:00'); // staffed: OFF is what Frigate does anyway
    await waitFor(() => !r.mismatch('entrance') && !r.mismatch('stacks'), 3000, 'cleared');
  });

  it('no state from Frigate at all (a camera name Frigate does not know) raises the alarm', async () => {
    const r = await rig('2026-11-25T08:00:00+01:00', { cameras: ['entrance'] });
    r.recording.start();
    await waitFor(() => r.mismatch('entrance'), GRACE_MS * 5, 'mismatch raised');
    expect(r.mismatch('entrance')!.detail).toContain('no state from Frigate');
  });

  it('Frigate going offline in staffless hours is a safety mismatch; back online clears it', async () => {
    const r = await rig('2026-11-25T08:00:00+01:00');
    const fake = r.frigate();
    await fake.start();
    r.recording.start();
    await waitFor(() => recordingIs(fake, true), 3000, 'ON');
    await fake.stop();
    await waitFor(() => r.mismatch('entrance'), GRACE_MS * 5, 'mismatch raised');
    expect(r.mismatch('entrance')!.detail).toContain('Frigate is offline');
    await fake.start();
    await waitFor(() => !r.mismatch('entrance'), 3000, 'cleared');
  });

  it('a broker restart: subscriptions are made again and the wanted state is published again', async () => {
    const r = await rig('2026-11-25T12:00:00+01:00', { cameras: ['entrance'] }); // staffed: OFF
    // A bare observer instead of Frigate, so nothing but the reconnect can cause a republish.
    const sets: string[] = [];
    const observer = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 50 });
    observer.on('error', () => undefined);
    const watch = () => observer.subscribe(`${r.prefix}/+/recordings/set`, { qos: 1 });
    observer.on('connect', watch);
    observer.on('message', (_t, p) => sets.push(p.toString()));
    await observer.subscribeAsync(`${r.prefix}/+/recordings/set`, { qos: 1 });
    cleanups.push(() => observer.endAsync(true));
    r.recording.start();
    await waitFor(() => sets.length === 1, 3000, 'first OFF');

    await broker.restart();
    await waitFor(() => sets.length >= 2, 8000, 'OFF published again after the reconnect');
    expect(sets.every((s) => s === 'OFF')).toBe(true);
    await waitFor(() => r.mqtt.connected && observer.connected, 3000, 'both connected');
    await sleep(100);

    // Subscribed again to the state topic: a wrong state is seen, and after the grace alarmed.
    await observer.publishAsync(`${r.prefix}/entrance/recordings/state`, 'ON', { retain: true });
    cleanups.push(() => observer.publishAsync(`${r.prefix}/entrance/recordings/state`, '', { retain: true }));
    await waitFor(() => r.mismatch('entrance'), GRACE_MS * 5, 'mismatch after the restart');
    // ...and to `available`: every `online` counts, also one without an `offline` before it.
    for (const _ of [1, 2]) {
      const n = sets.length;
      await observer.publishAsync(`${r.prefix}/available`, 'online');
      await waitFor(() => sets.length > n, 3000, 'published again on online');
    }
  });

  it('mode events for doors outside `doors` are ignored', async () => {
    const r = await rig('2026-11-25T12:00:00+01:00', { doors: ['main'] }); // staffed: OFF
    const fake = r.frigate();
    await fake.start();
    r.recording.start();
    await waitFor(() => recordingIs(fake, false), 3000, 'OFF');
    const n = fake.commands.length;
    r.bus.publish({ type: 'mode', door: 'side', mode: 'staffless', ts: new Date().toISOString() });
    await sleep(150);
    expect(fake.commands.length).toBe(n);
  });
});

class StubReader extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly name = 'stub';
  readonly online = true;
  start(): void {}
  async stop(): Promise<void> {}
}

describe('in the service', () => {
  async function runApp(nvrYaml: string) {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    writeFileSync(join(dir.path, 'key'), 'frigate-recording-test-key-0123');
    const seen: { topic: string; payload: string }[] = [];
    const observer = await connectAsync(broker.url, { protocolVersion: 4 });
    observer.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await observer.subscribeAsync('frigate/#');
    cleanups.push(() => observer.endAsync(true));
    const config = parseConfig(`
site: { id: frtest, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { file: ${join(dir.path, 'key')} } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "Mo-Su 00:00-24:00", holidays_closed: false }
    reader: { path: /dev/null, profile: line }
    hardware: { driver: sim, pulse_ms: 300, held_open_seconds: 5 }
store: { path: ${join(dir.path, 'store.sqlite')} }
mqtt: { url: "${broker.url}" }
log: { level: silent }
${nvrYaml}
`);
    const { log } = captureLog();
    const app = await startApp({ config, log, readerFor: () => new StubReader() });
    cleanups.push(() => app.stop());
    return { app, config, seen };
  }

  it('is off by default: nothing is published on Frigate topics', async () => {
    const { app, config, seen } = await runApp('');
    expect(config.nvr.frigate_recording).toEqual({
      enabled: false,
      topic_prefix: 'frigate',
      cameras: [],
      record_in: ['staffless'],
      doors: [],
      grace_seconds: 60,
    });
    expect(app.frigateRecording).toBeUndefined();
    await waitFor(() => app.mqtt.connected, 3000, 'connected');
    await sleep(300);
    expect(seen).toEqual([]);
  });

  it('enabled: the door schedule drives recordings/set for every camera', async () => {
    const { app, seen } = await runApp(
      'nvr: { frigate_recording: { enabled: true, cameras: [hall, desk] } }',
    );
    await waitFor(() => seen.length >= 2, 3000, 'two commands');
    expect(seen).toEqual([
      { topic: 'frigate/hall/recordings/set', payload: 'ON' },
      { topic: 'frigate/desk/recordings/set', payload: 'ON' },
    ]);
    expect(app.frigateRecording?.status().desired).toBe('ON');
  });

  it('check-config refuses an unknown door and an empty camera list', () => {
    expect(() =>
      parseConfig(`
site: { id: frtest, timezone: Europe/Oslo, country: NO, language: en }
secrets: { card_hmac_key: { env: X } }
doors:
  - id: front
    schedule: { staffed: "", staffless: "24/7" }
    reader: { path: /dev/null, profile: line }
    hardware: { driver: sim }
store: { path: ':memory:' }
mqtt: { url: "mqtt://127.0.0.1:1" }
nvr: { frigate_recording: { enabled: true, doors: [back] } }
`),
    ).toThrow(/nvr\.frigate_recording\.cameras[\s\S]*nvr\.frigate_recording\.doors\.0/);
  });
});
