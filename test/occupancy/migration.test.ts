import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Alarms } from '../../src/alarms/alarms.ts';
import { Occupancy } from '../../src/occupancy/occupancy.ts';
import { passagesByHour } from '../../src/occupancy/stats.ts';
import { listMigrations, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function occupancyOn(
  db: ReturnType<typeof openDb>,
  now: () => Date,
  mode: () => 'staffed' | 'staffless' | 'closed' = () => 'closed',
) {
  const bus = new EventBus();
  const log = createLogger('silent');
  return new Occupancy({
    db,
    bus,
    alarms: new Alarms(db, bus, log),
    log,
    timezone: 'Europe/Oslo',
    doors: ['main'],
    modeOf: mode,
    resetAt: '03:00',
    tailgating: true,
    now,
  });
}

describe('migrations 012 (passages_hourly) and 013 (occupancy_now)', () => {
  it('apply on a fresh store', () => {
    const dir = tempDir('occ-mig-');
    cleanups.push(() => dir.cleanup());
    const db = openDb(`${dir.path}/fresh.sqlite`);
    cleanups.push(() => db.close());
    expect(db.pragma('user_version', { simple: true })).toBe(listMigrations().at(-1)!.version);
    const columns = (table: string) =>
      (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    expect(columns('passages_hourly')).toEqual([
      'day',
      'hour',
      'door',
      'mode',
      'passages_in',
      'passages_out',
      'tailgating',
    ]);
    expect(columns('occupancy_now')).toEqual(['id', 'inside', 'updated_at', 'reset_day']);
  });

  it('apply on an existing store at 011 with data, keep the data, and a restart keeps inside-now', () => {
    const dir = tempDir('occ-mig-');
    cleanups.push(() => dir.cleanup());
    const path = `${dir.path}/old.sqlite`;
    // The store as the previous release left it: migrations up to 011, an alarm stored.
    const old = new Database(path);
    for (const m of listMigrations().filter((m) => m.version <= 11)) {
      old.exec(m.sql);
      old.pragma(`user_version = ${m.version}`);
    }
    old
      .prepare("INSERT INTO alarms (code, door, detail, raised_at) VALUES ('door_forced', 'main', 'x', 1)")
      .run();
    old.close();

    const db = openDb(path);
    expect(db.pragma('user_version', { simple: true })).toBe(listMigrations().at(-1)!.version);
    expect(db.prepare('SELECT code FROM alarms').all()).toEqual([{ code: 'door_forced' }]);
    const at = new Date('2026-11-25T21:10:00+01:00');
    const first = occupancyOn(db, () => at);
    first.passages('main', 'in', 3, at);
    first.passages('main', 'out', 1, at);
    first.flush();
    db.close();

    const again = openDb(path);
    cleanups.push(() => again.close());
    expect(occupancyOn(again, () => at).insideNow()).toBe(2);
    expect(passagesByHour(again, '2026-11-25', '2026-11-26')[21]).toEqual({
      hour: 21,
      passagesIn: 3,
      passagesOut: 1,
      tailgating: 0,
    });
  });

  it('inside-now goes back to 0 at reset_at when closed, once a night', () => {
    const dir = tempDir('occ-mig-');
    cleanups.push(() => dir.cleanup());
    const db = openDb(`${dir.path}/reset.sqlite`);
    cleanups.push(() => db.close());
    let now = new Date('2026-11-25T21:00:00+01:00');
    const occ = occupancyOn(db, () => now);
    occ.passages('main', 'in', 4);
    occ.tick();
    expect(occ.insideNow()).toBe(4);
    now = new Date('2026-11-26T02:59:00+01:00');
    occ.tick();
    expect(occ.insideNow()).toBe(4);
    now = new Date('2026-11-26T03:00:00+01:00');
    occ.tick();
    expect(occ.insideNow()).toBe(0);
    occ.passages('main', 'in', 1);
    now = new Date('2026-11-26T03:30:00+01:00');
    occ.tick();
    expect(occ.insideNow()).toBe(1);
  });

  it('a night when the door is open at reset_at (a 24-hour event) keeps its count', () => {
    const dir = tempDir('occ-mig-');
    cleanups.push(() => dir.cleanup());
    const db = openDb(`${dir.path}/open.sqlite`);
    cleanups.push(() => db.close());
    let now = new Date('2026-11-25T21:00:00+01:00');
    let mode: 'staffless' | 'closed' = 'staffless';
    const occ = occupancyOn(
      db,
      () => now,
      () => mode,
    );
    occ.passages('main', 'in', 4);
    now = new Date('2026-11-26T03:10:00+01:00');
    occ.tick();
    expect(occ.insideNow()).toBe(4);
    // Closed again within the hour after reset_at: the reset happens then.
    mode = 'closed';
    now = new Date('2026-11-26T03:40:00+01:00');
    occ.tick();
    expect(occ.insideNow()).toBe(0);
  });
});
