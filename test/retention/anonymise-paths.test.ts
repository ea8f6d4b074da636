import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  anonymiseEntries,
  anonymiseEntriesAsync,
  foldCardEntries,
  restoreDroppedIndexes,
} from '../../src/retention/anonymise.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { walDataSync } from '../../src/store/wal-sync.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fakeHash, grantedEntry, insertEntries, type SeedEntry } from './seed.ts';

/**
 * The paths of anonymisation the year-of-entries tests do not pin down: batch sizing under a transaction
 * budget (with an injected elapsed-time clock), the async driver's pauses and stop, the page cache, the bulk
 * decision, index names, month ranges. Expected values are worked out by hand in the comments.
 */
const TZ = 'Europe/Oslo';
const DAY = 86_400_000;
const MINUTE = 60_000;
// Every entry of these tests is more than 30 days before NOW unless said otherwise.
const NOW = Date.UTC(2026, 10, 30, 12, 0);

const entry = (ts: number, card = fakeHash(1)): SeedEntry => grantedEntry(ts, card);

/** `count` entries a minute apart from `from` (distinct ts, so a batch of n takes exactly n rows). */
function minutes(from: number, count: number, card?: string): SeedEntry[] {
  return Array.from({ length: count }, (_, i) => entry(from + i * MINUTE, card));
}

const q = (db: Db, sql: string, ...args: unknown[]) =>
  db
    .prepare(sql)
    .pluck()
    .get(...args);
