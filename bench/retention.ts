/**
 * Retention and statistics figures (printed, never asserted):
 * - anonymisation of 1,000,000 identified entries (target ≤ 10 s)
 * - the statistics API with 2,000,000 entries in the store (target ≤ 100 ms)
 * Standalone: node bin/run-ts.mjs bench/retention.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { anonymiseEntries } from '../src/retention/anonymise.ts';
import { type StatsQuery, statsCsv, statsOverview, visitsByHour } from '../src/stats/queries.ts';
import { type Db, openDb } from '../src/store/db.ts';

const DAY = 86_400_000;
const TZ = 'Europe/Oslo';

/**
 * Bulk-loads `count` entries spread evenly over `days` days before `end`, during opening hours
 * (06-21 UTC). `mix` 'skewed' is a plausible library (most swipes adult, 18-66, granted, main door);
 * 'uniform' spreads every column evenly, so almost every entry becomes its own statistics row (worst case).
 */
export function seedEntries(
  db: Db,
  count: number,
  days: number,
  end: number,
  mix: 'skewed' | 'uniform' = 'skewed',
): void {
  const from = Math.floor((end - days * DAY) / DAY) * DAY;
  const perDay = Math.max(1, Math.ceil(count / days));
  const pct = mix === 'skewed' ? (p: number) => p : (_: number) => 0;
  const u = mix === 'uniform';
  db.pragma('synchronous = OFF');
  db.prepare(
    `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < @count - 1)
     INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
     SELECT ts, door, mode, CASE WHEN reason LIKE 'allow%' THEN 'granted' ELSE 'denied' END, reason,
            printf('%064x', abs(random()) % 20000), category, age_band, 'live'
       FROM (
         SELECT @from + (i / CAST(@perDay AS INTEGER)) * 86400000 + 21600000 + abs(random()) % 54000000 AS ts,
                CASE WHEN abs(random()) % 100 < ${u ? 50 : 80} THEN 'main' ELSE 'side' END AS door,
                m AS mode,
                CASE WHEN m = 'closed' THEN 'closed'
                     WHEN abs(random()) % 100 < ${u ? 50 : 6} THEN
                       CASE abs(random()) % 4 WHEN 0 THEN 'no_agreement' WHEN 1 THEN 'bad_pin'
                                               WHEN 2 THEN 'blocked' ELSE 'card_expired' END
                     WHEN m = 'staffed' THEN 'allow_staffed' ELSE 'allow' END AS reason,
                CASE WHEN abs(random()) % 100 < ${pct(70)} THEN 'adult'
                     ELSE CASE abs(random()) % 4 WHEN 0 THEN 'child' WHEN 1 THEN 'youth' WHEN 2 THEN 'senior'
                                                 ELSE 'adult' END END AS category,
                CASE WHEN abs(random()) % 100 < ${pct(60)} THEN '18-66'
                     ELSE CASE abs(random()) % 5 WHEN 0 THEN '0-12' WHEN 1 THEN '13-15' WHEN 2 THEN '16-17'
                                                 WHEN 3 THEN '67+' ELSE '18-66' END END AS age_band
           FROM (SELECT i, CASE WHEN abs(random()) % 100 < ${u ? 33 : 55} THEN 'staffed'
                                WHEN abs(random()) % 100 < ${u ? 50 : 93} THEN 'staffless' ELSE 'closed' END AS m
                   FROM seq)
       )`,
  ).run({ count, from, perDay });
  db.pragma('synchronous = FULL');
}

function tempStore(): { db: Db; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dorvakt-bench-'));
  const db = openDb(join(dir, 'store.sqlite'));
  return {
    db,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AnonymiseFigures {
  entries: number;
  seedMs: number;
  anonymiseMs: number;
  /** CPU time of this process for the run (the box may be busy with other work). */
  anonymiseCpuMs: number;
  rowsPerSecond: number;
  batches: number;
  statsRows: number;
}

/** Anonymises `count` entries that are all past their identified period (one year of them). */
export async function benchAnonymise(count = 1_000_000, batchSize = 20_000): Promise<AnonymiseFigures> {
  const { db, cleanup } = tempStore();
  try {
    const now = Date.UTC(2026, 10, 26);
    const t0 = performance.now();
    seedEntries(db, count, 365, now - 31 * DAY);
    const seedMs = performance.now() - t0;
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now, batchSize });
    const cpu = process.cpuUsage(cpu0);
    const anonymiseMs = performance.now() - t1;
    const statsRows = db.prepare('SELECT COUNT(*) FROM entry_stats').pluck().get() as number;
    return {
      entries: result.rows,
      seedMs,
      anonymiseMs,
      anonymiseCpuMs: (cpu.user + cpu.system) / 1000,
      rowsPerSecond: Math.round(result.rows / (anonymiseMs / 1000)),
      batches: result.batches,
      statsRows,
    };
  } finally {
    cleanup();
  }
}

