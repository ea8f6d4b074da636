import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/contract/mqtt-check.ts';
import { bookmarkSchema, counterSchema, onCallSchema } from '../../src/contract/occupancy.ts';
import { occupancyDefaults } from '../../src/occupancy/config.ts';
import type { CounterRejectWhy } from '../../src/occupancy/mqtt-counter.ts';
import { startOccupancy } from '../../src/occupancy/start.ts';
import { type Broker, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { controllerRig } from './controller-rig.ts';

let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker.stop());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
async function rig(options: { bookmark?: boolean } = {}) {
  const prefix = `occ${process.pid}-${++seq}`;
  const dir = tempDir('occ-mqtt-');
  cleanups.push(() => dir.cleanup());
  const {
    base,
    db,
    log,
    bus,
    events,
    alarms,
    link,
    observer: counter,
    seen,
  } = await controllerRig({
    brokerUrl: broker.url,
    prefix,
    dir: dir.path,
    cleanups,
    observe: `${prefix}/dorvakt/#`,
  });
  const rejected: CounterRejectWhy[] = [];
  const clock = { now: new Date('2026-11-25T18:30:00+01:00') };
  const running = await startOccupancy({
    config: occupancyDefaults({
      doors: [{ door: 'front', mqtt: {} }],
      tailgating: { enabled: true, bookmark: options.bookmark ?? false },
    }),
    db,
    bus,
    alarms,
    log,
    site: 'branch',
    baseTopic: base,
    timezone: 'Europe/Oslo',
    modeOf: () => 'staffless',
    mqtt: link.client,
    onRejected: (_door, why) => rejected.push(why),
    now: () => clock.now,
    tickMs: 3_600_000,
  });
  cleanups.push(() => running.stop());
  // Subscribed once a message on the topic arrives: send a no-op report first and wait for its effect.
  const topic = `${base}/counter/front`;
  await waitFor(
    async () => {
      await counter.publishAsync(topic, '{"in":0,"out":0,"id":"probe"}', { qos: 1 });
      return running.counters!.rejected.duplicate > 0;
    },
    5000,
    'counter subscribed',
  );
  rejected.length = 0;
  running.counters!.rejected.duplicate = 0;
  const occupancyEvents = () => events.filter((e) => e.type === 'occupancy');
  /** Publishes and waits for the controller to act on it (an occupancy event or a refusal). */
  const report = async (payload: string) => {
    const before = occupancyEvents().length + rejected.length;
    await counter.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => occupancyEvents().length + rejected.length > before, 5000, `acted on ${payload}`);
  };
  return { base, db, bus, alarms, events, running, counter, seen, rejected, report, occupancyEvents, clock };
}

describe('a people counter over MQTT (real Mosquitto)', () => {
  it('counts passages in and out, publishes occupancy events on <base>/event, and stores them per hour', async () => {
    const r = await rig();
    await r.report('{"in":3,"out":0}');
    await r.report('{"in":0,"out":1,"id":"m-2"}');
    await r.report('{"in":2,"out":5,"ts":"2026-11-25T17:35:00.000Z","id":"m-3"}');
    expect(r.running.occupancy.insideNow()).toBe(0);
    expect(r.occupancyEvents().map((e) => e.type === 'occupancy' && `${e.direction}:${e.inside}`)).toEqual([
      'in:3',
      'out:2',
      'in:4',
      'out:0',
    ]);
    r.running.occupancy.flush();
    expect(
      r.db.prepare('SELECT hour, passages_in AS i, passages_out AS o FROM passages_hourly').all(),
    ).toEqual([{ hour: 18, i: 5, o: 6 }]);
    await waitFor(
      () =>
        r.seen.filter((m) => m.topic === `${r.base}/event` && m.payload.includes('"occupancy"')).length === 4,
      5000,
      'events on MQTT',
    );
    for (const m of r.seen.filter((m) => m.topic === `${r.base}/event` && m.payload.includes('"occupancy"')))
      expect(parseEvent(m.payload).ok, m.payload).toBe(true);
  });

  it('refuses bad reports without changing anything, and counts each refusal by why', async () => {
    const r = await rig();
    await r.report('{"in":1,"out":0,"id":"a"}');
    await r.report('not json');
    await r.report('{"in":-1,"out":0}');
    await r.report('{"in":1,"out":0,"card":"12345"}');
    await r.report('{"in":1001,"out":0}');
    await r.report(JSON.stringify({ in: 1, out: 0, pad: 'x'.repeat(2000) }));
    await r.report('{"in":1,"out":0,"id":"a"}');
    expect(r.rejected).toEqual(['not_json', 'schema', 'schema', 'schema', 'too_large', 'duplicate']);
    expect(r.running.occupancy.insideNow()).toBe(1);
    r.running.occupancy.flush();
    expect(r.db.prepare('SELECT SUM(passages_in) AS i FROM passages_hourly').get()).toEqual({ i: 1 });
  });

  it('tailgating publishes a camera bookmark request (door and times only)', async () => {
    const r = await rig({ bookmark: true });
    const door = (locked: boolean, open: boolean) =>
      r.bus.publish({
        type: 'door',
        door: 'front',
        locked,
        open,
        mode: 'staffless',
        held: false,
        fire: false,
        ts: r.clock.now.toISOString(),
      });
    door(false, false);
    r.bus.publish({
      type: 'entry',
      door: 'front',
      outcome: 'granted',
      reason: 'allow',
      mode: 'staffless',
      entryId: 7,
      ts: r.clock.now.toISOString(),
    });
    door(false, true);
    await r.report('{"in":2,"out":0}');
    r.clock.now = new Date(r.clock.now.getTime() + 8000);
    door(true, false);
    await waitFor(() => r.seen.some((m) => m.topic === `${r.base}/camera/bookmark`), 5000, 'bookmark');
    const bookmark = JSON.parse(r.seen.find((m) => m.topic === `${r.base}/camera/bookmark`)!.payload);
    expect(bookmark).toEqual({
      v: 2,
      door: 'front',
      at: '2026-11-25T17:30:08.000Z',
      from: '2026-11-25T17:30:00.000Z',
      reason: 'tailgating',
      ts: '2026-11-25T17:30:08.000Z',
    });
    expect(r.alarms.unresolved().map((a) => a.code)).toEqual(['tailgating']);
  });

  it('the schema files in docs/mqtt-schemas equal the code', () => {
    for (const [file, schema] of [
      ['v2-counter', counterSchema],
      ['v2-oncall', onCallSchema],
      ['v2-bookmark', bookmarkSchema],
    ] as const) {
      const text = readFileSync(
        new URL(`../../docs/mqtt-schemas/${file}.schema.json`, import.meta.url),
        'utf8',
      );
      expect(JSON.parse(text), file).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });
});
