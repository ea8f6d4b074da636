import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CompiledSchedules } from '../../src/schedule/compiled-schedules.ts';
import type { compilePlans } from '../../src/schedule/compiler.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import type { SiteSettings } from '../../src/schedule/day-plan.ts';
import { type DoorPlans, planKey, SavedPlans, savedPlansFor } from '../../src/schedule/saved-plans.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { DeferredWrites } from '../../src/store/deferred-writes.ts';
import { tempDir } from '../helpers/tmp.ts';
import { compileOnce } from './compile-once.ts';

const OSLO: SiteSettings = { timezone: 'Europe/Oslo', country: 'NO' };
const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [{ date: '2026-12-24', staffless: '07:00-13:00' }],
};
// A Wednesday noon in Oslo: staffed under LIBRARY.
const NOW = Date.parse('2026-11-25T12:00:00+01:00');

// The real compiler, one child per distinct request in this file (the same request gets the same plans).
const realCompile = compileOnce();

/** A compiler that answers only when the test says so, counting its calls. */
function heldCompiler() {
  const calls: Parameters<typeof compilePlans>[0][] = [];
  const waiting: (() => void)[] = [];
  const compile: typeof compilePlans = (request, timeoutMs) => {
    calls.push(request);
    return new Promise((resolve, reject) => {
      waiting.push(() => realCompile(request, timeoutMs).then(resolve, reject));
    });
  };
  return {
    compile,
    calls,
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
  };
}

