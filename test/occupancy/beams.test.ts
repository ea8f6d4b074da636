import { afterEach, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { fileLineOpener } from '../../src/door/gpio-line.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { BeamPair } from '../../src/occupancy/beam-pair.ts';
import { occupancyDefaults } from '../../src/occupancy/config.ts';
import { type RunningOccupancy, startOccupancy } from '../../src/occupancy/start.ts';
import { openDb } from '../../src/store/db.ts';
import { FakeSysfs, PI4_KERNEL_6_6 } from '../door/fake-sysfs.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const A = 512 + 5; // outside beam: pinctrl-bcm2711 line 5
const B = 512 + 6; // inside beam: line 6

describe('BeamPair: direction from the order of the beams', () => {
  const walk = (pair: BeamPair, steps: [beam: 'outside' | 'inside', blocked: boolean, at: number][]) =>
    steps.flatMap(([beam, blocked, at]) => pair.edge(beam, blocked, at));

  it('A then B is in, B then A is out; overlapping or with a gap between the beams', () => {
    const pair = new BeamPair(30, 3000);
    expect(
      walk(pair, [
        ['outside', true, 0],
        ['inside', true, 200],
        ['outside', false, 400],
        ['inside', false, 600],
      ]),
    ).toEqual([{ kind: 'passage', direction: 'in', at: 600 }]);
    expect(
      walk(pair, [
        ['inside', true, 1000],
        ['inside', false, 1200],
        ['outside', true, 1500],
        ['outside', false, 1700],
      ]),
    ).toEqual([{ kind: 'passage', direction: 'out', at: 1700 }]);
  });

  it('someone who turns back (the first beam broken is the last cleared) is no passage', () => {
    const pair = new BeamPair(30, 3000);
    expect(
      walk(pair, [
        ['outside', true, 0],
        ['inside', true, 200],
        ['inside', false, 400],
        ['outside', false, 600],
      ]),
    ).toEqual([{ kind: 'abandoned', why: 'turned_back', at: 600 }]);
    // Both clears within the debounce of each other: the order of the breaks decides (a polled pair of lines can
    // read two changes in one turn, in either order).
    expect(
      walk(pair, [
        ['outside', true, 1000],
        ['inside', true, 1200],
        ['inside', false, 1400],
        ['outside', false, 1410],
      ]),
    ).toEqual([{ kind: 'passage', direction: 'in', at: 1410 }]);
  });

  it('chatter within the debounce counts once; a half passage is dropped after the timeout', () => {
    const pair = new BeamPair(30, 3000);
    expect(
      walk(pair, [
        ['outside', true, 0],
        ['outside', false, 5],
        ['outside', true, 10],
        ['inside', true, 200],
        ['outside', false, 300],
        ['inside', false, 500],
        ['inside', true, 510],
        ['inside', false, 515],
      ]),
    ).toEqual([{ kind: 'passage', direction: 'in', at: 500 }]);
    // The chatter after the passage (inside the debounce) begins nothing.
    expect(pair.settle(600)).toEqual([]);
    expect(pair.busy).toBe(false);
    expect(pair.settle(4000)).toEqual([]);
    expect(walk(pair, [['outside', true, 5000]])).toEqual([]);
    expect(pair.settle(8001)).toEqual([{ kind: 'abandoned', why: 'timeout', at: 8001 }]);
    expect(walk(pair, [['outside', false, 8100]])).toEqual([]);
  });
});

describe('beam pair on GPIO (fake sysfs, injected clock)', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  async function rig() {
    const dir = tempDir('occ-beams-');
    cleanups.push(() => dir.cleanup());
    const sysfs = new FakeSysfs(dir.path, PI4_KERNEL_6_6).startKernel();
    cleanups.push(() => sysfs.stopKernel());
    const db = openDb(`${dir.path}/store.sqlite`);
    cleanups.push(() => db.close());
    const log = createLogger('silent');
    const bus = new EventBus();
    const events: DorvaktEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const alarms = new Alarms(db, bus, log);
    const clock = { now: new Date('2026-11-25T20:00:00+01:00') };
    const seen: string[] = [];
    const running: RunningOccupancy = await startOccupancy({
      config: occupancyDefaults({
        sysfs_root: dir.path,
        doors: [
          {
            door: 'main',
            beams: {
              // The outside beam's receiver pulls low when broken.
              outside: { pin: { chip: 'pinctrl-bcm2711', line: 5 }, active_low: true },
              inside: { pin: { chip: 'pinctrl-bcm2711', line: 6 }, active_low: false },
              debounce_ms: 30,
              timeout_ms: 3000,
            },
          },
        ],
      }),
      db,
      bus,
      alarms,
      log,
      site: 'branch',
      baseTopic: 'x/dorvakt',
      timezone: 'Europe/Oslo',
      modeOf: () => 'staffless',
      opener: fileLineOpener(dir.path, { pollMs: 2 }),
      onEdge: (_door, beam, blocked) => seen.push(`${beam}:${blocked}`),
      now: () => clock.now,
      tickMs: 3_600_000,
    });
    cleanups.push(() => running.stop());
    // Both beams clear (A is active-low).
    sysfs.setLevel(A, 1);
    await waitFor(() => seen.includes('outside:false') || seen.length === 0, 2000, 'A idle');
    /** Sets a beam, moves the clock on, and waits until the input has read it. */
    const beam = async (which: 'outside' | 'inside', blocked: boolean, afterMs: number) => {
      clock.now = new Date(clock.now.getTime() + afterMs);
      const before = seen.length;
      const gpio = which === 'outside' ? A : B;
      sysfs.setLevel(gpio, (which === 'outside' ? !blocked : blocked) ? 1 : 0);
      await waitFor(() => seen.slice(before).includes(`${which}:${blocked}`), 2000, `${which} ${blocked}`);
    };
    const walkIn = async () => {
      await beam('outside', true, 1000);
      await beam('inside', true, 200);
      await beam('outside', false, 200);
      await beam('inside', false, 200);
    };
    const walkOut = async () => {
      await beam('inside', true, 1000);
      await beam('outside', true, 200);
      await beam('inside', false, 200);
      await beam('outside', false, 200);
    };
    const occ = () => events.filter((e) => e.type === 'occupancy');
    return { db, bus, alarms, events, running, clock, beam, walkIn, walkOut, occ };
  }

  it('counts in and out with the right direction, keeps inside-now ≥ 0 and stores passages per hour', async () => {
    const r = await rig();
    await r.walkIn();
    await r.walkIn();
    await r.walkOut();
    await r.walkOut();
    await r.walkOut(); // one more out than in (the counter drifted): inside stays at 0
    expect(r.occ().map((e) => e.type === 'occupancy' && `${e.direction}:${e.inside}`)).toEqual([
      'in:1',
      'in:2',
      'out:1',
      'out:0',
      'out:0',
    ]);
    expect(r.running.occupancy.insideNow()).toBe(0);
    // Written together (one synced commit), not one commit per person.
    expect(r.db.prepare('SELECT COUNT(*) AS n FROM passages_hourly').get()).toEqual({ n: 0 });
    r.running.occupancy.flush();
    const rows = r.db
      .prepare('SELECT day, hour, door, mode, passages_in, passages_out FROM passages_hourly')
      .all();
    expect(rows).toEqual([
      { day: '2026-11-25', hour: 20, door: 'main', mode: 'staffless', passages_in: 2, passages_out: 3 },
    ]);
  });

  it('a passage begun and abandoned (timeout) is not counted; a person turning back neither', async () => {
    const r = await rig();
    await r.beam('outside', true, 1000);
    await r.beam('outside', false, 200);
    r.clock.now = new Date(r.clock.now.getTime() + 5000);
    r.running.beams.get('main')!.settle();
    // Turning back: A, B, then B cleared before A.
    await r.beam('outside', true, 1000);
    await r.beam('inside', true, 200);
    await r.beam('inside', false, 200);
    await r.beam('outside', false, 200);
    await r.walkIn();
    expect(r.occ().map((e) => e.type === 'occupancy' && `${e.direction}:${e.inside}`)).toEqual(['in:1']);
  });

  it('two people in on one grant raise tailgating (no identity) and count it in the hour', async () => {
    const r = await rig();
    const door = (locked: boolean, open: boolean) =>
      r.bus.publish({
        type: 'door',
        door: 'main',
        locked,
        open,
        mode: 'staffless',
        held: false,
        fire: false,
        ts: r.clock.now.toISOString(),
      });
    const grant = () =>
      r.bus.publish({
        type: 'entry',
        door: 'main',
        outcome: 'granted',
        reason: 'allow',
        mode: 'staffless',
        entryId: 1,
        ts: r.clock.now.toISOString(),
      });
    // One card, one person: no alarm.
    door(false, false);
    grant();
    door(false, true);
    await r.walkIn();
    door(true, true);
    door(true, false);
    expect(r.alarms.unresolved().filter((a) => a.code === 'tailgating')).toEqual([]);
    // One card, two people (the second walks in before the door has shut after the relock).
    grant();
    door(false, false);
    door(false, true);
    await r.walkIn();
    door(true, true);
    await r.walkIn();
    door(true, false);
    const tail = r.alarms.unresolved().filter((a) => a.code === 'tailgating');
    expect(tail).toHaveLength(1);
    expect(tail[0]).toMatchObject({ door: 'main', detail: '2 in, 1 granted' });
    const raised = r.events.find((e) => e.type === 'alarm' && e.alarm === 'tailgating');
    expect(JSON.stringify(raised)).not.toMatch(/entryId|card|hash/);
    r.running.occupancy.flush();
    expect(
      r.db.prepare('SELECT SUM(tailgating) AS t, SUM(passages_in) AS i FROM passages_hourly').get(),
    ).toEqual({ t: 1, i: 3 });
    // Held unlocked (staffed hours): anyone may walk in, so no tailgating.
    r.bus.publish({
      type: 'door',
      door: 'main',
      locked: false,
      open: true,
      mode: 'staffed',
      held: true,
      fire: false,
      ts: r.clock.now.toISOString(),
    });
    await r.walkIn();
    await r.walkIn();
    door(true, false);
    expect(r.alarms.unresolved().filter((a) => a.code === 'tailgating')).toHaveLength(1);
  });
});
