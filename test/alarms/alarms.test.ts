import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Alarms, MAX_CLEARED_SHOWN } from '../../src/alarms/alarms.ts';
import type { DorvaktEvent } from '../../src/contract/events.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function rig() {
  const dir = tempDir('dorvakt-alarms-');
  const path = join(dir.path, 'store.db');
  const db = openDb(path);
  const bus = new EventBus();
  const events: DorvaktEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const log = createLogger('silent');
  const alarms = new Alarms(db, bus, log);
  cleanups.push(() => {
    db.close();
    dir.cleanup();
  });
  const reopen = (): { alarms: Alarms; db: Db } => {
    const again = openDb(path);
    cleanups.push(() => again.close());
    return { alarms: new Alarms(again, new EventBus(), log), db: again };
  };
  return { db, alarms, events, reopen };
}

const row = (db: Db, id: number) =>
  db
    .prepare(
      'SELECT cleared_at AS clearedAt, acked_at AS ackedAt, acked_by AS ackedBy FROM alarms WHERE id = ?',
    )
    .get(id) as {
    clearedAt: number | null;
    ackedAt: number | null;
    ackedBy: string | null;
  };

describe('alarms stay until a person acknowledges them', () => {
  it('a cleared alarm stays listed, awaiting acknowledgement, and leaves once acknowledged', () => {
    const { db, alarms, events } = rig();
    alarms.raise('door_forced', 'main', 'opened while locked');
    const [raised] = alarms.unresolved();
    alarms.clear('door_forced', 'main');
    // The cause is gone: MQTT door state and status checks no longer see it ...
    expect(alarms.isActive('door_forced', 'main')).toBe(false);
    expect(alarms.list()).toEqual([]);
    expect(alarms.codesFor('main')).toEqual([]);
    // ... but the dashboard still lists it until someone acknowledges it.
    expect(alarms.unresolved()).toMatchObject([{ id: raised!.id, code: 'door_forced', ackedAt: null }]);
    expect(alarms.unresolved()[0]!.clearedAt).not.toBeNull();
    expect(alarms.acknowledge(raised!.id, 'sven')).toBe(true);
    expect(alarms.unresolved()).toEqual([]);
    expect(row(db, raised!.id)).toMatchObject({ ackedBy: 'sven' });
    expect(row(db, raised!.id).ackedAt).not.toBeNull();
    // The MQTT contract is unchanged: raised and cleared, no acknowledgement event.
    expect(events.filter((e) => e.type === 'alarm').map((e) => (e as { state: string }).state)).toEqual([
      'raised',
      'cleared',
    ]);
    // A second acknowledgement changes nothing.
    expect(alarms.acknowledge(raised!.id, 'anne')).toBe(false);
    expect(row(db, raised!.id).ackedBy).toBe('sven');
  });

  it('an acknowledged alarm whose cause holds stays listed as acknowledged until it clears', () => {
    const { alarms } = rig();
    alarms.raise('door_held_open', 'main');
    const id = alarms.unresolved()[0]!.id;
    expect(alarms.acknowledge(id, 'sven')).toBe(true);
    expect(alarms.unresolved()).toMatchObject([{ id, ackedBy: 'sven', clearedAt: null }]);
    expect(alarms.isActive('door_held_open', 'main')).toBe(true);
    alarms.clear('door_held_open', 'main');
    expect(alarms.unresolved()).toEqual([]);
  });

  it('raising the same alarm again while a cleared one awaits acknowledgement makes a second one', () => {
    const { alarms } = rig();
    alarms.raise('door_forced', 'main');
    alarms.clear('door_forced', 'main');
    alarms.raise('door_forced', 'main');
    const listed = alarms.unresolved();
    expect(listed.map((a) => a.clearedAt === null)).toEqual([false, true]);
    expect(new Set(listed.map((a) => a.id)).size).toBe(2);
    alarms.acknowledge(listed[0]!.id, 'sven');
    expect(alarms.unresolved().map((a) => a.id)).toEqual([listed[1]!.id]);
  });

  it('survives a restart: the unacknowledged cleared alarm is listed again, and acknowledged there', () => {
    const { alarms, reopen } = rig();
    alarms.raise('door_forced', 'main');
    alarms.clear('door_forced', 'main');
    alarms.raise('ils_offline');
    const after = reopen();
    expect(after.alarms.unresolved().map((a) => [a.code, a.clearedAt === null])).toEqual([
      ['door_forced', false],
      ['ils_offline', true],
    ]);
    expect(after.alarms.isActive('door_forced', 'main')).toBe(false);
    expect(after.alarms.isActive('ils_offline')).toBe(true);
    expect(after.alarms.acknowledge(after.alarms.unresolved()[0]!.id, 'anne')).toBe(true);
    expect(after.alarms.unresolved().map((a) => a.code)).toEqual(['ils_offline']);
  });

  it('keeps a bounded list in memory; an older one is still acknowledged through the store', () => {
    const { db, alarms } = rig();
    for (let i = 0; i < MAX_CLEARED_SHOWN + 3; i++) {
      alarms.raise('broker_offline');
      alarms.clear('broker_offline');
    }
    const listed = alarms.unresolved();
    expect(listed).toHaveLength(MAX_CLEARED_SHOWN);
    const oldest = db.prepare('SELECT MIN(id) FROM alarms').pluck().get() as number;
    expect(listed.some((a) => a.id === oldest)).toBe(false);
    let changes = 0;
    alarms.onChange(() => changes++);
    expect(alarms.acknowledge(oldest, 'anne')).toBe(true);
    expect(changes).toBe(1);
    expect(row(db, oldest).ackedBy).toBe('anne');
    expect(alarms.acknowledge(oldest, 'anne')).toBe(false);
    expect(alarms.acknowledge(999_999, 'anne')).toBe(false);
  });
});

