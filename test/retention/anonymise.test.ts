import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  anonymiseEntries,
  identifiedCutoff,
  rebuildStatsSummaries,
  restoreDroppedIndexes,
} from '../../src/retention/anonymise.ts';
import { rebuildLiveSummary } from '../../src/stats/live.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  expectedStats,
  generateEntries,
  insertEntries,
  liveMatchesEntries,
  type SeedEntry,
  storedStats,
} from './seed.ts';

const TZ = 'Europe/Oslo';
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 26, 9, 0); // 2026-11-26
const YEAR_AGO = Date.UTC(2025, 10, 26);

function sumStats(db: Db): number {
  return (db.prepare('SELECT COALESCE(SUM(count), 0) FROM entry_stats').pluck().get() as number) ?? 0;
}
function countEntries(db: Db): number {
  return db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
}
function indexSql(db: Db, name: string): string | undefined {
  return db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(name) as
    | string
    | undefined;
}
/** The dashboard summaries equal entry_stats regrouped, row for row. */
function summariesMatchStats(db: Db): boolean {
  const same = (summary: string, columns: string, source = columns) => {
    const q = (sql: string) => db.prepare(sql).pluck().get() as number;
    const regrouped = `SELECT ${source}, SUM(count) AS n FROM entry_stats GROUP BY ${source}`;
    return (
      q(`SELECT COUNT(*) FROM (${regrouped} EXCEPT SELECT ${columns}, count FROM ${summary})`) === 0 &&
      q(`SELECT COUNT(*) FROM (SELECT ${columns}, count FROM ${summary} EXCEPT ${regrouped})`) === 0
    );
  };
  return (
    same('entry_stats_hourly', 'day, hour, door, outcome') &&
    same('entry_stats_days', 'day, door, outcome') &&
    same('entry_stats_daily', 'day, door, mode, outcome, reason') &&
    same('entry_stats_month_hours', 'month, hour, door, outcome', 'substr(day, 1, 7), hour, door, outcome') &&
    same(
      'entry_stats_monthly',
      'month, door, mode, outcome, reason',
      'substr(day, 1, 7), door, mode, outcome, reason',
    )
  );
}

