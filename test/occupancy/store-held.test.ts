import { afterEach, describe, expect, it, vi } from 'vitest';
import { Alarms } from '../../src/alarms/alarms.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Occupancy } from '../../src/occupancy/occupancy.ts';
import { openDb } from '../../src/store/db.ts';
import { DeferredWrites } from '../../src/store/deferred-writes.ts';
import { tempDir } from '../helpers/tmp.ts';

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** Occupancy runs in the door process: its flush never waits for another process's lock on the store. */
describe('occupancy while another process holds the store', () => {
  it('a flush returns at once, one flush waits, and it writes every count gathered by the time the lock is free', async () => {
    const dir = tempDir('occ-held-');
    cleanups.push(() => dir.cleanup());
    const db = openDb(`${dir.path}/store.sqlite`);
    const other = openDb(db.name);
    cleanups.push(() => {
      other.close();
      db.close();
    });
    const bus = new EventBus();
    const log = createLogger('silent');
    const writes = new DeferredWrites(db, log);
    const at = new Date('2026-11-25T15:10:00+01:00');
    const occupancy = new Occupancy({
      db,
      writes,
      bus,
      alarms: new Alarms(db, bus, log, writes),
      log,
      timezone: 'Europe/Oslo',
      doors: ['main'],
      modeOf: () => 'staffless',
      resetAt: '03:00',
      tailgating: false,
      now: () => at,
    });
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    occupancy.passages('main', 'in', 3, at);
    occupancy.flush();
    occupancy.passages('main', 'in', 2, at);
    occupancy.flush();
    expect(performance.now() - started).toBeLessThan(100);
    expect(writes.waiting).toEqual(['passages']);
    expect(occupancy.insideNow()).toBe(5);
    other.exec('COMMIT');
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(db.prepare('SELECT passages_in FROM passages_hourly').pluck().all()).toEqual([5]);
    expect(db.prepare('SELECT inside FROM occupancy_now').pluck().get()).toBe(5);
    // Nothing left to write: the next flush writes nothing twice.
    occupancy.flush();
    expect(db.prepare('SELECT passages_in FROM passages_hourly').pluck().all()).toEqual([5]);
  });
});
