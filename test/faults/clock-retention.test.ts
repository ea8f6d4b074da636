import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { anonymiseEntries } from '../../src/retention/anonymise.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { tempDir } from '../helpers/tmp.ts';
import { swipeBookkeeping } from '../helpers/swipe-bookkeeping.ts';

/**
 * Retention cut-offs under clock jumps: anonymisation runs on whatever the clock says, so a clock
 * stepped back must not anonymise early nor count anything twice, and a step forward only catches up.
 * Statistics buckets are local hours, right across DST.
 */
const DAY = 86_400_000;
const dirs: ReturnType<typeof tempDir>[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function store(): { db: Db; add(ts: number): void; identified(): number[]; statsTotal(): number } {
  const dir = tempDir('clock-retention-');
  dirs.push(dir);
  const db = openDb(join(dir.path, 'store.sqlite'));
  dbs.push(db);
  const entries = new EntryStore(db, openDoorJournal(':memory:'));
  return {
    db,
    add(ts) {
      entries.record(swipeBookkeeping({ ts, category: 'V', ageBand: '18-66' }));
      entries.deliver();
    },
    identified: () =>
      db.prepare('SELECT ts FROM entries WHERE card_hash IS NOT NULL ORDER BY ts').pluck().all() as number[],
    statsTotal: () => db.prepare('SELECT COALESCE(SUM(count), 0) FROM entry_stats').pluck().get() as number,
  };
}

describe('retention cut-offs when the clock jumps', () => {
  it('a backward step neither anonymises early nor counts twice; a forward step catches up', () => {
    const s = store();
    const now = Date.parse('2026-11-26T10:00:00Z');
    const due = now - 30 * DAY - 60_000;
    const notYet = now - 30 * DAY + 60_000;
    s.add(due);
    s.add(notYet);
    const run = (at: number) =>
      anonymiseEntries(s.db, { identifiedDays: 30, timezone: 'Europe/Oslo', now: at }).rows;

    expect(run(now)).toBe(1);
    expect(s.identified()).toEqual([notYet]);
    // NTP steps the clock back two hours; the next run must not touch notYet, nor recount.
    expect(run(now - 2 * 3_600_000)).toBe(0);
    expect(s.identified()).toEqual([notYet]);
    expect(s.statsTotal()).toBe(1);
    // A clock that booted a year behind (dead RTC battery) anonymises nothing at all.
    expect(run(now - 365 * DAY)).toBe(0);
    expect(s.identified()).toEqual([notYet]);
    // Forward again: exactly the entry now past 30 days goes.
    expect(run(now + 2 * 60_000)).toBe(1);
    expect(s.identified()).toEqual([]);
    expect(s.statsTotal()).toBe(2);
  });

  it('entries stay identified exactly identified_days, and land in their local hour across DST', () => {
    const s = store();
    const summer = Date.parse('2026-10-10T12:15:00+02:00'); // CEST
    const winter = Date.parse('2026-10-26T12:15:00+01:00'); // CET, after the change on Oct 25
    s.add(summer);
    s.add(winter);
    const run = (at: number) =>
      anonymiseEntries(s.db, { identifiedDays: 30, timezone: 'Europe/Oslo', now: at });
    expect(run(summer + 30 * DAY - 1).rows).toBe(0);
    expect(run(summer + 30 * DAY + 1).rows).toBe(1);
    expect(run(winter + 30 * DAY + 1).rows).toBe(1);
    const rows = s.db.prepare('SELECT day, hour, count FROM entry_stats ORDER BY day').all();
    expect(rows).toEqual([
      { day: '2026-10-10', hour: 12, count: 1 },
      { day: '2026-10-26', hour: 12, count: 1 },
    ]);
  });
});