const indexSql = (db: Db, name: string) =>
  q(db, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", name) as string | undefined;
const monthly = (db: Db) =>
  db.prepare('SELECT month, SUM(count) AS n FROM entry_stats_monthly GROUP BY month ORDER BY month').all();
const monthHours = (db: Db) =>
  db
    .prepare('SELECT month, SUM(count) AS n FROM entry_stats_month_hours GROUP BY month ORDER BY month')
    .all();

/** A clock where a batch of n rows takes n × perRowMs: advanced from inside the batch (onBatch). */
function rowClock(perRowMs: number) {
  let now = 0;
  return {
    elapsedMs: () => now,
    onBatch: ({ rows }: { rows: number }) => {
      now += rows * perRowMs;
    },
  };
}

describe('anonymisation paths (real SQLite files)', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    dir = tempDir('dorvakt-anon-paths-');
    db = openDb(join(dir.path, 'store.sqlite'));
  });
  afterEach(() => {
    vi.useRealTimers();
    db.close();
    dir.cleanup();
  });

  it('with a budget the first batch is 100 rows, then each is sized to take about the budget', () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 1000));
    const clock = rowClock(0.125); // 80 rows take 10 ms
    const sizes: number[] = [];
    const result = anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      transactionBudgetMs: 10,
      elapsedMs: clock.elapsedMs,
      onBatch: (info) => {
        sizes.push(info.rows);
        clock.onBatch(info);
      },
    });
    // fit = size × 10 / (size × 0.125) = 80; next = round((size + 80) / 2): 100, 90, 85, 83 (82.5), 82 (81.5),
    // 81, then 81 for good (80.5 rounds up).
    const expected = [100, 90, 85, 83, 82, 81];
    let left = 1000 - expected.reduce((a, b) => a + b, 0);
    while (left > 81) {
      expected.push(81);
      left -= 81;
    }
    expected.push(left);
    expect(sizes).toEqual(expected);
    expect(result).toMatchObject({ rows: 1000, batches: expected.length, bulk: false });
  });

  it('with a budget, cheap batches grow to batchSize and no further; dear ones shrink to 10 and no further', () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 2000));
    const cheap = rowClock(1 / 1024); // fit = size × 10 × 1024 / size = 10240
    const grown: number[] = [];
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 300,
      maxBatches: 3,
      transactionBudgetMs: 10,
      elapsedMs: cheap.elapsedMs,
      onBatch: (info) => {
        grown.push(info.rows);
        cheap.onBatch(info);
      },
    });
    expect(grown).toEqual([100, 300, 300]);

    const dear = rowClock(1); // fit = size × 1 / size = 1
    const shrunk: number[] = [];
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      maxBatches: 7,
      transactionBudgetMs: 1,
      elapsedMs: dear.elapsedMs,
      onBatch: (info) => {
        shrunk.push(info.rows);
        dear.onBatch(info);
      },
    });
    // round((100 + 1) / 2) = 51, then 26, 14 (13.5), 8 → 10, 10 (5.5 → 6 → 10), ...
    expect(shrunk).toEqual([100, 51, 26, 14, 10, 10, 10]);
  });

  it('maxBatches stops after exactly that many batches; the next run goes on', () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 95));
    const first = anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
      maxBatches: 3,
    });
    expect(first).toMatchObject({ rows: 30, batches: 3 });
    expect(q(db, 'SELECT COUNT(*) FROM entries')).toBe(65);
    const rest = anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, batchSize: 10 });
    expect(rest).toMatchObject({ rows: 65, batches: 7 });
    expect(q(db, 'SELECT SUM(count) FROM entry_stats')).toBe(95);
  });

  it('bulk mode only when the backlog reaches the threshold and at least half the table', () => {
    const old = minutes(Date.UTC(2026, 8, 1), 50);
    const young = (n: number) => minutes(NOW - DAY, n);
    const run = () => anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, bulkThreshold: 50 });

    insertEntries(db, [...old, ...young(50)]); // 50 due of 100: exactly half
    expect(run().bulk).toBe(true);

    db.exec('DELETE FROM entries');
    insertEntries(db, [...old, ...young(51)]); // 50 due of 101: less than half
    expect(run().bulk).toBe(false);

    db.exec('DELETE FROM entries');
    insertEntries(db, [...old.slice(1), ...young(1)]); // 49 due: under the threshold
    expect(run().bulk).toBe(false);
  });

  it('outside bulk mode the card index stays through every batch (and the ts index always does)', () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 300));
    const cardIndex = indexSql(db, 'entries_card');
    expect(cardIndex).toContain('card_hash');
    const seen: (string | undefined)[][] = [];
    const watch = () => seen.push([indexSql(db, 'entries_card'), indexSql(db, 'entries_ts')]);
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, batchSize: 100, onBatch: watch });
    expect(seen).toHaveLength(3);
    expect(seen.every(([card, ts]) => card === cardIndex && ts !== undefined)).toBe(true);

    // Bulk mode: the card index goes, the ts index (the one batches walk) stays.
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 300));
    seen.length = 0;
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 100,
      bulkThreshold: 1,
      onBatch: watch,
    });
    expect(seen).toHaveLength(3);
    expect(seen.every(([card, ts]) => card === undefined && ts !== undefined)).toBe(true);
    expect(indexSql(db, 'entries_card')).toBe(cardIndex);
  });

  it('bulk mode drops and rebuilds an index whose name has a double quote in it', () => {
    db.exec('CREATE INDEX "entries ""door"" probe" ON entries (door)');
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 100));
    const during: (string | undefined)[] = [];
    const result = anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      bulkThreshold: 1,
      onBatch: () => during.push(indexSql(db, 'entries "door" probe')),
    });
    expect(result).toMatchObject({ rows: 100, bulk: true });
    expect(during).toEqual([undefined]);
    expect(indexSql(db, 'entries "door" probe')).toContain('(door)');
  });

  it('restoreDroppedIndexes forgets an index someone already recreated, without failing', () => {
    const sql = indexSql(db, 'entries_card')!;
    // A bulk run's record left behind although the index is there again (recreated by hand after a crash).
    db.prepare('INSERT INTO retention_dropped_indexes (name, sql) VALUES (?, ?)').run('entries_card', sql);
    expect(restoreDroppedIndexes(db)).toBe(1);
    expect(indexSql(db, 'entries_card')).toBe(sql);
    expect(q(db, 'SELECT COUNT(*) FROM retention_dropped_indexes')).toBe(0);
  });

  it.each([
    ['the store default (openDb: -16000 KiB)', undefined, -65_536],
    ['a small page count (1000 pages)', 1000, -65_536],
    ['a larger page count (20000 pages, 80 MiB)', 20_000, 20_000],
    ['a larger KiB figure (-100000)', -100_000, -100_000],
  ])('the page cache is raised to 64 MiB for the run only when smaller: %s', (_, set, during) => {
    if (set !== undefined) db.pragma(`cache_size = ${set}`);
    const before = db.pragma('cache_size', { simple: true }) as number;
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 20));
    const seen: number[] = [];
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
      onBatch: () => seen.push(db.pragma('cache_size', { simple: true }) as number),
    });
    expect(seen).toEqual([during, during]);
    expect(db.pragma('cache_size', { simple: true })).toBe(before);
  });

  it('beside the door a batch marks its months (across a new year) and leaves their summaries to the end', () => {
    // One batch of exactly the 93 entries, one a day from 2025-11-15 to 2026-02-15 (a batch with room to
    // spare would run on to the cut-off).
    const from = Date.UTC(2025, 10, 15, 12);
    insertEntries(
      db,
      Array.from({ length: 93 }, (_, i) => entry(from + i * DAY)),
    );
    const pending: string[][] = [];
    const monthlyRows: number[] = [];
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 93,
      transactionBudgetMs: 1000,
      onBatch: () => {
        pending.push(
          db.prepare('SELECT month FROM retention_pending_months ORDER BY month').pluck().all() as string[],
        );
        monthlyRows.push(q(db, 'SELECT COUNT(*) FROM entry_stats_monthly') as number);
      },
    });
    expect(pending).toEqual([['2025-11', '2025-12', '2026-01', '2026-02']]);
    expect(monthlyRows).toEqual([0]);
    // Nov 15–30: 16 days; Dec 31; Jan 31; Feb 1–15: 15.
    const expected = [
      { month: '2025-11', n: 16 },
      { month: '2025-12', n: 31 },
      { month: '2026-01', n: 31 },
      { month: '2026-02', n: 15 },
    ];
    expect(monthly(db)).toEqual(expected);
    expect(monthHours(db)).toEqual(expected);
    expect(q(db, 'SELECT COUNT(*) FROM retention_pending_months')).toBe(0);
  });

  it('without a budget each batch commits every summary exact (a run killed after it needs no repair)', () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 30, 21), 240)); // 23:00 Oslo on 30 Sep to 03:00 on 1 Oct
    const sum = (table: string) => q(db, `SELECT COALESCE(SUM(count), 0) FROM ${table}`) as number;
    const inBatch: number[][] = [];
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 120,
      onBatch: () => {
        const pending = q(db, 'SELECT COUNT(*) FROM retention_pending_months') as number;
        inBatch.push([
          pending,
          sum('entry_stats_monthly'),
          sum('entry_stats_month_hours'),
          sum('entry_stats_days'),
        ]);
      },
    });
    // What each batch commits, as a kill right after its commit would leave it.
    expect(inBatch).toEqual([
      [0, 120, 120, 120],
      [0, 240, 240, 240],
    ]);
    // 60 entries on 30 Sep (23:00–23:59), 180 on 1 Oct (00:00–02:59).
    expect(monthly(db)).toEqual([
      { month: '2026-09', n: 60 },
      { month: '2026-10', n: 180 },
    ]);
    expect(monthHours(db)).toEqual(monthly(db));
    expect(db.prepare('SELECT day, SUM(count) AS n FROM entry_stats_days GROUP BY day').all()).toEqual([
      { day: '2026-09-30', n: 60 },
      { day: '2026-10-01', n: 180 },
    ]);
  });

  it('a month refresh counts the later days of the month already folded (an erased card)', () => {
    // Card B erased on 25 Nov (its entries folded early); card A's due entries on 5 Nov are folded after.
    const a = fakeHash(1);
    const b = fakeHash(2);
    insertEntries(db, [
      ...minutes(Date.UTC(2026, 10, 5, 10), 3, a),
      ...minutes(Date.UTC(2026, 10, 25, 10), 2, b),
    ]);
    db.transaction(() => foldCardEntries(db, b, TZ))();
    anonymiseEntries(db, { identifiedDays: 20, timezone: TZ, now: NOW });
    expect(q(db, 'SELECT COUNT(*) FROM entries')).toBe(0);
    expect(monthly(db)).toEqual([{ month: '2026-11', n: 5 }]);
    expect(monthHours(db)).toEqual([{ month: '2026-11', n: 5 }]);
  });
});

