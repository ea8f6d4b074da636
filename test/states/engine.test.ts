import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent, EmergencyKind } from '../../src/contract/events.ts';
import { parseEvent } from '../../src/contract/mqtt-check.ts';
import type { WireEvent } from '../../src/contract/mqtt.ts';
import { fileLineOpener, type LineOpener } from '../../src/door/gpio-line.ts';
import { EventBus } from '../../src/events/bus.ts';
import { MqttLink } from '../../src/events/mqtt-link.ts';
import { createLogger } from '../../src/log/logger.ts';
import { scheduleFromConfig } from '../../src/schedule/planner.ts';
import { type OutputConfig, statesDefaults } from '../../src/states/config.ts';
import { outputScope, StateEngine } from '../../src/states/engine.ts';
import { FakeSysfs, PI4_KERNEL_6_6 } from '../door/fake-sysfs.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { BRANCH, BRANCH_OUTPUTS, local, SITE } from './branch.ts';

const schedule = scheduleFromConfig(BRANCH, SITE);
const LIGHTS_GPIO = 512 + 17; // pinctrl-bcm2711 line 17 on a kernel 6.6 Pi 4
const MINUTE = 60_000;

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

/** The branch's outputs with topics of their own per test, so retained values from one cannot reach another. */
function outputsFor(prefix: string): OutputConfig[] {
  return BRANCH_OUTPUTS.map((o) => (o.mqtt ? { ...o, mqtt: { topic: `${prefix}/${o.mqtt.topic}` } } : o));
}

async function rig(
  startIso: string,
  opts: { wrapOpener?: (inner: LineOpener) => LineOpener; emergency?: { kind: EmergencyKind | null } } = {},
) {
  const prefix = `t${process.pid}-${++seq}`;
  const base = `${prefix}/dorvakt`;
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  const sysfs = new FakeSysfs(dir.path, PI4_KERNEL_6_6).startKernel();
  cleanups.push(() => sysfs.stopKernel());
  const log = createLogger('silent');
  const bus = new EventBus();
  const events: DorvaktEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const alarms = new Alarms(null, bus, log);
  const link = new MqttLink(
    { url: broker.url, baseTopic: base, clientId: `${prefix}-ctl`, protocolVersion: 5 },
    bus,
    alarms,
    log,
  );
  link.start();
  await link.open();
  cleanups.push(() => link.stop());
  const observer: MqttClient = await connectAsync(broker.url, { protocolVersion: 5 });
  cleanups.push(() => observer.endAsync());
  const seen: { topic: string; payload: string }[] = [];
  observer.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  await observer.subscribeAsync(`${prefix}/#`);
  await waitFor(() => link.connected, 5000, 'link connected');
  const clock = { now: new Date(startIso) };
  const engine = new StateEngine({
    config: statesDefaults({ sysfs_root: dir.path, outputs: outputsFor(prefix) }),
    schedule,
    bus,
    alarms,
    log,
    mqtt: link.client,
    opener: (opts.wrapOpener ?? ((inner) => inner))(fileLineOpener(dir.path, { pollMs: 5 })),
    emergency: opts.emergency ? { current: () => opts.emergency!.kind } : undefined,
    now: () => clock.now,
    tickMs: 3_600_000,
  });
  cleanups.push(() => engine.stop());
  await engine.start();
  const set = (at: number) => {
    clock.now = new Date(at);
    engine.evaluate();
  };
  const wire = () =>
    seen
      .filter((m) => m.topic === `${base}/event`)
      .map((m) => {
        const checked = parseEvent(m.payload);
        expect(checked.ok, m.payload).toBe(true);
        return (checked as { value: WireEvent }).value;
      });
  return { prefix, base, sysfs, engine, events, alarms, seen, set, clock, wire };
}

