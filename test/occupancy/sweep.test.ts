import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { fileLineOpener } from '../../src/door/gpio-line.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { occupancyDefaults, type OccupancyConfig } from '../../src/occupancy/config.ts';
import { WEBHOOK_SCOPE } from '../../src/occupancy/notify.ts';
import { startOccupancy } from '../../src/occupancy/start.ts';
import { scheduleFromConfig } from '../../src/schedule/planner.ts';
import { statesDefaults } from '../../src/states/config.ts';
import { StateEngine } from '../../src/states/engine.ts';
import { openDb } from '../../src/store/db.ts';
import { FakeSysfs, PI4_KERNEL_6_6 } from '../door/fake-sysfs.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { BRANCH, SITE } from '../states/branch.ts';
import { controllerRig } from './controller-rig.ts';

const schedule = scheduleFromConfig(BRANCH, SITE);
const MINUTE = 60_000;
const MOTION = 512 + 22;

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A webhook receiver (an SMS gateway stand-in): records each POST and answers with `status()`. */
async function receiver(status: () => number) {
  const posts: { body: unknown; auth: string | undefined; type: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      posts.push({
        body: JSON.parse(body),
        auth: req.headers.authorization,
        type: req.headers['content-type'],
      });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, posts };
}

let seq = 0;
async function rig(options: { webhookStatus?: () => number; motion?: boolean } = {}) {
  const prefix = `sweep${process.pid}-${++seq}`;
  const dir = tempDir('occ-sweep-');
  cleanups.push(() => dir.cleanup());
  const sysfs = new FakeSysfs(dir.path, PI4_KERNEL_6_6).startKernel();
  cleanups.push(() => sysfs.stopKernel());
  const { base, db, log, bus, events, alarms, link, seen } = await controllerRig({
    brokerUrl: broker.url,
    prefix,
    dir: dir.path,
    cleanups,
    observe: `${prefix}/#`,
  });
  const motionSeen: boolean[] = [];
  const hook = await receiver(options.webhookStatus ?? (() => 204));
  const clock = { now: new Date('2026-11-25T21:30:00+01:00') }; // a Wednesday, staffless until 22:00
  let engine: StateEngine | undefined;
  const config: OccupancyConfig = occupancyDefaults({
    sysfs_root: dir.path,
    doors: [{ door: 'front', mqtt: {} }],
    ...(options.motion
      ? { motion: { pin: { chip: 'pinctrl-bcm2711', line: 22 }, active_low: false, debounce_ms: MINUTE } }
      : {}),
    closing_sweep: {
      enabled: true,
      output: 'alarm',
      recheck_seconds: 60,
      mqtt: true,
      webhook: { url: hook.url, timeout_ms: 2000, retries: 2, retry_ms: 20 },
    },
  });
  if (options.motion) sysfs.createLine(MOTION);
  const running = await startOccupancy({
    config,
    db,
    bus,
    alarms,
    log,
    site: 'branch',
    baseTopic: base,
    timezone: 'Europe/Oslo',
    modeOf: (door) => schedule.stateAt(clock.now) ?? door,
    mqtt: link.client,
    arm: { output: 'alarm', value: 'armed' },
    rearm: () => engine?.evaluate(),
    webhookBearer: 'hook-token',
    onMotion: (active) => motionSeen.push(active),
    opener: fileLineOpener(dir.path, { pollMs: 2 }),
    now: () => clock.now,
    tickMs: 3_600_000,
    // The minute re-check is driven through the engine's tick below (the fake clock); no real-time timer.
    recheckMs: 3_600_000,
  });
  cleanups.push(() => running.stop());
  engine = new StateEngine({
    config: statesDefaults({
      outputs: [
        {
          id: 'alarm',
          mqtt: { topic: `${prefix}/building/alarm` },
          values: {
            staffless: { value: 'disarmed', offset_minutes: -5 },
            closed: { value: 'armed', offset_minutes: 15 },
          },
        },
      ],
    }),
    schedule,
    bus,
    alarms,
    log,
    mqtt: link.client,
    now: () => clock.now,
    tickMs: 3_600_000,
    holdBack: (output, value, state) => running.sweep?.holdsBack(output, value, state) ?? false,
  });
  cleanups.push(() => engine?.stop());
  await engine.start();
  const counter: MqttClient = await connectAsync(broker.url, { protocolVersion: 5 });
  cleanups.push(() => counter.endAsync());
  const topic = `${base}/counter/front`;
  await waitFor(
    async () => {
      await counter.publishAsync(topic, '{"in":0,"out":0,"id":"probe"}', { qos: 1 });
      return running.counters!.rejected.duplicate > 0;
    },
    5000,
    'counter subscribed',
  );
  const report = async (passagesIn: number, passagesOut: number) => {
    const before = events.filter((e) => e.type === 'occupancy').length;
    await counter.publishAsync(topic, JSON.stringify({ in: passagesIn, out: passagesOut }), { qos: 1 });
    await waitFor(
      () => events.filter((e) => e.type === 'occupancy').length > before,
      5000,
      'counter report taken',
    );
  };
  /** The engine's minute tick at `hhmm` local on the test day. */
  const at = (hhmm: string) => {
    clock.now = new Date(`2026-11-25T${hhmm}:00+01:00`);
    engine!.evaluate();
  };
  const armed = () =>
    events.filter((e) => e.type === 'output' && e.output === 'alarm' && e.value === 'armed');
  const oncall = () => seen.filter((m) => m.topic === `${base}/oncall`).map((m) => JSON.parse(m.payload));
  return {
    motionSeen,
    prefix,
    base,
    sysfs,
    events,
    alarms,
    running,
    engine,
    hook,
    seen,
    report,
    at,
    armed,
    oncall,
    clock,
  };
}