describe("the store's copy never holds up the door", () => {
  /** Another process (the worker) holding the store's write lock. */
  function holdLock(db: Db) {
    const other = openDb(db.name);
    cleanups.push(() => other.open && other.close());
    other.exec('BEGIN IMMEDIATE');
    return () => other.exec('COMMIT');
  }
  const stored = (db: Db) =>
    db
      .prepare('SELECT id, code, cleared_at AS clearedAt, acked_by AS ackedBy FROM alarms ORDER BY id')
      .all() as { id: number; code: string; clearedAt: number | null; ackedBy: string | null }[];

  it('raise, clear and acknowledge return at once while the lock is taken, and reach the store in order after', async () => {
    const { db, alarms, events } = rig();
    const release = holdLock(db);
    const started = performance.now();
    alarms.raise('door_forced', 'main');
    alarms.raise('reader_offline', 'main');
    alarms.clear('door_forced', 'main');
    const forced = alarms.unresolved().find((a) => a.code === 'door_forced')!;
    expect(alarms.acknowledge(forced.id, 'staff')).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
    // Shown at once all the same.
    expect(alarms.isActive('reader_offline', 'main')).toBe(true);
    expect(events.filter((e) => e.type === 'alarm')).toHaveLength(3);
    expect(alarms.unstored).toBeGreaterThan(0);

    release();
    await vi.waitFor(() => expect(alarms.unstored).toBe(0), { timeout: 5000 });
    const rows = stored(db);
    expect(rows.map((r) => r.code)).toEqual(['door_forced', 'reader_offline']);
    expect(rows[0]).toMatchObject({ ackedBy: 'staff' });
    expect(rows[0]!.clearedAt).not.toBeNull();
    expect(rows[1]!.clearedAt).toBeNull();
    // The alarm in memory took the store's id, so the dashboard acknowledges the row it shows.
    expect(alarms.list()[0]!.id).toBe(rows[1]!.id);
    expect(alarms.acknowledge(rows[1]!.id, 'staff')).toBe(true);
    expect(stored(db)[1]!.ackedBy).toBe('staff');
  });

  it('an older alarm only the store knows is acknowledged while the lock is taken, and written after', async () => {
    const { db, alarms } = rig();
    for (let i = 0; i <= MAX_CLEARED_SHOWN; i++) {
      alarms.raise('door_forced', 'main');
      alarms.clear('door_forced', 'main');
    }
    const oldest = stored(db)[0]!.id;
    expect(alarms.unresolved().some((a) => a.id === oldest)).toBe(false);
    const release = holdLock(db);
    const started = performance.now();
    expect(alarms.acknowledge(oldest, 'staff')).toBe(true);
    expect(alarms.acknowledge(999_999, 'staff')).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
    release();
    await vi.waitFor(() => expect(stored(db)[0]!.ackedBy).toBe('staff'), { timeout: 5000 });
  });

  it('a stop writes what is left, waiting for the lock', () => {
    const { db, alarms } = rig();
    const release = holdLock(db);
    alarms.raise('door_forced', 'main');
    release();
    alarms.flush();
    expect(stored(db).map((r) => r.code)).toEqual(['door_forced']);
  });
});