export interface StatsFigures {
  entries: number;
  rawEntries: number;
  statsRows: number;
  hourlyRows: number;
  dailyRows: number;
  /** ms of one statsOverview() call (hour, day, week, modes, outcomes) per range: first call and median. */
  overviewMs: Record<string, { cold: number; warm: number }>;
  visitsByHourMs: Record<string, { cold: number; warm: number }>;
  /** Overview over the last 30 days right after a swipe was recorded in an earlier hour (cache stamp changed). */
  overviewAfterBackdatedSwipeMs: number;
  csvYearMs: number;
  csvYearBytes: number;
}

function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** First call (cold: statements unprepared, nothing remembered) and the median of the next `runs`. */
function timeIt(fn: () => unknown, runs = 7): { cold: number; warm: number } {
  let t = performance.now();
  fn();
  const cold = performance.now() - t;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return { cold, warm: median(samples) };
}

/**
 * 2,000,000 entries over three years, anonymised the way the nightly job leaves them (only the last
 * 30 days identified), then the statistics API over the last 30 days, a year and everything.
 */
export async function benchStats(count = 2_000_000, years = 3): Promise<StatsFigures> {
  const { db, cleanup } = tempStore();
  try {
    const now = Date.now();
    seedEntries(db, count, Math.round(365 * years), now);
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now, batchSize: 50_000 });
    db.exec('ANALYZE');
    const rawEntries = db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    const statsRows = db.prepare('SELECT COUNT(*) FROM entry_stats').pluck().get() as number;
    const hourlyRows = db.prepare('SELECT COUNT(*) FROM entry_stats_hourly').pluck().get() as number;
    const dailyRows = db.prepare('SELECT COUNT(*) FROM entry_stats_daily').pluck().get() as number;
    const ranges: Record<string, StatsQuery> = {
      last30days: { from: now - 30 * DAY, to: now, timezone: TZ },
      year: { from: now - 365 * DAY, to: now, timezone: TZ },
      yearOneDoor: { from: now - 365 * DAY, to: now, timezone: TZ, door: 'side' },
      all: { from: now - (years * 365 + 2) * DAY, to: now + DAY, timezone: TZ },
    };
    const overviewMs: Record<string, { cold: number; warm: number }> = {};
    const visitsByHourMs: Record<string, { cold: number; warm: number }> = {};
    for (const [name, q] of Object.entries(ranges)) {
      overviewMs[name] = timeIt(() => statsOverview(db, q));
      visitsByHourMs[name] = timeIt(() => visitsByHour(db, q));
    }
    db.prepare(
      `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
       VALUES (?, 'main', 'staffless', 'granted', 'allow', NULL, 'adult', '18-66', 'offline')`,
    ).run(now - 5 * DAY);
    let t = performance.now();
    statsOverview(db, ranges['last30days']!);
    const overviewAfterBackdatedSwipeMs = performance.now() - t;
    let csv = '';
    t = performance.now();
    csv = statsCsv(db, ranges['year']!);
    const csvYearMs = performance.now() - t;
    return {
      entries: count,
      rawEntries,
      statsRows,
      hourlyRows,
      dailyRows,
      overviewMs,
      visitsByHourMs,
      overviewAfterBackdatedSwipeMs,
      csvYearMs,
      csvYearBytes: csv.length,
    };
  } finally {
    cleanup();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

export async function runRetentionBench(): Promise<void> {
  console.log(
    `load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  const anon = await benchAnonymise();
  console.log(
    `anonymise ${anon.entries} entries: ${round(anon.anonymiseMs)} ms, CPU ${round(anon.anonymiseCpuMs)} ms (${anon.rowsPerSecond} rows/s, ` +
      `${anon.batches} batches → ${anon.statsRows} stats rows; seeding took ${round(anon.seedMs)} ms) [target ≤ 10000 ms]`,
  );
  const stats = await benchStats();
  console.log(
    `statistics with ${stats.entries} entries (${stats.rawEntries} identified, ${stats.statsRows} stats rows, ` +
      `${stats.hourlyRows} + ${stats.dailyRows} summary rows):`,
  );
  for (const name of Object.keys(stats.overviewMs)) {
    const o = stats.overviewMs[name]!;
    const h = stats.visitsByHourMs[name]!;
    console.log(
      `  ${name}: statsOverview first ${round(o.cold)} ms, then ${round(o.warm)} ms; ` +
        `visitsByHour first ${round(h.cold)} ms, then ${round(h.warm)} ms [target ≤ 100 ms]`,
    );
  }
  console.log(
    `  last30days overview after a back-dated entry: ${round(stats.overviewAfterBackdatedSwipeMs)} ms`,
  );
  console.log(`  CSV for a year: ${round(stats.csvYearMs)} ms, ${stats.csvYearBytes} bytes`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await runRetentionBench();
}
