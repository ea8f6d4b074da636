/**
 * The one-off opening hours backfill (real SQLite file, the real schedule compiler, an injected clock): a
 * branch that enabled the fleet on a Wednesday in March sends the weeks of the year before it, as its own
 * report computes them from the config, keeps the days it recorded, and queues nothing again on a restart.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetOpeningHours } from '../../src/contract/fleet.ts';
import { BranchFleet } from '../../src/fleet/branch.ts';
import { createLogger } from '../../src/log/logger.ts';
import { backfillOpeningHours, scanOpeningHours } from '../../src/fleet/opening.ts';
import { FiguresOutbox } from '../../src/fleet/outbox.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { compilePlans } from '../../src/schedule/compiler.ts';
import { SavedPlans } from '../../src/schedule/saved-plans.ts';
import { computeOpeningHoursOfYear } from '../../src/stats/opening-hours.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { branchFleetConfig } from './branch-config.ts';

const TZ = 'Europe/Oslo';
const SITE = { timezone: TZ, country: 'NO' };
const DAY = 86_400_000;
/** Wednesday 11 March 2026, 13:00 local: the day the branch enabled the fleet. */
const ENABLED = Date.parse('2026-03-11T12:00:00Z');

const SCHEDULE: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00',
  staffless: 'Mo-Su 01:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 0,
  exceptions: [{ date: '2026-01-02', closed: true }],
};
const DOORS = [{ id: 'front', schedule: SCHEDULE }];
/** The plans the door followed in March came from an earlier config (staffless from 07:00). */
const EARLIER = [{ id: 'front', schedule: { ...SCHEDULE, staffless: 'Mo-Su 07:00-22:00' } }];

let dir: ReturnType<typeof tempDir> | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  dir?.cleanup();
});