describe('foldCardEntries (erasure)', () => {
  let db: Db;
  beforeEach(() => {
    db = openDb(':memory:');
  });
  afterEach(() => db.close());

  it('folds only the card, even with another card between its entries, and refreshes every summary', () => {
    const x = fakeHash(1);
    const y = fakeHash(2);
    const t = Date.UTC(2026, 10, 20, 17, 30); // 18:30 in Oslo
    insertEntries(db, [entry(t, x), entry(t + MINUTE, y), entry(t + 2 * MINUTE, x)]);
    expect(db.transaction(() => foldCardEntries(db, x, TZ))()).toBe(2);
    expect(db.prepare('SELECT card_hash FROM entries').pluck().all()).toEqual([y]);
    expect(db.prepare('SELECT day, hour, count FROM entry_stats').all()).toEqual([
      { day: '2026-11-20', hour: 18, count: 2 },
    ]);
    // Not left for the next anonymisation run: the dashboard's month figures include them at once.
    expect(q(db, 'SELECT COUNT(*) FROM retention_pending_months')).toBe(0);
    expect(monthly(db)).toEqual([{ month: '2026-11', n: 2 }]);
    expect(monthHours(db)).toEqual([{ month: '2026-11', n: 2 }]);
    expect(q(db, 'SELECT SUM(count) FROM entry_stats_days')).toBe(2);
    // Anonymising Y later adds it: 3 in all, counted once each.
    anonymiseEntries(db, { identifiedDays: 1, timezone: TZ, now: NOW });
    expect(q(db, 'SELECT SUM(count) FROM entry_stats')).toBe(3);
    expect(monthly(db)).toEqual([{ month: '2026-11', n: 3 }]);
  });

  it('a card without entries folds nothing', () => {
    insertEntries(db, [entry(Date.UTC(2026, 10, 20), fakeHash(2))]);
    expect(foldCardEntries(db, fakeHash(1), TZ)).toBe(0);
    expect(q(db, 'SELECT COUNT(*) FROM entry_stats')).toBe(0);
  });
});

