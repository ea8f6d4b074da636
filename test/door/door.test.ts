import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent, ScheduleState } from '../../src/contract/events.ts';
import { type DoorHardwareConfig, doorHardwareDefaults } from '../../src/door/config.ts';
import { Door } from '../../src/door/door.ts';
import type { DoorDriver } from '../../src/door/driver.ts';
import { createGpioDriver } from '../../src/door/gpio-driver.ts';
import { fileLineOpener } from '../../src/door/gpio-line.ts';
import { SimDoorDriver, type SimDoorOptions } from '../../src/door/sim-driver.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeSysfs, PI4_KERNEL_6_6 } from './fake-sysfs.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const HARDWARE = doorHardwareDefaults({
  pulse_ms: 3000,
  held_open_seconds: 30,
  forced_grace_ms: 1500,
  denied_light_ms: 2000,
  contact: { pin: 22, active_low: false, debounce_ms: 30 },
  fire: { pin: 23, active_low: false, debounce_ms: 30 },
});

interface Rig {
  door: Door;
  sim: SimDoorDriver;
  alarms: Alarms;
  db: Db;
  events: DorvaktEvent[];
  logLines: string[];
  setMode: (mode: ScheduleState) => void;
  breakMode: (error: Error | null) => void;
}

function rig(
  options: {
    hardware?: Partial<DoorHardwareConfig>;
    driver?: DoorDriver;
    sim?: SimDoorOptions;
    start?: boolean;
  } = {},
): Rig {
  const dir = tempDir('dorvakt-door-');
  const db = openDb(join(dir.path, 'store.db'));
  const bus = new EventBus();
  const logLines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void logLines.push(line) });
  const alarms = new Alarms(db, bus, log);
  const events: DorvaktEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const sim = new SimDoorDriver({ patronOnGrant: false, ...options.sim });
  let mode: ScheduleState = 'staffless';
  let modeError: Error | null = null;
  const door = new Door({
    id: 'main',
    driver: options.driver ?? sim,
    hardware: { ...HARDWARE, ...options.hardware },
    alarms,
    bus,
    log,
    mode: () => {
      if (modeError) throw modeError;
      return mode;
    },
    relayRetryMs: 500,
  });
  cleanups.push(() => {
    door.close();
    sim.close();
    db.close();
    dir.cleanup();
  });
  if (options.start !== false) door.start();
  const setMode = (m: ScheduleState) => {
    mode = m;
  };
  const breakMode = (error: Error | null) => {
    modeError = error;
  };
  return { door, sim, alarms, db, events, logLines, setMode, breakMode };
}

const alarmRows = (db: Db, code: string) =>
  db
    .prepare('SELECT door, detail, raised_at AS raisedAt, cleared_at AS clearedAt FROM alarms WHERE code = ?')
    .all(code) as {
    door: string;
    detail: string | null;
    raisedAt: number;
    clearedAt: number | null;
  }[];

const doorEvents = (events: DorvaktEvent[]) =>
  events.filter((e): e is Extract<DorvaktEvent, { type: 'door' }> => e.type === 'door');