describe('anonymiseEntries on a year of entries (real SQLite file)', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let entries: SeedEntry[];
  let due: SeedEntry[];
  /** The reference counts of `due` (a slow per-row computation; the same for every test). */
  let expectedDue: ReturnType<typeof expectedStats>;
  const cutoff = identifiedCutoff(30, NOW);

  let seeded: ReturnType<typeof tempDir>;

  // The year is seeded once into a closed store file; each test starts from its own copy of that file.
  beforeAll(() => {
    seeded = tempDir('dorvakt-anon-seed-');
    const seedDb = openDb(join(seeded.path, 'store.sqlite'));
    entries = generateEntries({ from: YEAR_AGO, to: NOW, count: 20_000, seed: 7 });
    insertEntries(seedDb, entries);
    seedDb.close();
    // Closing checkpointed the log: the one file holds everything.
    expect(existsSync(join(seeded.path, 'store.sqlite-wal'))).toBe(false);
    due = entries.filter((e) => e.ts < cutoff);
    expectedDue = expectedStats(TZ, due);
  });
  afterAll(() => seeded.cleanup());

  beforeEach(() => {
    dir = tempDir('dorvakt-anon-');
    copyFileSync(join(seeded.path, 'store.sqlite'), join(dir.path, 'store.sqlite'));
    db = openDb(join(dir.path, 'store.sqlite'));
    expect(countEntries(db)).toBe(entries.length);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('turns exactly the due entries into counts and deletes them', () => {
    const result = anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, batchSize: 1000 });
    expect(due.length).toBeGreaterThan(15_000);
    expect(result.rows).toBe(due.length);
    expect(result.batches).toBe(Math.ceil(due.length / 1000));
    expect(storedStats(db)).toEqual(expectedDue);
    expect(db.prepare('SELECT COUNT(*) FROM entries WHERE ts < ?').pluck().get(cutoff)).toBe(0);
    expect(countEntries(db)).toBe(entries.length - due.length);
    expect(db.prepare('SELECT MIN(ts) FROM entries').pluck().get()).toBe(
      Math.min(...entries.filter((e) => e.ts >= cutoff).map((e) => e.ts)),
    );
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  it('is idempotent: a second run changes nothing', () => {
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    const before = storedStats(db);
    const again = anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    expect(again).toMatchObject({ rows: 0, batches: 0 });
    expect(storedStats(db)).toEqual(before);
  });

  it('adds to existing counts on later days', () => {
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW - 100 * DAY });
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW - 3 * DAY - 1234 });
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    expect(storedStats(db)).toEqual(expectedDue);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  it('the summaries can be rebuilt from entry_stats and entries after tampering', () => {
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    db.exec(`UPDATE entry_stats_hourly SET count = count + 1;
             DELETE FROM entry_stats_monthly;
             INSERT INTO entry_stats_days VALUES ('1999-01-01', 'x', 'granted', 5);
             UPDATE entry_live_hourly SET count = count * 2;`);
    expect(summariesMatchStats(db)).toBe(false);
    expect(liveMatchesEntries(db)).toBe(false);
    rebuildStatsSummaries(db);
    rebuildLiveSummary(db);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  it('beside the door (a transaction budget): small batches, months refreshed at the end, exact totals', () => {
    const pendingSeen: number[] = [];
    const result = anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      transactionBudgetMs: 2,
      onBatch: () => {
        pendingSeen.push(db.prepare('SELECT COUNT(*) FROM retention_pending_months').pluck().get() as number);
      },
    });
    expect(result.rows).toBe(due.length);
    expect(result.bulk).toBe(false);
    expect(result.batches).toBeGreaterThan(due.length / 20_000);
    // Inside each batch the month is only marked; after the run nothing is pending and every summary is exact.
    expect(Math.min(...pendingSeen)).toBeGreaterThan(0);
    expect(db.prepare('SELECT COUNT(*) FROM retention_pending_months').pluck().get()).toBe(0);
    expect(storedStats(db)).toEqual(expectedDue);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  it('months a killed run left pending are recomputed by the next run', () => {
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    const month = db.prepare('SELECT MIN(month) FROM entry_stats_monthly').pluck().get() as string;
    // As a run killed between its batches and its month refresh leaves them: stale, and marked.
    db.exec(`UPDATE entry_stats_monthly SET count = count + 5 WHERE month = '${month}';
             UPDATE entry_stats_month_hours SET count = count + 5 WHERE month = '${month}';
             INSERT INTO retention_pending_months (month) VALUES ('${month}');`);
    expect(summariesMatchStats(db)).toBe(false);
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, transactionBudgetMs: 2 });
    expect(summariesMatchStats(db)).toBe(true);
    expect(db.prepare('SELECT COUNT(*) FROM retention_pending_months').pluck().get()).toBe(0);
  });

  it('a throw inside a batch rolls back only that batch; a rerun completes with exact totals', () => {
    expect(() =>
      anonymiseEntries(db, {
        identifiedDays: 30,
        timezone: TZ,
        now: NOW,
        batchSize: 700,
        onBatch: ({ batch }) => {
          if (batch === 4) throw new Error('power cut');
        },
      }),
    ).toThrow('power cut');
    expect(sumStats(db)).toBe(3 * 700);
    expect(countEntries(db)).toBe(entries.length - 3 * 700);
    const rerun = anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, batchSize: 700 });
    expect(rerun.rows).toBe(due.length - 3 * 700);
    expect(storedStats(db)).toEqual(expectedDue);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  const killChild = (killAt: number, bulkThreshold: number) => {
    db.close();
    const child = spawnSync(
      process.execPath,
      [
        join('bin', 'run-ts.mjs'),
        join('test', 'retention', 'fixtures', 'anonymise-child.ts'),
        join(dir.path, 'store.sqlite'),
        TZ,
        String(killAt),
        String(NOW),
        String(bulkThreshold),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).not.toContain('finished');
    db = openDb(join(dir.path, 'store.sqlite'));
  };

  it('a process killed inside a batch loses nothing and counts nothing twice', () => {
    killChild(6, 1_000_000);
    // Five batches of 500 committed, the sixth died with the process.
    expect(sumStats(db)).toBe(5 * 500);
    expect(sumStats(db) + countEntries(db)).toBe(entries.length);
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    expect(storedStats(db)).toEqual(expectedDue);
    expect(countEntries(db)).toBe(entries.length - due.length);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  it('bulk mode drops the card index for the run and rebuilds it; same counts', () => {
    const cardIndexSql = indexSql(db, 'entries_card');
    expect(cardIndexSql).toContain('card_hash');
    const seenDuring: (string | undefined)[] = [];
    const result = anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      batchSize: 4000,
      bulkThreshold: 1000,
      onBatch: () => {
        seenDuring.push(indexSql(db, 'entries_card'));
      },
    });
    expect(result.bulk).toBe(true);
    expect(seenDuring.length).toBe(result.batches);
    expect(seenDuring.every((sql) => sql === undefined)).toBe(true);
    expect(indexSql(db, 'entries_card')).toBe(cardIndexSql);
    expect(indexSql(db, 'entries_ts')).toBeDefined();
    expect(db.prepare('SELECT COUNT(*) FROM retention_dropped_indexes').pluck().get()).toBe(0);
    expect(storedStats(db)).toEqual(expectedDue);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
    // The rebuilt index is used again for card lookups.
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT id FROM entries WHERE card_hash = ?').all('x') as {
      detail: string;
    }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('entries_card');
  });

  it('bulk mode leaves unique indexes alone', () => {
    db.exec('CREATE UNIQUE INDEX entries_unique_probe ON entries (ts, id)');
    const during: (string | undefined)[] = [];
    anonymiseEntries(db, {
      identifiedDays: 30,
      timezone: TZ,
      now: NOW,
      bulkThreshold: 1000,
      onBatch: () => {
        during.push(indexSql(db, 'entries_unique_probe'));
        expect(indexSql(db, 'entries_card')).toBeUndefined();
      },
    });
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((sql) => sql?.includes('UNIQUE'))).toBe(true);
  });

  it('a throw in bulk mode rolls back the batch and still rebuilds the index', () => {
    const cardIndexSql = indexSql(db, 'entries_card');
    expect(() =>
      anonymiseEntries(db, {
        identifiedDays: 30,
        timezone: TZ,
        now: NOW,
        batchSize: 1000,
        bulkThreshold: 1000,
        onBatch: ({ batch }) => {
          if (batch === 2) throw new Error('disk gone');
        },
      }),
    ).toThrow('disk gone');
    expect(indexSql(db, 'entries_card')).toBe(cardIndexSql);
    expect(sumStats(db)).toBe(1000);
  });

  it('a process killed in bulk mode leaves the index to rebuild; the next run rebuilds it and finishes', () => {
    const cardIndexSql = indexSql(db, 'entries_card');
    killChild(4, 1000);
    expect(indexSql(db, 'entries_card')).toBeUndefined();
    expect(db.prepare('SELECT name FROM retention_dropped_indexes').pluck().all()).toEqual(['entries_card']);
    expect(sumStats(db)).toBe(3 * 500);
    expect(sumStats(db) + countEntries(db)).toBe(entries.length);
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW });
    expect(indexSql(db, 'entries_card')).toBe(cardIndexSql);
    expect(db.prepare('SELECT COUNT(*) FROM retention_dropped_indexes').pluck().get()).toBe(0);
    expect(storedStats(db)).toEqual(expectedDue);
    expect(summariesMatchStats(db)).toBe(true);
    expect(liveMatchesEntries(db)).toBe(true);
  });

  it('restoreDroppedIndexes rebuilds what an interrupted run left, once', () => {
    const cardIndexSql = indexSql(db, 'entries_card');
    killChild(2, 1000);
    expect(restoreDroppedIndexes(db)).toBe(1);
    expect(restoreDroppedIndexes(db)).toBe(0);
    expect(indexSql(db, 'entries_card')).toBe(cardIndexSql);
  });
});