// The plans come from the real compiler (a child process through tsx), asked once per distinct request.
describe('saved schedule plans', { timeout: 60_000 }, () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  function store(): Db {
    const dir = tempDir('dorvakt-saved-plans-');
    const db = openDb(join(dir.path, 'store.sqlite'));
    cleanups.push(() => {
      db.close();
      dir.cleanup();
    });
    return db;
  }

  function schedulesOn(
    db: Db,
    options: {
      schedule?: ScheduleConfig;
      site?: SiteSettings;
      now?: () => number;
      compile?: typeof compilePlans;
      onRefreshed?: () => void;
    } = {},
  ) {
    const log = createLogger('silent');
    const doors = [{ id: 'main', schedule: options.schedule ?? LIBRARY }];
    const site = options.site ?? OSLO;
    const schedules = new CompiledSchedules({
      doors,
      site,
      alarms: new Alarms(db, new EventBus(), log),
      log,
      now: options.now ?? (() => NOW),
      saved: savedPlansFor(db, { doors, site }, new DeferredWrites(db, log)),
      replaceSavedAfterMs: 0,
      compile: options.compile ?? realCompile,
      ...(options.onRefreshed ? { onRefreshed: options.onRefreshed } : {}),
    });
    cleanups.push(() => schedules.stop());
    return schedules;
  }

  /** Whether start() settles before the compiler answers (it never answers unless released). */
  async function startsWithoutCompiler(schedules: CompiledSchedules): Promise<boolean> {
    const started = schedules.start().then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300));
    return Promise.race([started, timeout]);
  }

  it('the key changes with the schedule, the site, the time zone and the software version', () => {
    const base = { doors: [{ id: 'main', schedule: LIBRARY }], site: OSLO, softwareVersion: '1.0.0' };
    const key = planKey(base);
    expect(planKey({ ...base })).toBe(key);
    expect(planKey({ ...base, softwareVersion: '1.0.1' })).not.toBe(key);
    expect(planKey({ ...base, site: { ...OSLO, timezone: 'Europe/Stockholm' } })).not.toBe(key);
    expect(planKey({ ...base, site: { ...OSLO, country: 'SE' } })).not.toBe(key);
    expect(planKey({ ...base, site: { ...OSLO, region: '03' } })).not.toBe(key);
    expect(
      planKey({ ...base, doors: [{ id: 'main', schedule: { ...LIBRARY, staffless: 'Mo-Su 08:00-22:00' } }] }),
    ).not.toBe(key);
    expect(planKey({ ...base, doors: [{ id: 'side', schedule: LIBRARY }] })).not.toBe(key);
  });

  it('round-trips through the store, and another key finds nothing', () => {
    const db = store();
    const plans: DoorPlans = new Map([
      ['main', new Map([['2026-11-25', { staffed: [[0, 1000]], staffless: [] }]])],
    ]);
    new SavedPlans(db, 'a').save(plans, NOW);
    expect(new SavedPlans(db, 'a').load()).toEqual({ plans, computedAt: NOW });
    expect(new SavedPlans(db, 'b').load()).toBeUndefined();
  });

  it('in the door process a save never waits for another process holding the store; the newest plans land', async () => {
    const db = store();
    const other = openDb(db.name);
    cleanups.push(() => other.close());
    const writes = new DeferredWrites(db, createLogger('silent'));
    const older: DoorPlans = new Map([['main', new Map([['2026-11-25', { staffed: [], staffless: [] }]])]]);
    const newer: DoorPlans = new Map([
      ['main', new Map([['2026-11-25', { staffed: [[0, 1000]], staffless: [] }]])],
    ]);
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    new SavedPlans(db, 'a', writes).save(older, NOW);
    new SavedPlans(db, 'b', writes).save(newer, NOW + 1);
    expect(performance.now() - started).toBeLessThan(100);
    expect(writes.waiting).toEqual(['schedule plans']);
    other.exec('COMMIT');
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(new SavedPlans(db, 'b').load()).toEqual({ plans: newer, computedAt: NOW + 1 });
  });

  it('a start with valid saved plans does not wait for the compiler; its answer replaces them', async () => {
    const db = store();
    // A first start computes and saves.
    await schedulesOn(db).start();
    // Mark the saved plan of today (staffless all day) to tell it from the compiler's (staffed at noon).
    const saved = new SavedPlans(
      db,
      savedPlansFor(
        db,
        { doors: [{ id: 'main', schedule: LIBRARY }], site: OSLO },
        new DeferredWrites(db, createLogger('silent')),
      )!.key,
    );
    const { plans } = saved.load()!;
    plans.get('main')!.set('2026-11-25', { staffed: [], staffless: [[0, 86_400_000]] });
    saved.save(plans, NOW);

    const held = heldCompiler();
    let refreshed = 0;
    const schedules = schedulesOn(db, { compile: held.compile, onRefreshed: () => refreshed++ });
    expect(await startsWithoutCompiler(schedules)).toBe(true);
    const main = schedules.schedule('main');
    expect(main.stateAt(new Date(NOW))).toBe('staffless');
    expect(schedules.coveredUntil()).toBe('2027-01-26');
    // The computation that replaces them has begun (replaceSavedAfterMs: 0) and lands when it answers.
    await expect.poll(() => held.calls.length).toBe(1);
    expect(refreshed).toBe(0);
    held.release();
    await expect.poll(() => refreshed, { timeout: 20_000 }).toBe(1);
    expect(main.stateAt(new Date(NOW))).toBe('staffed');
    // … and is saved for the next start.
    expect(saved.load()!.plans.get('main')!.get('2026-11-25')!.staffed).toEqual([
      [10 * 3_600_000, 16 * 3_600_000],
    ]);
  });

  it('a door from saved plans decides as one from the compiler, instant by instant', async () => {
    const db = store();
    const fromCompiler = schedulesOn(db);
    await fromCompiler.start();
    const held = heldCompiler();
    const fromSaved = schedulesOn(db, { compile: held.compile });
    expect(await startsWithoutCompiler(fromSaved)).toBe(true);
    const a = fromCompiler.schedule('main');
    const b = fromSaved.schedule('main');
    let staffed = 0;
    // Every 13 minutes for 40 days: weekends, Christmas Eve's exception, the public holidays. The instants
    // that differ are collected and compared once (an expect per instant costs more than the schedules).
    const end = NOW + 40 * 86_400_000;
    const differ: string[] = [];
    for (let t = NOW; t < end; t += 13 * 60_000) {
      const state = a.stateAt(new Date(t));
      if (b.stateAt(new Date(t)) !== state) differ.push(`${new Date(t).toISOString()} state`);
      if (state === 'staffed') staffed++;
    }
    // Every change over those days, and nextChange just before and at each (nextChange searches eight days
    // per call: on the 13-minute grid it was most of this file's time).
    const changes = a.changesBetween(new Date(NOW), new Date(end));
    expect(b.changesBetween(new Date(NOW), new Date(end))).toEqual(changes);
    for (const instant of [NOW, ...changes.flatMap((c) => [c.at.getTime() - 1, c.at.getTime()])]) {
      const when = new Date(instant);
      if (b.nextChange(when)?.at.getTime() !== a.nextChange(when)?.at.getTime()) {
        differ.push(`${when.toISOString()} nextChange`);
      }
    }
    expect(differ).toEqual([]);
    expect(changes.length).toBeGreaterThan(100);
    expect(staffed).toBeGreaterThan(100);
  });

  it('plans saved for another schedule are never used: the start waits for the compiler', async () => {
    const db = store();
    // Saved while the door was staffless all day; the config now has LIBRARY (staffed at NOW).
    const allDay = { ...LIBRARY, staffed: '', staffless: 'Mo-Su 00:00-24:00' };
    await schedulesOn(db, { schedule: allDay }).start();

    const held = heldCompiler();
    const schedules = schedulesOn(db, { compile: held.compile });
    expect(await startsWithoutCompiler(schedules)).toBe(false);
    expect(schedules.schedule('main').stateAt(new Date(NOW))).toBe('closed');
    held.release();
    await expect.poll(() => schedules.coveredUntil(), { timeout: 20_000 }).toBe('2027-01-26');
    expect(schedules.schedule('main').stateAt(new Date(NOW))).toBe('staffed');
  });

  it('plans saved for another time zone are never used', async () => {
    const db = store();
    await schedulesOn(db, { site: { ...OSLO, timezone: 'Europe/Stockholm' } }).start();
    const held = heldCompiler();
    expect(await startsWithoutCompiler(schedulesOn(db, { compile: held.compile }))).toBe(false);
  });

  it('plans that do not cover today and tomorrow are not used (a clock past their end)', async () => {
    const db = store();
    await schedulesOn(db).start(); // covers 2026-11-23 … 2027-01-26
    const held = heldCompiler();
    const later = Date.parse('2027-01-26T12:00:00+01:00'); // today covered, tomorrow not
    expect(await startsWithoutCompiler(schedulesOn(db, { now: () => later, compile: held.compile }))).toBe(
      false,
    );
    const earlier = Date.parse('2026-11-20T12:00:00+01:00'); // before their start
    expect(await startsWithoutCompiler(schedulesOn(db, { now: () => earlier, compile: held.compile }))).toBe(
      false,
    );
    const inside = Date.parse('2027-01-25T12:00:00+01:00');
    expect(await startsWithoutCompiler(schedulesOn(db, { now: () => inside, compile: held.compile }))).toBe(
      true,
    );
  });

  it('unreadable saved plans mean waiting for the compiler, not a failed start', async () => {
    const db = store();
    await schedulesOn(db).start();
    db.prepare("UPDATE schedule_plans SET plans = '{not json'").run();
    const schedules = schedulesOn(db);
    await schedules.start();
    expect(schedules.schedule('main').stateAt(new Date(NOW))).toBe('staffed');
  });
});