describe('anonymiseEntriesAsync', () => {
  let db: Db;
  beforeEach(() => {
    db = openDb(':memory:');
  });
  afterEach(() => {
    vi.useRealTimers();
    db.close();
  });

  it('without a budget it yields with setImmediate only (no timers) and runs to the end', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 45));
    const clock = rowClock(1); // a pause would be 30 ms a batch if one were taken
    const result = await anonymiseEntriesAsync(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
      ...clock,
    });
    expect(result).toEqual({ rows: 45, batches: 5, cutoff: NOW - 30 * DAY, bulk: false, stopped: false });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with a budget it pauses pauseRatio times each batch duration, by the clock', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 240));
    const clock = rowClock(0.125); // 80 rows: 10 ms; pause 10 × 2 = 20 ms
    let batches = 0;
    const run = anonymiseEntriesAsync(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 80,
      transactionBudgetMs: 10,
      pauseRatio: 2,
      elapsedMs: clock.elapsedMs,
      onBatch: (info) => {
        batches++;
        clock.onBatch(info);
      },
    });
    expect(batches).toBe(1);
    await vi.advanceTimersByTimeAsync(19);
    expect(batches).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toBe(2);
    await vi.advanceTimersByTimeAsync(20);
    expect(batches).toBe(3);
    await vi.advanceTimersByTimeAsync(20);
    expect(await run).toMatchObject({ rows: 240, batches: 3, stopped: false });
  });

  it('a pause of exactly 1 ms is a timer; a shorter one only yields a turn of the event loop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 24));
    let batches = 0;
    const run = (perRowMs: number) => {
      const clock = rowClock(perRowMs);
      return anonymiseEntriesAsync(db, {
        identifiedDays: 30,
        timezone: TZ,
        now: NOW,
        batchSize: 8,
        transactionBudgetMs: 1000,
        pauseRatio: 2,
        elapsedMs: clock.elapsedMs,
        onBatch: (info) => {
          batches++;
          clock.onBatch(info);
        },
      });
    };
    // 8 rows × 1/16 ms = 0.5 ms, × 2 = a pause of 1 ms: the second batch waits for the timer.
    const timed = run(1 / 16);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // the third batch
    await vi.advanceTimersByTimeAsync(1); // its pause, then the end
    expect(await timed).toMatchObject({ rows: 24, batches: 3 });
    // 8 rows × 1/32 ms × 2 = 0.5 ms: no timer at all.
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 24));
    expect(await run(1 / 32)).toMatchObject({ rows: 24, batches: 3 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('shouldStop ends the run after the current batch with its totals; the next run completes it exactly', async () => {
    insertEntries(db, minutes(Date.UTC(2026, 9, 30, 23), 50)); // 31 Oct from 00:00 Oslo
    let asked = 0;
    const stopped = await anonymiseEntriesAsync(
      db,
      { identifiedDays: 20, timezone: TZ, now: NOW, batchSize: 10, bulkThreshold: 1 },
      () => ++asked === 2,
    );
    expect(stopped).toEqual({ rows: 20, batches: 2, cutoff: NOW - 20 * DAY, bulk: true, stopped: true });
    // Stopping ran the run's end: index back, nothing pending, summaries exact for what was done.
    expect(indexSql(db, 'entries_card')).toContain('card_hash');
    expect(q(db, 'SELECT COUNT(*) FROM retention_dropped_indexes')).toBe(0);
    expect(q(db, 'SELECT COUNT(*) FROM entries')).toBe(30);
    expect(monthly(db)).toEqual([{ month: '2026-10', n: 20 }]);
    const rest = await anonymiseEntriesAsync(db, {
      identifiedDays: 20,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
    });
    expect(rest).toMatchObject({ rows: 30, batches: 3, stopped: false });
    expect(q(db, 'SELECT SUM(count) FROM entry_stats')).toBe(50);
    // 31 Oct 00:00–00:49 Oslo: all in October.
    expect(monthly(db)).toEqual([{ month: '2026-10', n: 50 }]);
  });
});