describe('anonymiseEntries across DST changes', () => {
  it('spring-forward day has 23 local hours, autumn day 24 buckets with hour 02 counted twice', () => {
    const db = openDb(':memory:');
    const spring = Date.UTC(2026, 2, 28, 23, 0); // 2026-03-29 00:00 CET
    const autumn = Date.UTC(2026, 9, 24, 22, 0); // 2026-10-25 00:00 CEST
    const rows: SeedEntry[] = [];
    for (const start of [spring, autumn]) {
      for (let t = start; t < start + 26 * 3_600_000; t += 600_000) {
        rows.push({
          ts: t,
          door: 'main',
          mode: 'staffless',
          outcome: 'granted',
          reason: 'allow',
          card_hash: 'h',
          category: null,
          age_band: null,
          source: null,
        });
      }
    }
    insertEntries(db, rows);
    anonymiseEntries(db, { identifiedDays: 1, timezone: TZ, now: Date.UTC(2026, 11, 1), batchSize: 37 });
    const hours = (day: string) =>
      db
        .prepare('SELECT hour, count FROM entry_stats WHERE day = ? ORDER BY hour')
        .raw()
        .all(day) as number[][];
    const springHours = hours('2026-03-29');
    expect(springHours.map((r) => r[0])).toEqual([0, 1, ...Array.from({ length: 21 }, (_, i) => i + 3)]);
    expect(springHours.every((r) => r[1] === 6)).toBe(true);
    const autumnHours = hours('2026-10-25');
    expect(autumnHours).toHaveLength(24);
    expect(autumnHours.find((r) => r[0] === 2)![1]).toBe(12);
    expect(autumnHours.filter((r) => r[0] !== 2).every((r) => r[1] === 6)).toBe(true);
    db.close();
  });
});