describe('the state engine on a fake clock, real Mosquitto and a fake GPIO tree', () => {
  it('a weekday: the lights line and the retained topics follow the timeline, each at its offset', async () => {
    const r = await rig('2026-11-25T06:50:00+01:00');
    const gpio: string[] = [`${local(r.clock.now.getTime())} ${r.sysfs.read(LIGHTS_GPIO, 'value')}`];
    const end = Date.parse('2026-11-25T22:20:00+01:00');
    for (let at = r.clock.now.getTime() + MINUTE; at <= end; at += MINUTE) {
      r.set(at);
      const value = r.sysfs.read(LIGHTS_GPIO, 'value');
      if (value !== gpio.at(-1)!.split(' ')[1]) gpio.push(`${local(at)} ${value}`);
    }
    expect(gpio).toEqual(['06:50 0', '07:00 1', '22:10 0']);
    expect(
      r.events.filter((e) => e.type === 'state').map((e) => `${local(Date.parse(e.ts))} ${e.state}`),
    ).toEqual([
      '06:50 closed',
      '07:00 staffless',
      '10:00 staffed',
      '16:00 staffless',
      '21:45 closing',
      '22:00 closed',
    ]);
    const outputs = r.events.flatMap((e) =>
      e.type === 'output' ? [`${local(Date.parse(e.ts))} ${e.output}=${e.value}`] : [],
    );
    expect(outputs).toEqual([
      '06:50 lights=off',
      '06:50 alarm=armed',
      '06:50 panel=Stengt',
      '06:55 alarm=disarmed',
      '07:00 lights=on',
      '07:00 panel=Meråpent',
      '10:00 panel=Betjent',
      '16:00 panel=Meråpent',
      '21:45 panel=Stenger snart',
      '22:00 panel=Stengt',
      '22:10 lights=off',
      '22:15 alarm=armed',
    ]);
    // The same on MQTT, as the contract says, and the building's topics hold the last values retained.
    await waitFor(
      () => r.wire().filter((e) => e.type === 'output').length === outputs.length,
      5000,
      'output events',
    );
    expect(r.wire().find((e) => e.type === 'state' && e.state === 'closing')).toMatchObject({
      previous: 'staffless',
      emergency: null,
      next: { state: 'closed', at: '2026-11-25T21:00:00.000Z' },
    });
    const late = await connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => late.endAsync());
    const retained = new Map<string, string>();
    late.on('message', (topic, payload, packet) => {
      if (packet.retain) retained.set(topic.slice(r.prefix.length + 1), payload.toString());
    });
    await late.subscribeAsync(`${r.prefix}/building/#`);
    await waitFor(() => retained.size === 2, 3000, 'retained values');
    expect(Object.fromEntries(retained)).toEqual({
      'building/intruder-alarm/set': 'armed',
      'building/panel/text': 'Stengt',
    });
  });

  /** Steps the clock a minute at a time; returns the lights line's changes (UTC) and the alarm's values. */
  function walk(r: Awaited<ReturnType<typeof rig>>, to: string) {
    const lights: string[] = [];
    const alarm: string[] = [];
    let level = r.sysfs.read(LIGHTS_GPIO, 'value');
    let armed = r.engine.written().alarm;
    for (let at = r.clock.now.getTime() + MINUTE; at <= Date.parse(to); at += MINUTE) {
      r.set(at);
      const now = r.sysfs.read(LIGHTS_GPIO, 'value');
      const stamp = new Date(at).toISOString().slice(0, 16);
      if (now !== level) {
        level = now;
        lights.push(`${stamp} ${level}`);
      }
      if (r.engine.written().alarm !== armed) {
        armed = r.engine.written().alarm;
        alarm.push(`${stamp} ${armed}`);
      }
    }
    return { lights, alarm };
  }

  it('the DST change days: the line and the alarm follow local time, offsets in real minutes', async () => {
    const spring = await rig('2026-03-29T00:00:00+01:00');
    expect(walk(spring, '2026-03-29T23:59:00+02:00')).toEqual({
      lights: ['2026-03-29T05:00 1', '2026-03-29T20:10 0'],
      alarm: ['2026-03-29T04:55 disarmed', '2026-03-29T20:15 armed'],
    });
    const autumn = await rig('2026-10-25T00:00:00+02:00');
    expect(walk(autumn, '2026-10-25T23:59:00+01:00')).toEqual({
      lights: ['2026-10-25T06:00 1', '2026-10-25T21:10 0'],
      alarm: ['2026-10-25T05:55 disarmed', '2026-10-25T21:15 armed'],
    });
  });

  it('Christmas: closed from Christmas Eve evening until Sunday morning, lights off and the alarm armed', async () => {
    const r = await rig('2026-12-24T21:00:00+01:00');
    expect(walk(r, '2026-12-27T08:00:00+01:00')).toEqual({
      lights: ['2026-12-24T21:10 0', '2026-12-27T06:00 1'],
      alarm: ['2026-12-24T21:15 armed', '2026-12-27T05:55 disarmed'],
    });
    expect(r.events.filter((e) => e.type === 'state').map((e) => `${e.ts.slice(0, 16)} ${e.state}`)).toEqual([
      '2026-12-24T20:00 staffless',
      '2026-12-24T20:45 closing',
      '2026-12-24T21:00 closed',
      '2026-12-27T06:00 staffless',
    ]);
  });

  it('emergency: the emergency values at once, and back to the timeline when it ends', async () => {
    const emergency = { kind: null as EmergencyKind | null };
    const r = await rig('2026-11-25T12:00:00+01:00', { emergency });
    expect(r.engine.written()).toEqual({ lights: 'on', alarm: 'disarmed', panel: 'Betjent' });
    emergency.kind = 'nobody';
    r.set(r.clock.now.getTime() + MINUTE);
    expect(r.engine.status()).toMatchObject({ state: 'emergency', emergency: 'nobody', next: null });
    expect(r.engine.written()).toEqual({ lights: 'on', alarm: 'disarmed', panel: 'Stengt: nødmodus' });
    emergency.kind = null;
    r.set(r.clock.now.getTime() + MINUTE);
    expect(r.engine.written().panel).toBe('Betjent');
    const states = r.events.filter((e) => e.type === 'state');
    expect(states.map((e) => [e.state, e.emergency])).toEqual([
      ['staffed', null],
      ['emergency', 'nobody'],
      ['staffed', null],
    ]);
  });

  it('an MQTT output the broker refuses (found later, in the publish callback) is raised and sent again', async () => {
    const bus = new EventBus();
    const log = createLogger('silent');
    const alarms = new Alarms(null, bus, log);
    let refuse = true;
    const sent: string[] = [];
    const client = {
      publish: (_topic: string, payload: string, _opts: unknown, cb: (error?: Error) => void) => {
        sent.push(payload);
        setImmediate(() => cb(refuse ? new Error('not authorised') : undefined));
      },
      on: () => client,
      off: () => client,
    } as unknown as MqttClient;
    const clock = { now: new Date('2026-11-25T12:00:00+01:00') };
    const engine = new StateEngine({
      config: statesDefaults({ outputs: [BRANCH_OUTPUTS[2]!] }),
      schedule,
      bus,
      alarms,
      log,
      mqtt: client,
      now: () => clock.now,
      tickMs: 3_600_000,
    });
    cleanups.push(() => engine.stop());
    await engine.start();
    await waitFor(() => alarms.isActive('output_failed', outputScope('panel')), 2000, 'alarm');
    refuse = false;
    clock.now = new Date(clock.now.getTime() + MINUTE);
    engine.evaluate();
    await waitFor(() => !alarms.isActive('output_failed', outputScope('panel')), 2000, 'cleared');
    expect(sent).toEqual(['Betjent', 'Betjent']);
  });

  it('a failing output raises output_failed naming it, the others are set, and it is retried', async () => {
    let broken = true;
    // The line opens, but every write fails while `broken` (a dead GPIO expander, say).
    const wrapOpener =
      (inner: LineOpener): LineOpener =>
      async (gpio, direction) => {
        const line = await inner(gpio, direction);
        return {
          gpio,
          read: () => line.read(),
          write: (level) => {
            if (broken) throw new Error('EIO: i/o error');
            line.write(level);
          },
          watch: (listener) => line.watch(listener),
          close: () => line.close(),
        };
      };
    const r = await rig('2026-11-25T06:58:00+01:00', { wrapOpener });
    r.set(Date.parse('2026-11-25T07:00:00+01:00'));
    expect(r.alarms.isActive('output_failed', outputScope('lights'))).toBe(true);
    expect(r.alarms.list().find((a) => a.code === 'output_failed')?.detail).toMatch(
      /^lights = (on|off): EIO/,
    );
    expect(r.engine.written()).toMatchObject({ panel: 'Meråpent', alarm: 'disarmed' });
    expect(r.engine.written().lights).not.toBe('on');
    broken = false;
    r.set(Date.parse('2026-11-25T07:01:00+01:00'));
    expect(r.engine.written().lights).toBe('on');
    expect(r.sysfs.read(LIGHTS_GPIO, 'value')).toBe('1');
    expect(r.alarms.isActive('output_failed', outputScope('lights'))).toBe(false);
  });
});