describe('anonymisation beside the door: batches commit unsynced, the log is synced between them', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    dir = tempDir('dorvakt-anon-sync-');
    db = openDb(join(dir.path, 'store.sqlite'));
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });
  const synchronous = () => db.pragma('synchronous', { simple: true });
  const FULL = 2;
  const NORMAL = 1;

  it('each batch commits at NORMAL and is followed by one sync outside its transaction; FULL again after', async () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 25));
    const seen: string[] = [];
    const result = await anonymiseEntriesAsync(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
      onBatch: ({ batch }) => seen.push(`batch ${batch} at ${synchronous()}`),
      walSync: async () => {
        seen.push(`sync, in a transaction: ${db.inTransaction}`);
      },
    });
    expect(result).toMatchObject({ rows: 25, batches: 3 });
    const sync = 'sync, in a transaction: false';
    expect(seen).toEqual([
      `batch 1 at ${NORMAL}`,
      sync,
      `batch 2 at ${NORMAL}`,
      sync,
      `batch 3 at ${NORMAL}`,
      sync,
      sync, // the run's end
    ]);
    expect(synchronous()).toBe(FULL);
  });

  it('without walSync every batch commits at FULL', async () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 15));
    const levels: unknown[] = [];
    await anonymiseEntriesAsync(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
      onBatch: () => levels.push(synchronous()),
    });
    expect(levels).toEqual([FULL, FULL]);
  });

  it('a failed sync ends the run with its error, FULL restored and the page cache as it was', async () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 25));
    const cache = db.pragma('cache_size', { simple: true });
    let batches = 0;
    const run = anonymiseEntriesAsync(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 10,
      onBatch: () => batches++,
      walSync: async () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    await expect(run).rejects.toThrow(/EIO/);
    expect(batches).toBe(1);
    expect(synchronous()).toBe(FULL);
    expect(db.pragma('cache_size', { simple: true })).toBe(cache);
    expect(q(db, 'SELECT COUNT(*) FROM entries')).toBe(15); // the first batch stays committed
  });

  it("walDataSync syncs the store's log, and a store without one is nothing to sync", async () => {
    insertEntries(db, minutes(Date.UTC(2026, 8, 1), 3));
    await expect(walDataSync(db)()).resolves.toBeUndefined();
    const memory = openDb(':memory:');
    await expect(walDataSync(memory)()).resolves.toBeUndefined();
    memory.close();
    // Anything else the open meets is an error the job must see.
    const bogus = { name: join(dir.path, 'no-such-dir', 'x\0') } as unknown as Db;
    await expect(walDataSync(bogus)()).rejects.toThrow();
  });
});