describe('anonymiseEntries property: any data, zone and batch size give the reference counts', () => {
  it('matches a slow per-row computation', () => {
    const zones = [
      'Europe/Oslo',
      'Europe/Copenhagen',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
    ];
    const around = [
      Date.UTC(2026, 2, 29, 1),
      Date.UTC(2026, 9, 25, 1),
      Date.UTC(2026, 3, 5, 15),
      Date.UTC(2026, 10, 1, 6),
    ];
    const entry = fc.record({
      ts: fc.constantFrom(...around).chain((c) => fc.integer({ min: c - 2 * DAY, max: c + 2 * DAY })),
      door: fc.constantFrom('main', 'side'),
      mode: fc.constantFrom('staffed', 'staffless', 'closed'),
      outcome: fc.constantFrom('granted' as const, 'denied' as const),
      reason: fc.constantFrom('allow', 'closed', 'bad_pin'),
      card_hash: fc.option(fc.constantFrom('a'.repeat(64), 'b'.repeat(64)), { nil: null }),
      category: fc.option(fc.constantFrom('adult', 'child'), { nil: null }),
      age_band: fc.option(fc.constantFrom('18-66', '0-12'), { nil: null }),
      source: fc.constant(null),
    });
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 150 }),
        fc.constantFrom(...zones),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 10 }),
        (rows, zone, batchSize, days) => {
          const db = openDb(':memory:');
          try {
            insertEntries(db, rows);
            const now = Date.UTC(2026, 10, 5);
            const cutoff = identifiedCutoff(days, now);
            const result = anonymiseEntries(db, { identifiedDays: days, timezone: zone, now, batchSize });
            const due = rows.filter((r) => r.ts < cutoff);
            expect(result.rows).toBe(due.length);
            expect(storedStats(db)).toEqual(expectedStats(zone, due));
            expect(countEntries(db)).toBe(rows.length - due.length);
            expect(summariesMatchStats(db)).toBe(true);
            expect(liveMatchesEntries(db)).toBe(true);
          } finally {
            db.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