describe('Door (simulated hardware, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('locks at start and publishes its first state', () => {
    const { sim, door, events } = rig();
    expect(sim.relayWrites).toEqual([false]);
    expect(door.state()).toEqual({
      locked: true,
      open: false,
      held: false,
      heldReason: null,
      fireActive: false,
      relayFault: false,
    });
    expect(doorEvents(events)).toEqual([
      {
        type: 'door',
        door: 'main',
        locked: true,
        open: false,
        mode: 'staffless',
        held: false,
        fire: false,
        ts: expect.any(String),
      },
    ]);
  });

  it('a pulse unlocks, then locks again after pulse_ms, with the granted light on meanwhile', async () => {
    const { sim, door, events } = rig();
    await door.grant();
    expect(sim.relayUnlocked).toBe(true);
    expect(sim.outputs.light_granted).toBe(true);
    expect(door.state().locked).toBe(false);
    vi.advanceTimersByTime(2999);
    expect(sim.relayUnlocked).toBe(true);
    vi.advanceTimersByTime(1);
    expect(sim.relayUnlocked).toBe(false);
    expect(sim.outputs.light_granted).toBe(false);
    expect(door.state().locked).toBe(true);
    expect(sim.relayWrites).toEqual([false, true, false]);
    expect(doorEvents(events).map((e) => e.locked)).toEqual([true, false, true]);
  });

  it('a grant during a pulse extends it instead of relocking early', async () => {
    const { sim, door } = rig();
    await door.grant();
    vi.advanceTimersByTime(2000);
    await door.grant();
    vi.advanceTimersByTime(2000);
    expect(sim.relayUnlocked).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(sim.relayUnlocked).toBe(false);
    expect(sim.relayWrites).toEqual([false, true, false]);
  });

  it('reports the hrtime of each relay write to onRelayWrite', async () => {
    const { door } = rig();
    const writes: [bigint, boolean][] = [];
    door.onRelayWrite((at, unlocked) => writes.push([at, unlocked]));
    const before = process.hrtime.bigint();
    await door.pulse();
    vi.advanceTimersByTime(3000);
    expect(writes.map(([, u]) => u)).toEqual([true, false]);
    expect(typeof writes[0]![0]).toBe('bigint');
    expect(writes[0]![0] >= before).toBe(true);
  });

  it('deny lights the denied light for denied_light_ms and leaves the relay alone', () => {
    const { sim, door } = rig();
    door.deny();
    expect(sim.outputs.light_denied).toBe(true);
    vi.advanceTimersByTime(2000);
    expect(sim.outputs.light_denied).toBe(false);
    expect(sim.relayWrites).toEqual([false]);
  });

  it('a bouncing contact does not raise door_forced; a contact that stays open does', () => {
    const { sim, door, alarms, events } = rig();
    // 100 ms of chatter, each state held under the 30 ms debounce, ending closed.
    for (let i = 0; i < 10; i++) {
      sim.setContact(i % 2 === 0);
      vi.advanceTimersByTime(10);
    }
    expect(sim.contactOpen).toBe(false);
    vi.advanceTimersByTime(100);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    expect(door.state().open).toBe(false);
    expect(doorEvents(events).some((e) => e.open)).toBe(false);

    sim.setContact(true);
    vi.advanceTimersByTime(29);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(alarms.isActive('door_forced', 'main')).toBe(true);
    expect(door.state().open).toBe(true);
  });

  it('door_forced: raised when opened while locked, cleared on close, the stored row kept', () => {
    const { sim, alarms, db, events } = rig();
    sim.setContact(true);
    vi.advanceTimersByTime(30);
    expect(alarms.isActive('door_forced', 'main')).toBe(true);
    sim.setContact(false);
    vi.advanceTimersByTime(30);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    const rows = alarmRows(db, 'door_forced');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ door: 'main', detail: 'opened while locked' });
    expect(rows[0]!.clearedAt).not.toBeNull();
    expect(events.filter((e) => e.type === 'alarm').map((e) => e.type === 'alarm' && e.state)).toEqual([
      'raised',
      'cleared',
    ]);
  });

  it('no door_forced when opened during a pulse or within the grace after it; forced after the grace', async () => {
    const { sim, door, alarms } = rig();
    await door.grant();
    vi.advanceTimersByTime(500);
    sim.setContact(true);
    vi.advanceTimersByTime(1000);
    sim.setContact(false);
    vi.advanceTimersByTime(3000); // pulse over
    expect(alarms.isActive('door_forced', 'main')).toBe(false);

    await door.grant();
    vi.advanceTimersByTime(3000 + 1000); // relocked 1 s ago: a late pull, not force
    sim.setContact(true);
    vi.advanceTimersByTime(30);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    sim.setContact(false);
    vi.advanceTimersByTime(30);

    vi.advanceTimersByTime(2000);
    sim.setContact(true);
    vi.advanceTimersByTime(30);
    expect(alarms.isActive('door_forced', 'main')).toBe(true);
  });

  it('door_held_open after held_open_seconds, cleared when it closes', async () => {
    const { sim, door, alarms, db } = rig();
    await door.grant();
    sim.setContact(true);
    vi.advanceTimersByTime(30 + 29_999);
    expect(alarms.isActive('door_held_open', 'main')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(alarms.isActive('door_held_open', 'main')).toBe(true);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    sim.setContact(false);
    vi.advanceTimersByTime(30);
    expect(alarms.isActive('door_held_open', 'main')).toBe(false);
    expect(alarmRows(db, 'door_held_open')).toEqual([
      expect.objectContaining({
        door: 'main',
        detail: 'open longer than 30 s',
        clearedAt: expect.any(Number),
      }),
    ]);
  });

  it('an open door that closes in time raises nothing', async () => {
    const { sim, door, alarms } = rig();
    await door.grant();
    sim.setContact(true);
    vi.advanceTimersByTime(20_000);
    sim.setContact(false);
    vi.advanceTimersByTime(60_000);
    expect(alarms.list()).toEqual([]);
  });

  it('fire unlocks at once, stays unlocked through a pulse ending, relocks after release', async () => {
    const { sim, door, alarms, logLines } = rig();
    sim.setFire(true);
    vi.advanceTimersByTime(30);
    expect(sim.relayUnlocked).toBe(true);
    expect(alarms.isActive('fire_active', 'main')).toBe(true);
    expect(door.state()).toMatchObject({ locked: false, held: true, fireActive: true });
    expect(logLines.some((l) => l.includes('fire input active'))).toBe(true);

    await door.grant();
    vi.advanceTimersByTime(3000);
    expect(sim.relayUnlocked).toBe(true);

    // Open for minutes during the evacuation: not held open, not forced.
    sim.setContact(true);
    vi.advanceTimersByTime(120_000);
    expect(alarms.isActive('door_held_open', 'main')).toBe(false);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    sim.setContact(false);

    sim.setFire(false);
    vi.advanceTimersByTime(30);
    expect(sim.relayUnlocked).toBe(false);
    expect(alarms.isActive('fire_active', 'main')).toBe(false);
    expect(door.state()).toMatchObject({ locked: true, held: false, fireActive: false });
  });

  it('a fire input active at start unlocks before anything else', () => {
    const { sim, door, alarms } = rig({ start: false });
    sim.fireActive = true;
    door.start();
    expect(sim.relayWrites).toEqual([true]);
    expect(alarms.isActive('fire_active', 'main')).toBe(true);
  });

  it('fire released during a manual hold keeps the door unlocked, and the door event says fire ended', () => {
    const { sim, door, events } = rig();
    sim.setFire(true);
    vi.advanceTimersByTime(30);
    door.setHeldUnlocked('manual');
    expect(doorEvents(events).at(-1)).toMatchObject({ held: true, fire: true });
    sim.setFire(false);
    vi.advanceTimersByTime(30);
    expect(sim.relayUnlocked).toBe(true);
    // Only fire changed (still held, still unlocked): consumers learn it from a door event of its own.
    expect(doorEvents(events).at(-1)).toMatchObject({ held: true, fire: false, locked: false });
    door.setHeldUnlocked(null);
    expect(sim.relayUnlocked).toBe(false);
  });

  it('holds: staffed/manual keep it unlocked through pulses, no held-open alarm, relock on release', async () => {
    const { sim, door, alarms, events } = rig();
    door.setHeldUnlocked('staffed');
    expect(sim.relayUnlocked).toBe(true);
    expect(door.state()).toMatchObject({ held: true, heldReason: 'staffed', locked: false });
    expect(alarms.isActive('manual_unlock', 'main')).toBe(false);
    await door.grant();
    vi.advanceTimersByTime(3000);
    expect(sim.relayUnlocked).toBe(true);
    sim.setContact(true);
    vi.advanceTimersByTime(120_000);
    expect(alarms.isActive('door_held_open', 'main')).toBe(false);

    door.setHeldUnlocked('manual');
    expect(door.state()).toMatchObject({ held: true, heldReason: 'manual', locked: false });
    // A staff unlock is audited where it is asked for; it raises no alarm someone must acknowledge.
    expect(alarms.list()).toEqual([]);
    door.setHeldUnlocked(null);
    expect(sim.relayUnlocked).toBe(false);
    // Still open after the hold ended: the held-open clock starts now.
    vi.advanceTimersByTime(29_999);
    expect(alarms.isActive('door_held_open', 'main')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(alarms.isActive('door_held_open', 'main')).toBe(true);
    expect(doorEvents(events).at(-1)).toMatchObject({ locked: true, open: true, held: false });
  });

  it('a failing relay write is logged, raised as relay_fault, and retried until it locks', async () => {
    const { sim, door, alarms, logLines } = rig();
    await door.grant();
    sim.relayFault = new Error('EIO: i/o error, write');
    vi.advanceTimersByTime(3000);
    expect(door.state()).toMatchObject({ locked: false, relayFault: true });
    expect(alarms.isActive('relay_fault', 'main')).toBe(true);
    expect(logLines.filter((l) => l.includes('relay write failed')).length).toBe(1);
    vi.advanceTimersByTime(5000); // ten more failed attempts, logged quietly
    expect(logLines.filter((l) => l.includes('relay write failed')).length).toBe(1);
    expect(sim.relayUnlocked).toBe(true);

    sim.relayFault = null;
    vi.advanceTimersByTime(500);
    expect(sim.relayUnlocked).toBe(false);
    expect(door.state()).toMatchObject({ locked: true, relayFault: false });
    expect(alarms.isActive('relay_fault', 'main')).toBe(false);
  });

  it('a relay that fails to unlock for a grant still ends locked, not unlocked later', async () => {
    const { sim, door } = rig();
    sim.relayFault = new Error('EIO');
    await door.grant();
    vi.advanceTimersByTime(3000); // pulse window over while failing
    sim.relayFault = null;
    vi.advanceTimersByTime(500);
    expect(sim.relayWrites).toEqual([false, false]);
    expect(door.state().locked).toBe(true);
  });

  it('a throwing relay-write hook does not disturb the door', async () => {
    const { sim, door } = rig();
    door.onRelayWrite(() => {
      throw new Error('bench bug');
    });
    await door.pulse();
    vi.advanceTimersByTime(3000);
    expect(sim.relayWrites).toEqual([false, true, false]);
  });

  it('door events carry the schedule mode; refresh publishes a mode change', () => {
    const { door, events, setMode } = rig();
    setMode('closed');
    door.refresh();
    door.refresh();
    expect(doorEvents(events).map((e) => e.mode)).toEqual(['staffless', 'closed']);
  });

  it('a throwing mode getter neither stops the relock nor escapes the timer', async () => {
    const { sim, door, breakMode, logLines } = rig();
    await door.pulse();
    breakMode(new Error('schedule bug'));
    vi.advanceTimersByTime(3000);
    expect(sim.relayUnlocked).toBe(false);
    expect(logLines.some((l) => l.includes('schedule mode unavailable'))).toBe(true);
  });

  it('start settles alarms left from the last run against the inputs', () => {
    const dir = tempDir('dorvakt-door-');
    cleanups.push(dir.cleanup);
    const path = join(dir.path, 'store.db');
    const log = createLogger('silent');
    const db1 = openDb(path);
    const before = new Alarms(db1, new EventBus(), log);
    before.raise('door_forced', 'main', 'opened while locked');
    before.raise('fire_active', 'main');
    db1.close();

    const db = openDb(path);
    cleanups.push(() => db.close());
    const alarms = new Alarms(db, new EventBus(), log);
    expect(alarms.isActive('door_forced', 'main')).toBe(true);
    const sim = new SimDoorDriver({ patronOnGrant: false });
    const door = new Door({
      id: 'main',
      driver: sim,
      hardware: HARDWARE,
      alarms,
      bus: new EventBus(),
      log,
      mode: () => 'closed',
    });
    cleanups.push(() => door.close());
    door.start();
    expect(alarms.list()).toEqual([]);
  });

  it('close locks the relay and stops its timers', async () => {
    const { sim, door } = rig();
    door.setHeldUnlocked('staffed');
    await door.grant();
    door.close();
    expect(sim.relayUnlocked).toBe(false);
    expect(sim.outputs.light_granted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after close a grant, a deny or a hold changes nothing: no relay write, no light, no event, no timer', async () => {
    const { sim, door, events } = rig();
    door.close();
    const writes = [...sim.relayWrites];
    const published = events.length;
    await door.grant();
    door.deny();
    door.setHeldUnlocked('manual');
    expect(sim.relayWrites).toEqual(writes);
    expect(sim.outputs).toEqual({ light_granted: false, light_denied: false });
    expect(events).toHaveLength(published);
    expect(vi.getTimerCount()).toBe(0);
    // A second close writes nothing either.
    door.close();
    expect(sim.relayWrites).toEqual(writes);
  });

  it('close cancels a contact change still inside its debounce, and puts out a denied light', () => {
    const { sim, door, alarms } = rig();
    door.deny();
    sim.setContact(true);
    door.close();
    expect(sim.outputs.light_denied).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
  });

  it('debounce_ms 0 passes a contact change on at once', () => {
    const { sim, door, alarms } = rig({
      hardware: { contact: { pin: 22, active_low: false, debounce_ms: 0 } },
    });
    sim.setContact(true);
    expect(door.state().open).toBe(true);
    expect(alarms.isActive('door_forced', 'main')).toBe(true);
  });

  it('opened exactly forced_grace_ms after the relock is a late pull, not force', async () => {
    const { sim, door, alarms } = rig();
    await door.grant();
    vi.advanceTimersByTime(3000); // relocked now
    vi.advanceTimersByTime(1500 - 30);
    sim.setContact(true);
    vi.advanceTimersByTime(30); // the contact settles exactly forced_grace_ms after the relock
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
  });

  it('a door open at start keeps a stored door_forced; the relay_fault detail says what failed, logged again every 20th failure', async () => {
    const { sim, door, alarms, db, logLines } = rig({ start: false });
    alarms.raise('door_forced', 'main', 'opened while locked');
    sim.contactOpen = true;
    door.start();
    expect(alarms.isActive('door_forced', 'main')).toBe(true);

    sim.relayFault = new Error('EIO');
    await door.grant(); // failure 1
    expect(alarmRows(db, 'relay_fault')[0]!.detail).toBe('could not unlock: EIO');
    vi.advanceTimersByTime(19 * 500); // failures 2–20 (the pulse ends meanwhile: it now wants locked)
    expect(logLines.filter((l) => l.includes('relay write failed')).length).toBe(2);
  });

  it('a relay_fault stored by the last run is cleared by a start whose relay write works, and kept when it fails', () => {
    const working = rig({ start: false });
    working.alarms.raise('relay_fault', 'main', 'could not lock: EIO');
    working.door.start();
    expect(working.alarms.isActive('relay_fault', 'main')).toBe(false);

    const failing = rig({ start: false });
    failing.alarms.raise('relay_fault', 'main', 'could not lock: EIO');
    failing.sim.relayFault = new Error('EIO');
    failing.door.start();
    expect(failing.alarms.isActive('relay_fault', 'main')).toBe(true);
  });

  it('a door opened during a pulse and left open may bounce after the grace without counting as forced', async () => {
    const { sim, door, alarms } = rig();
    await door.grant();
    sim.setContact(true);
    vi.advanceTimersByTime(3000 + 1500 + 1000); // relocked, grace over, still open
    sim.setContact(false);
    vi.advanceTimersByTime(10);
    sim.setContact(true); // back to open inside the debounce: no change at all
    vi.advanceTimersByTime(100);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
  });

  it('an unsubscribed relay-write hook is called no more', async () => {
    const { door } = rig();
    const writes: boolean[] = [];
    const off = door.onRelayWrite((_at, unlocked) => writes.push(unlocked));
    await door.pulse();
    off();
    vi.advanceTimersByTime(3000);
    expect(writes).toEqual([true]);
  });

  it('the simulated patron walks through a grant without raising anything; simulateForce raises forced', async () => {
    const { sim, door, alarms } = rig({ sim: { patronOnGrant: true, openAfterMs: 300, closeAfterMs: 2000 } });
    await door.grant();
    vi.advanceTimersByTime(330);
    expect(door.state().open).toBe(true);
    vi.advanceTimersByTime(2000);
    expect(door.state().open).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(alarms.list()).toEqual([]);
    sim.simulateForce();
    vi.advanceTimersByTime(30);
    expect(alarms.isActive('door_forced', 'main')).toBe(true);
    vi.advanceTimersByTime(2000);
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
  });
});

describe('Door on GPIO lines (fake sysfs tree, real timers)', () => {
  it('an active-low relay gets inverted levels: high while locked, low while unlocked', async () => {
    const dir = tempDir('dorvakt-door-sysfs-');
    const fake = new FakeSysfs(dir.path, PI4_KERNEL_6_6).startKernel();
    cleanups.push(dir.cleanup, () => fake.stopKernel());
    const hardware = doorHardwareDefaults({
      driver: 'gpio',
      sysfs_root: fake.root,
      pulse_ms: 150,
      forced_grace_ms: 0,
      relay: { pin: { chip: 'pinctrl-bcm2711', line: 17 }, active_low: true },
      contact: { pin: { chip: 'pinctrl-bcm2711', line: 27 }, active_low: false, debounce_ms: 10 },
    });
    const driver = await createGpioDriver(hardware, { opener: fileLineOpener(fake.root, { pollMs: 5 }) });
    const { door, alarms } = rig({ driver, hardware });
    cleanups.push(() => driver.close());
    expect(fake.read(529, 'value')).toBe('1');
    const unlockedAt: bigint[] = [];
    door.onRelayWrite((at, unlocked) => unlocked && unlockedAt.push(at));
    await door.grant();
    expect(fake.read(529, 'value')).toBe('0');
    expect(unlockedAt).toHaveLength(1);
    await waitFor(() => fake.read(529, 'value') === '1', 3000, 'relock');
    expect(door.state().locked).toBe(true);

    // The contact on the real line path: open while locked is forced.
    fake.setLevel(539, 1);
    await waitFor(() => alarms.isActive('door_forced', 'main'), 3000, 'forced alarm');
    fake.setLevel(539, 0);
    await waitFor(() => !alarms.isActive('door_forced', 'main'), 3000, 'forced cleared');
  });
});