describe('closing sweep: the intruder alarm waits while people are inside', () => {
  it('holds the arming at closing, tells on-call staff (MQTT and webhook), and arms once everyone has left', async () => {
    const r = await rig();
    r.at('21:40');
    await r.report(2, 0);
    r.at('22:15'); // the arming is due now
    expect(r.armed()).toEqual([]);
    expect(r.alarms.isActive('occupied_at_close')).toBe(true);
    expect(r.alarms.list().find((a) => a.code === 'occupied_at_close')?.detail).toBe(
      '2 inside; alarm not set to armed',
    );
    await waitFor(() => r.oncall().length === 1 && r.hook.posts.length === 1, 5000, 'on-call told');
    const raised = {
      v: 2,
      alarm: 'occupied_at_close',
      state: 'raised',
      site: 'branch',
      inside: 2,
      motion: false,
      ts: '2026-11-25T21:15:00.000Z',
    };
    expect(r.oncall()).toEqual([raised]);
    expect(r.hook.posts).toEqual([{ body: raised, auth: 'Bearer hook-token', type: 'application/json' }]);
    // Every minute it looks again; still occupied, nothing is armed and nobody is told twice.
    for (const minute of ['22:16', '22:17', '22:18']) r.at(minute);
    await r.report(0, 1);
    r.at('22:19');
    expect(r.armed()).toEqual([]);
    expect(r.alarms.isActive('occupied_at_close')).toBe(true);
    // The last one leaves: armed at once, the alarm cleared (still listed until acknowledged), staff told.
    await r.report(0, 1);
    expect(r.armed()).toHaveLength(1);
    expect(r.alarms.isActive('occupied_at_close')).toBe(false);
    expect(r.alarms.unresolved().map((a) => a.code)).toContain('occupied_at_close');
    await waitFor(
      () => r.seen.some((m) => m.topic === `${r.prefix}/building/alarm` && m.payload === 'armed'),
      5000,
      'armed on the building topic',
    );
    await waitFor(() => r.hook.posts.length === 2 && r.oncall().length === 2, 5000, 'cleared told');
    expect(r.oncall()[1]).toMatchObject({ state: 'cleared', inside: 0 });
    // The next tick does not arm twice.
    r.at('22:21');
    expect(r.armed()).toHaveLength(1);
    // Without anyone inside the next morning's disarm goes through as always.
    r.clock.now = new Date('2026-11-26T06:55:00+01:00');
    r.engine.evaluate();
    expect(r.events.some((e) => e.type === 'output' && e.value === 'disarmed')).toBe(true);
  });

  it('an active motion input holds it too; the minute re-check arms once motion has been quiet', async () => {
    const r = await rig({ motion: true });
    r.at('22:10');
    r.sysfs.setLevel(MOTION, 1);
    await waitFor(() => r.running.motion(), 2000, 'motion seen');
    r.at('22:15');
    expect(r.armed()).toEqual([]);
    expect(r.alarms.list().find((a) => a.code === 'occupied_at_close')?.detail).toBe(
      '0 inside, motion; alarm not set to armed',
    );
    // Quiet from 22:15:30, but motion lingers for its debounce (a minute): the 22:16 re-check still holds.
    r.clock.now = new Date('2026-11-25T22:15:30+01:00');
    r.sysfs.setLevel(MOTION, 0);
    await waitFor(() => r.motionSeen.includes(false), 2000, 'motion quiet seen');
    r.at('22:16');
    expect(r.armed()).toEqual([]);
    r.at('22:17');
    expect(r.armed()).toHaveLength(1);
    expect(r.alarms.isActive('occupied_at_close')).toBe(false);
  });

  it('a GPIO arm output opened while people are inside opens unarmed, and arms when they leave', async () => {
    const dir = tempDir('occ-sweep-gpio-');
    cleanups.push(() => dir.cleanup());
    const sysfs = new FakeSysfs(dir.path, PI4_KERNEL_6_6).startKernel();
    cleanups.push(() => sysfs.stopKernel());
    const db = openDb(`${dir.path}/store.sqlite`);
    cleanups.push(() => db.close());
    db.prepare('INSERT INTO occupancy_now (id, inside, updated_at) VALUES (1, 1, 0)').run();
    const log = createLogger('silent');
    const bus = new EventBus();
    const alarms = new Alarms(db, bus, log);
    const clock = { now: new Date('2026-11-25T23:00:00+01:00') };
    let engine: StateEngine | undefined;
    const running = await startOccupancy({
      config: occupancyDefaults({
        doors: [],
        closing_sweep: { enabled: true, output: 'siren', recheck_seconds: 60, mqtt: false },
      }),
      db,
      bus,
      alarms,
      log,
      site: 'branch',
      baseTopic: 'x',
      timezone: 'Europe/Oslo',
      modeOf: () => 'closed',
      arm: { output: 'siren', value: 'on' },
      rearm: () => engine?.evaluate(),
      now: () => clock.now,
      tickMs: 3_600_000,
      recheckMs: 3_600_000,
    });
    cleanups.push(() => running.stop());
    engine = new StateEngine({
      config: statesDefaults({
        sysfs_root: dir.path,
        outputs: [
          {
            id: 'siren',
            gpio: { pin: { chip: 'pinctrl-bcm2711', line: 23 }, active_low: false },
            values: {
              staffless: { value: 'off', offset_minutes: 0 },
              closed: { value: 'on', offset_minutes: 15 },
            },
          },
        ],
      }),
      schedule,
      bus,
      alarms,
      log,
      opener: fileLineOpener(dir.path, { pollMs: 5 }),
      now: () => clock.now,
      tickMs: 3_600_000,
      holdBack: (output, value, state) => running.sweep?.holdsBack(output, value, state) ?? false,
    });
    cleanups.push(() => engine?.stop());
    await engine.start();
    const gpio = 512 + 23;
    // Opened as an output at low (the kernel's `direction` takes the first level with it), not armed.
    expect(sysfs.read(gpio, 'direction')).toBe('low');
    expect(sysfs.read(gpio, 'value')).toBe('0');
    expect(alarms.isActive('occupied_at_close')).toBe(true);
    running.occupancy.passages('front', 'out', 1);
    expect(sysfs.read(gpio, 'value')).toBe('1');
    expect(alarms.isActive('occupied_at_close')).toBe(false);
  });

  it('a webhook that keeps failing raises oncall_failed after its retries and blocks nothing', async () => {
    const r = await rig({ webhookStatus: () => 503 });
    r.at('21:40');
    await r.report(1, 0);
    r.at('22:15');
    expect(r.alarms.isActive('occupied_at_close')).toBe(true);
    await waitFor(() => r.alarms.isActive('oncall_failed', WEBHOOK_SCOPE), 5000, 'oncall_failed');
    expect(r.hook.posts).toHaveLength(3); // the first try and two retries
    expect(r.alarms.list().find((a) => a.code === 'oncall_failed')?.detail).toBe('webhook: HTTP 503');
    await r.report(0, 1);
    expect(r.armed()).toHaveLength(1);
  });
});
