import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { checkConfigText } from '../../src/config/check.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CompiledSchedules } from '../../src/schedule/compiled-schedules.ts';
import { compilePlans, DoorScheduleError } from '../../src/schedule/compiler.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { PlanTable } from '../../src/schedule/plan-table.ts';
import { LibraryPlanner, scheduleFromConfig } from '../../src/schedule/planner.ts';
import { DoorSchedule } from '../../src/schedule/schedule.ts';
import { addDays } from '../../src/time/zone.ts';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { compileOnce } from './compile-once.ts';

const OSLO = { timezone: 'Europe/Oslo', country: 'NO' };
const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [
    { date: '2026-12-24', staffless: '07:00-13:00' },
    { date: '2027-03-29', closed: true },
  ],
};

describe('schedule compiler (a real child process)', () => {
  it('computes the same day plans as the libraries in this process, across DST, holidays and exceptions', async () => {
    // 2026-10-20 … 2027-04-07: the October DST change, Christmas, an exception day, Easter 2027, the March change.
    const from = '2026-10-20';
    const days = 170;
    const plans = await compilePlans({ doors: [{ id: 'main', schedule: LIBRARY }], site: OSLO, from, days });
    const here = new LibraryPlanner(LIBRARY, OSLO);
    const main = plans.get('main')!;
    expect(main.size).toBe(days);
    for (let i = 0; i < days; i++) {
      const date = addDays(from, i);
      expect(main.get(date), date).toEqual(JSON.parse(JSON.stringify(here.plan(date))));
    }
    // Spot checks that the comparison is not between two empty answers.
    expect(main.get('2026-12-25')!.holiday?.name).toBe('Første juledag');
    expect(main.get('2026-12-25')!.staffless).toEqual([]);
    expect(main.get('2026-12-24')!.staffless).toEqual([[7 * 3_600_000, 13 * 3_600_000]]);
    expect(main.get('2026-11-25')!.staffed).toEqual([[10 * 3_600_000, 16 * 3_600_000]]);
  });

  it('a schedule over compiled plans answers like one over the libraries, instant by instant', async () => {
    const from = '2027-03-20';
    const plans = await compilePlans({
      doors: [{ id: 'main', schedule: LIBRARY }],
      site: OSLO,
      from,
      days: 20,
    });
    const table = new PlanTable();
    table.load(plans.get('main')!);
    const compiled = new DoorSchedule(table, { timezone: 'Europe/Oslo', closingSoonMinutes: 10 });
    const direct = scheduleFromConfig(LIBRARY, OSLO);
    // Every 11 minutes for 10 days, through the night of the March DST change (2027-03-28).
    const start = Date.parse('2027-03-22T00:00:00Z');
    for (let t = start; t < start + 10 * 86_400_000; t += 11 * 60_000) {
      const when = new Date(t);
      expect(compiled.stateAt(when), when.toISOString()).toBe(direct.stateAt(when));
      expect(compiled.nextChange(when)?.at.getTime(), when.toISOString()).toBe(
        direct.nextChange(when)?.at.getTime(),
      );
    }
  });

  it('names the door and the setting of a bad schedule', async () => {
    const bad = { ...LIBRARY, staffless: 'Mo-Su 7-22' };
    const error = await compilePlans({
      doors: [
        { id: 'main', schedule: LIBRARY },
        { id: 'side', schedule: bad },
      ],
      site: OSLO,
      from: '2026-11-01',
      days: 3,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DoorScheduleError);
    expect((error as DoorScheduleError).door).toBe('side');
    expect((error as DoorScheduleError).field).toBe('staffless');
    expect((error as Error).message).toMatch(
      /^door "side": schedule staffless "Mo-Su 7-22": opening_hours warning/,
    );
  });

  it('names an unknown country without a field', async () => {
    const error = await compilePlans({
      doors: [{ id: 'main', schedule: LIBRARY }],
      site: { timezone: 'Europe/Oslo', country: 'XX' },
      from: '2026-11-01',
      days: 3,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^door "main": site\.country "XX"/);
  });
});

describe('PlanTable', () => {
  it('a date it does not cover is closed and asks for new plans', () => {
    const misses: string[] = [];
    const table = new PlanTable((date) => misses.push(date));
    table.load(new Map([['2026-11-25', { staffed: [], staffless: [[0, 86_400_000]] }]]));
    const schedule = new DoorSchedule(table, { timezone: 'Europe/Oslo', closingSoonMinutes: 0 });
    expect(schedule.stateAt(new Date('2026-11-25T12:00:00+01:00'))).toBe('staffless');
    expect(misses).toEqual([]);
    expect(schedule.stateAt(new Date('2031-01-01T12:00:00+01:00'))).toBe('closed');
    expect(misses).toEqual(['2031-01-01']);
  });
});

describe('CompiledSchedules', () => {
  // The real compiler, one child per distinct request here (the same request gets the same plans).
  const realCompile = compileOnce();
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function rig(options: { now: () => number; compile?: typeof compilePlans }) {
    const dir = tempDir('dorvakt-plans-');
    const db = openDb(join(dir.path, 'store.db'));
    const log = createLogger('silent');
    const alarms = new Alarms(db, new EventBus(), log);
    let refreshed = 0;
    const schedules = new CompiledSchedules({
      doors: [{ id: 'main', schedule: LIBRARY }],
      site: OSLO,
      alarms,
      log,
      now: options.now,
      compile: options.compile ?? realCompile,
      onRefreshed: () => refreshed++,
    });
    cleanups.push(() => {
      schedules.stop();
      db.close();
      dir.cleanup();
    });
    return { schedules, alarms, refreshed: () => refreshed };
  }

  it('covers two days back to two months ahead of today', async () => {
    const now = Date.parse('2026-11-25T12:00:00+01:00');
    const { schedules } = rig({ now: () => now });
    await schedules.start();
    expect(schedules.coveredUntil()).toBe('2027-01-26');
    expect(schedules.schedule('main').stateAt(new Date(now))).toBe('staffed');
  });

  it('a clock that leaves the computed days (NTP after a boot without RTC) gets new plans', async () => {
    let now = Date.parse('2020-01-06T12:00:00+01:00');
    const { schedules, refreshed } = rig({ now: () => now });
    await schedules.start();
    now = Date.parse('2026-11-25T12:00:00+01:00');
    const main = schedules.schedule('main');
    // Until the new plans arrive the door fails secure.
    expect(main.stateAt(new Date(now))).toBe('closed');
    await expect.poll(() => refreshed(), { timeout: 20_000 }).toBe(1);
    expect(main.stateAt(new Date(now))).toBe('staffed');
    expect(schedules.coveredUntil()).toBe('2027-01-26');
  });

  it('a failed computation raises schedule_stale, keeps the plans it has, and a later one clears it', async () => {
    const now = Date.parse('2026-11-25T12:00:00+01:00');
    let fail = false;
    const compile: typeof compilePlans = (request, timeoutMs) =>
      fail ? Promise.reject(new Error('spawn ENOMEM')) : realCompile(request, timeoutMs);
    const { schedules, alarms } = rig({ now: () => now, compile });
    await schedules.start();
    fail = true;
    await schedules.refresh('test');
    expect(alarms.isActive('schedule_stale')).toBe(true);
    expect(alarms.list().find((a) => a.code === 'schedule_stale')?.detail).toBe('plans end 2027-01-26');
    expect(schedules.schedule('main').stateAt(new Date(now))).toBe('staffed');
    fail = false;
    await schedules.refresh('test');
    expect(alarms.isActive('schedule_stale')).toBe(false);
  });

  it('start() rejects on a bad schedule, naming the door', async () => {
    const dir = tempDir('dorvakt-plans-');
    const db = openDb(join(dir.path, 'store.db'));
    const log = createLogger('silent');
    const schedules = new CompiledSchedules({
      doors: [{ id: 'back', schedule: { ...LIBRARY, staffed: 'whenever' } }],
      site: OSLO,
      alarms: new Alarms(db, new EventBus(), log),
      log,
    });
    await expect(schedules.start()).rejects.toThrow(/^door "back": schedule staffed "whenever"/);
    schedules.stop();
    db.close();
    dir.cleanup();
  });
});

describe('config: who checks schedules', () => {
  const text = `
site: { id: demo }
secrets: { card_hmac_key: { env: KEY } }
doors:
  - id: main
    schedule: { staffless: "Mo-Xy 07:00-22:00" }
    reader: { path: /dev/ttyUSB0 }
`;
  it('check-config does (with the line); the service leaves it to its compiler', () => {
    expect(() => parseConfig(text, 'test.yaml')).not.toThrow();
    try {
      checkConfigText(text, 'test.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.objectContaining({ key: 'doors.0.schedule.staffless', line: 6 }),
      ]);
    }
  });
});