describe('opening hours backfill', () => {
  it('queues the weeks of the year before the link ran, from the config, once', async () => {
    dir = tempDir('fleet-backfill-');
    const store = openDb(join(dir.path, 'store.sqlite'));
    db = store;
    let now = ENABLED;
    const outboxAt = () =>
      new FiguresOutbox({
        db: store,
        timezone: TZ,
        identifiedDays: 30,
        nowMs: () => now,
        backoff: { min_ms: 1000, max_ms: 2000 },
        batch: 100,
        backfillDays: 7,
        keepAckedDays: 30,
      });
    const ackAll = (outbox: FiguresOutbox) => {
      const sent = outbox.takeDue().map((m) => JSON.parse(m.payload) as FleetOpeningHours);
      for (const m of sent) expect(outbox.acknowledged(m.id)).toBe(true);
      return sent;
    };
    // The door process saved its plans (then two months ahead); the link recorded from that day on.
    const plans = await compilePlans({ doors: EARLIER, site: SITE, from: '2026-03-09', days: 63 });
    new SavedPlans(store, 'earlier').save(plans, ENABLED);
    let outbox = outboxAt();
    expect(scanOpeningHours(store, TZ, outbox, now)).toBeGreaterThan(0);
    const live = ackAll(outbox);
    expect(live[0]!.week).toBe('2026-W11');
    expect(live[0]!.days[0]).toEqual({ day: '2026-03-11', staffed: 6, staffless: 9 });

    // Two days later the branch upgrades and restarts: the backfill runs at the link's start.
    now = ENABLED + 2 * DAY;
    outbox = outboxAt();
    scanOpeningHours(store, TZ, outbox, now);
    let compiles = 0;
    const compile: typeof compilePlans = (request, timeoutMs) => {
      compiles++;
      return compilePlans(request, timeoutMs);
    };
    // Weeks 1 to 10 whole (week 1 from Monday 29 December 2025), and week 11's Monday and Tuesday.
    expect(await backfillOpeningHours(store, TZ, outbox, now, { doors: DOORS, site: SITE, compile })).toBe(
      11,
    );
    const sent = ackAll(outbox);
    expect(sent.map((m) => m.week)).toEqual(
      Array.from({ length: 11 }, (_, i) => `2026-W${String(i + 1).padStart(2, '0')}`),
    );
    expect(sent[0]!.days.map((d) => d.day)).toEqual([
      '2025-12-29',
      '2025-12-30',
      '2025-12-31',
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
      '2026-01-04',
    ]);
    // The branch's own report computes the same weeks from the same config.
    const own = await computeOpeningHoursOfYear(DOORS, SITE, 2026);
    for (const m of sent.slice(0, 10)) {
      const week = own.weeks.find((w) => w.week === m.week)!;
      const sum = (k: 'staffed' | 'staffless') => m.days.reduce((n, d) => n + d[k], 0);
      expect({ staffed: sum('staffed'), staffless: sum('staffless') }, m.week).toEqual({
        staffed: week.staffed,
        staffless: week.staffless,
      });
    }
    // Week 11 goes again, whole: Monday and Tuesday from the config, the days recorded keep the hours the door had.
    const w11 = sent[10]!;
    expect(w11.days).toHaveLength(7);
    expect(w11.days[0]).toEqual({ day: '2026-03-09', staffed: 6, staffless: 15 });
    expect(w11.days[2]).toEqual({ day: '2026-03-11', staffed: 6, staffless: 9 });
    expect(compiles).toBe(1);

    // Again (another restart, the same day, a new outbox): nothing missing, nothing computed, nothing queued.
    outbox = outboxAt();
    expect(await backfillOpeningHours(store, TZ, outbox, now, { doors: DOORS, site: SITE, compile })).toBe(0);
    // The day after, the link having recorded its days meanwhile: the same.
    now += DAY;
    outbox = outboxAt();
    scanOpeningHours(store, TZ, outbox, now);
    ackAll(outbox);
    expect(await backfillOpeningHours(store, TZ, outbox, now, { doors: DOORS, site: SITE, compile })).toBe(0);
    expect(compiles).toBe(1);
    expect(outbox.pending()).toBe(0);
  }, 60_000);

  it('runs once at the link start, beside the figures; a compiler failure waits an hour, then it runs again', async () => {
    dir = tempDir('fleet-backfill-retry-');
    const store = openDb(join(dir.path, 'store.sqlite'));
    db = store;
    let now = ENABLED;
    let compiles = 0;
    const compile: typeof compilePlans = (request, timeoutMs) =>
      ++compiles === 1
        ? Promise.reject(new Error('schedule compiler gave no answer'))
        : compilePlans(request, timeoutMs);
    const fleet = new BranchFleet({
      db: store,
      site: 'north',
      base: 'dorvakt/north',
      timezone: TZ,
      identifiedDays: 30,
      config: branchFleetConfig(),
      mqttUrl: 'mqtt://127.0.0.1:1',
      key: null,
      alarms: { unresolved: () => [], acknowledge: () => false },
      log: createLogger('silent'),
      opening: { doors: DOORS, site: SITE, compile },
      nowMs: () => now,
    });
    const weeksQueued = () =>
      store.prepare("SELECT COUNT(*) FROM fleet_outbox WHERE kind = 'opening'").pluck().get() as number;
    fleet.scan();
    expect(await fleet.backfillDone).toBe(0);
    expect(weeksQueued()).toBe(0);
    // Every scan meanwhile leaves it be.
    now += 59 * 60_000;
    fleet.scan();
    await fleet.backfillDone;
    expect(compiles).toBe(1);
    now += 60_000;
    fleet.scan();
    expect(await fleet.backfillDone).toBe(11);
    expect(weeksQueued()).toBe(11);
    // Done: later scans do not look again.
    now += 2 * 3_600_000;
    fleet.scan();
    await fleet.backfillDone;
    expect(compiles).toBe(2);
    await fleet.stop();
  }, 60_000);
});
