import type { Statement } from 'better-sqlite3';
import {
  dayOfLocalHour,
  hourOfLocalHour,
  localHourNumber,
  type OffsetSegment,
  offsetSegments,
} from '../stats/tz.ts';
import { forgetLiveBefore, recountLiveSlots } from '../stats/live.ts';
import type { Db } from '../store/db.ts';

const DAY_MS = 86_400_000;

export interface AnonymiseOptions {
  /** Entries keep their card hash this many days (config entries.identified_days). */
  identifiedDays: number;
  /** Site time zone (config site.timezone); statistics buckets are local day and hour. */
  timezone: string;
  now?: number;
  /** Entries per transaction. */
  batchSize?: number;
  /** Stop after this many batches; the rest waits for the next run. */
  maxBatches?: number;
  /**
   * A backlog at least this large that is also most of the table runs in bulk mode: the secondary indexes
   * on entries other than the ts index are dropped for the run and rebuilt at its end (maintaining a
   * random-keyed card index costs more than the rest of the work together).
   */
  bulkThreshold?: number;
  /**
   * Another process writes to the same store (the door): each transaction is sized to take about this
   * long, so a door commit waits at most that, and bulk mode (index drop and rebuild) is off.
   */
  transactionBudgetMs?: number;
  /** With a budget: pause after each batch for this many times its duration (the door's share of the lock). */
  pauseRatio?: number;
  /**
   * With the async driver: batches commit without syncing (synchronous = NORMAL) and this syncs the log after
   * each, outside the write lock (store/wal-sync.ts). Whatever else this connection commits meanwhile is synced
   * with the next batch. A power cut can undo the last batch: it is anonymised again at the next run.
   */
  walSync?: () => Promise<void>;
  /** Called inside each batch's transaction before it commits; a throw rolls that batch back (tests). */
  onBatch?: (info: { batch: number; rows: number }) => void;
  /** Monotonic milliseconds that time each transaction for the budget (performance.now; tests inject one). */
  elapsedMs?: () => number;
}

export interface AnonymiseResult {
  /** Identified entries turned into statistics and deleted. */
  rows: number;
  /** Transactions committed. */
  batches: number;
  /** Entries with ts before this were due. */
  cutoff: number;
  /** Whether secondary indexes were dropped and rebuilt for this run. */
  bulk: boolean;
}

/** Entries with ts before the returned instant are past their identified period. */
export function identifiedCutoff(identifiedDays: number, now = Date.now()): number {
  return now - identifiedDays * DAY_MS;
}

// The SQL is built by functions called per database (statements are cached per Db), not by module-level
// constants: mutation testing switches mutants per test, which a value computed at import never sees.

/** Folds entries into entry_stats, bucketed by local-hour number ((ts + offset) / 1h); `extra` narrows them. */
function foldSql(extra: string): string {
  return `
  INSERT INTO entry_stats (day, hour, door, mode, outcome, reason, category, age_band, count)
  SELECT date(lh * 3600, 'unixepoch') AS day, lh % 24 AS hour, door, mode, outcome, reason, category, age_band, n FROM (
    SELECT (ts + CAST(@offset AS INTEGER)) / 3600000 AS lh, door, mode, outcome, reason,
           COALESCE(category, '') AS category, COALESCE(age_band, '') AS age_band, COUNT(*) AS n
      FROM entries WHERE ts >= @from AND ts < @to ${extra}
     GROUP BY lh, door, mode, outcome, reason, category, age_band
  ) WHERE true
  ON CONFLICT (day, hour, door, mode, outcome, reason, category, age_band) DO UPDATE SET count = count + excluded.count`;
}

/**
 * The summaries of the local hours, days and months a batch touched are recomputed, each from the finer
 * one below it: bounded work, and it repairs them whatever was there.
 */
function summarySql(): string[] {
  const hourRange = `day >= @d0 AND day <= @d1 AND NOT (day = @d0 AND hour < @h0) AND NOT (day = @d1 AND hour > @h1)`;
  const dayRange = 'day >= @d0 AND day <= @d1';
  // '-31' sorts after every day of any month and before the next month's '-01'.
  const monthDays = "day >= @m0 || '-01' AND day <= @m1 || '-31'";
  return [
    `DELETE FROM entry_stats_hourly WHERE ${hourRange}`,
    `INSERT INTO entry_stats_hourly (day, hour, door, outcome, count)
     SELECT day, hour, door, outcome, SUM(count) FROM entry_stats WHERE ${hourRange} GROUP BY day, hour, door, outcome`,
    `DELETE FROM entry_stats_daily WHERE ${dayRange}`,
    `INSERT INTO entry_stats_daily (day, door, mode, outcome, reason, count)
     SELECT day, door, mode, outcome, reason, SUM(count) FROM entry_stats WHERE ${dayRange}
      GROUP BY day, door, mode, outcome, reason`,
    `DELETE FROM entry_stats_days WHERE ${dayRange}`,
    `INSERT INTO entry_stats_days (day, door, outcome, count)
     SELECT day, door, outcome, SUM(count) FROM entry_stats_hourly WHERE ${dayRange} GROUP BY day, door, outcome`,
    'DELETE FROM entry_stats_month_hours WHERE month >= @m0 AND month <= @m1',
    `INSERT INTO entry_stats_month_hours (month, hour, door, outcome, count)
     SELECT substr(day, 1, 7), hour, door, outcome, SUM(count) FROM entry_stats_hourly WHERE ${monthDays}
      GROUP BY 1, hour, door, outcome`,
    'DELETE FROM entry_stats_monthly WHERE month >= @m0 AND month <= @m1',
    `INSERT INTO entry_stats_monthly (month, door, mode, outcome, reason, count)
     SELECT substr(day, 1, 7), door, mode, outcome, reason, SUM(count) FROM entry_stats_daily WHERE ${monthDays}
      GROUP BY 1, door, mode, outcome, reason`,
  ];
}
/**
 * The hour and day summaries of one batch's entries, added to what they hold (a budgeted run): the same local
 * hour as foldSql, so they stay what recomputing them from entry_stats would give. Recomputing instead costs
 * a whole day's entry_stats rows in every batch, which on a busy day outgrew the batch's time budget.
 */
function summaryAddSql(): string[] {
  const batch = (columns: string) => `
    SELECT (ts + CAST(@offset AS INTEGER)) / 3600000 AS lh, ${columns}, COUNT(*) AS n
      FROM entries WHERE ts >= @from AND ts < @to GROUP BY lh, ${columns}`;
  return [
    `INSERT INTO entry_stats_hourly (day, hour, door, outcome, count)
     SELECT date(lh * 3600, 'unixepoch'), lh % 24, door, outcome, n FROM (${batch('door, outcome')}) WHERE true
     ON CONFLICT (day, hour, door, outcome) DO UPDATE SET count = count + excluded.count`,
    `INSERT INTO entry_stats_days (day, door, outcome, count)
     SELECT date(lh * 3600, 'unixepoch') AS day, door, outcome, SUM(n) FROM (${batch('door, outcome')})
      GROUP BY day, door, outcome
     ON CONFLICT (day, door, outcome) DO UPDATE SET count = count + excluded.count`,
    `INSERT INTO entry_stats_daily (day, door, mode, outcome, reason, count)
     SELECT date(lh * 3600, 'unixepoch') AS day, door, mode, outcome, reason, SUM(n)
       FROM (${batch('door, mode, outcome, reason')}) GROUP BY day, door, mode, outcome, reason
     ON CONFLICT (day, door, mode, outcome, reason) DO UPDATE SET count = count + excluded.count`,
  ];
}

/** summarySql() from this index on are the month summaries. */
const MONTH_STATEMENTS_FROM = 6;

interface Statements {
  foldRange: Statement;
  foldCard: Statement;
  summaries: Statement[];
  /** A batch's entries added to the hour and day summaries (summaryAddSql). */
  dayAdds: Statement[];
  monthSummaries: Statement[];
  markMonth: Statement;
  oldest: Statement;
  boundary: Statement;
  deleteBefore: Statement;
  cardSpan: Statement;
  deleteCard: Statement;
  cardSlots: Statement;
  countBefore: Statement;
  countAll: Statement;
}

const cache = new WeakMap<Db, Statements>();

function statements(db: Db): Statements {
  let s = cache.get(db);
  if (!s) {
    s = {
      foldRange: db.prepare(foldSql('')),
      foldCard: db.prepare(foldSql('AND card_hash = @card')),
      summaries: summarySql().map((sql) => db.prepare(sql)),
      dayAdds: summaryAddSql().map((sql) => db.prepare(sql)),
      monthSummaries: summarySql()
        .slice(MONTH_STATEMENTS_FROM)
        .map((sql) => db.prepare(sql)),
      markMonth: db.prepare('INSERT OR IGNORE INTO retention_pending_months (month) VALUES (?)'),
      oldest: db.prepare('SELECT ts FROM entries WHERE ts < ? ORDER BY ts LIMIT 1').pluck(),
      boundary: db.prepare('SELECT ts FROM entries WHERE ts < ? ORDER BY ts LIMIT 1 OFFSET ?').pluck(),
      deleteBefore: db.prepare('DELETE FROM entries WHERE ts < ?'),
      cardSpan: db.prepare(
        'SELECT MIN(ts) AS lo, MAX(ts) AS hi, COUNT(*) AS n FROM entries WHERE card_hash = ?',
      ),
      deleteCard: db.prepare('DELETE FROM entries WHERE card_hash = ?'),
      cardSlots: db
        .prepare('SELECT DISTINCT CAST(ts AS INTEGER) / 3600000 FROM entries WHERE card_hash = ?')
        .pluck(),
      countBefore: db.prepare('SELECT COUNT(*) FROM entries WHERE ts < ?').pluck(),
      countAll: db.prepare('SELECT COUNT(*) FROM entries').pluck(),
    };
    cache.set(db, s);
  }
  return s;
}

/**
 * Recomputes the summaries for the local hours from the first segment's start to the last one's end. With
 * `deferMonths` (a budgeted run, beside the door) the batch's own entries are added to the hour and day
 * summaries instead, and the months are only marked pending (refreshPendingMonths does them): recomputing a
 * day or a month costs milliseconds whatever the batch's size, and such a batch must stay short.
 */
function refreshSummaries(s: Statements, segments: OffsetSegment[], deferMonths = false): void {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last) return;
  const lh0 = localHourNumber(first.start, first.offsetMs);
  const lh1 = localHourNumber(last.end - 1, last.offsetMs);
  const d0 = dayOfLocalHour(lh0);
  const d1 = dayOfLocalHour(lh1);
  const all = {
    d0,
    h0: hourOfLocalHour(lh0),
    d1,
    h1: hourOfLocalHour(lh1),
    m0: d0.slice(0, 7),
    m1: d1.slice(0, 7),
  };
  if (!deferMonths) {
    runSummaries(s.summaries, all);
    return;
  }
  for (const seg of segments)
    for (const add of s.dayAdds) add.run({ offset: seg.offsetMs, from: seg.start, to: seg.end });
  for (let month = all.m0; month <= all.m1; month = nextMonth(month)) s.markMonth.run(month);
}

const nextMonth = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
};

/** Recomputes the month summaries a deferred run left pending, one month per transaction. Returns how many. */
export function refreshPendingMonths(db: Db): number {
  const s = statements(db);
  const months = db
    .prepare('SELECT month FROM retention_pending_months ORDER BY month')
    .pluck()
    .all() as string[];
  const refresh = db.transaction((month: string) => {
    runSummaries(s.monthSummaries, { d0: '', h0: 0, d1: '', h1: 0, m0: month, m1: month });
    db.prepare('DELETE FROM retention_pending_months WHERE month = ?').run(month);
  });
  for (const month of months) refresh(month);
  return months.length;
}

type SummaryParams = { d0: string; h0: number; d1: string; h1: number; m0: string; m1: string };

/** Runs the summary statements; each is bound to only the parameters it names. */
function runSummaries(statements: Statement[], all: SummaryParams): void {
  for (const stmt of statements) {
    const params: Record<string, string | number> = {};
    for (const name of stmt.source.match(/@[a-z0-9]+/g) ?? []) {
      params[name.slice(1)] = all[name.slice(1) as keyof SummaryParams];
    }
    stmt.run(params);
  }
}

/** Recomputes every summary of entry_stats (repair, or after entry_stats was written by other means). */
export function rebuildStatsSummaries(db: Db): void {
  db.transaction(() => {
    const first = db.prepare('SELECT MIN(day) FROM entry_stats').pluck().get() as string | null;
    const last = db.prepare('SELECT MAX(day) FROM entry_stats').pluck().get() as string | null;
    for (const table of ['hourly', 'days', 'daily', 'month_hours', 'monthly'])
      db.exec(`DELETE FROM entry_stats_${table}`);
    if (!first || !last) return;
    runSummaries(
      summarySql().map((sql) => db.prepare(sql)),
      { d0: first, h0: 0, d1: last, h1: 23, m0: first.slice(0, 7), m1: last.slice(0, 7) },
    );
  })();
}

/** Recreates entries indexes a bulk run dropped (also after a crash; call at start-up). Returns how many. */
export function restoreDroppedIndexes(db: Db): number {
  const dropped = db.prepare('SELECT name, sql FROM retention_dropped_indexes').all() as {
    name: string;
    sql: string;
  }[];
  if (dropped.length === 0) return 0;
  db.transaction(() => {
    for (const { name, sql } of dropped) {
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name);
      if (!exists) db.exec(sql);
      db.prepare('DELETE FROM retention_dropped_indexes WHERE name = ?').run(name);
    }
  })();
  return dropped.length;
}

function dropSecondaryIndexes(db: Db): void {
  const batchIndex = 'entries_ts'; // the index batches walk; never dropped
  db.transaction(() => {
    const indexes = db
      .prepare(
        `SELECT name, sql FROM sqlite_master
          WHERE type = 'index' AND tbl_name = 'entries' AND sql IS NOT NULL AND name <> ?`,
      )
      .all(batchIndex) as { name: string; sql: string }[];
    // A unique index enforces something; only plain lookup indexes may go for a while.
    const unique = new Set(
      (db.pragma('index_list(entries)') as { name: string; unique: number }[])
        .filter((i) => i.unique)
        .map((i) => i.name),
    );
    for (const { name, sql } of indexes) {
      if (unique.has(name)) continue;
      db.prepare('INSERT OR REPLACE INTO retention_dropped_indexes (name, sql) VALUES (?, ?)').run(name, sql);
      db.exec(`DROP INDEX "${name.replace(/"/g, '""')}"`);
    }
  })();
}

/**
 * The work, one batch per step: each step is one committed transaction. Drivers: anonymiseEntries (runs it
 * through) and anonymiseEntriesAsync (yields to the event loop between steps).
 */
function* anonymiseSteps(
  db: Db,
  options: AnonymiseOptions,
): Generator<{ rows: number; bulk: boolean; ms: number }, AnonymiseResult, void> {
  const cutoff = identifiedCutoff(options.identifiedDays, options.now);
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 20_000));
  const budget = options.transactionBudgetMs;
  const elapsedMs = options.elapsedMs ?? (() => performance.now());
  // With a budget, start small and let the measured transaction time set the size.
  let size = budget === undefined ? batchSize : Math.min(batchSize, 100);
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  const bulkThreshold = options.bulkThreshold ?? 100_000;
  const s = statements(db);
  let rows = 0;
  let batches = 0;

  const runBatch = db.transaction((batchSize: number): number => {
    const lo = s.oldest.get(cutoff) as number | undefined;
    if (lo === undefined) return 0;
    // The batch ends after the batchSize-th oldest row; rows sharing its ts go along.
    const last = s.boundary.get(cutoff, batchSize - 1) as number | undefined;
    const hi = last === undefined ? cutoff : Math.min(last + 1, cutoff);
    const segments = offsetSegments(options.timezone, lo, hi);
    for (const seg of segments) s.foldRange.run({ offset: seg.offsetMs, from: seg.start, to: seg.end });
    refreshSummaries(s, segments, budget !== undefined);
    forgetLiveBefore(db, hi);
    const deleted = s.deleteBefore.run(hi).changes;
    options.onBatch?.({ batch: batches + 1, rows: deleted });
    return deleted;
  });

  const due = s.countBefore.get(cutoff) as number;
  const bulk = budget === undefined && due >= bulkThreshold && due * 2 >= (s.countAll.get() as number);
  if (bulk) dropSecondaryIndexes(db);
  else restoreDroppedIndexes(db);
  // A bigger page cache for the run: batches touch many pages of entries and entry_stats.
  const cacheSize = db.pragma('cache_size', { simple: true }) as number;
  const wantCache = -65_536; // KiB, i.e. 64 MiB
  const raiseCache = cacheSize < 0 ? cacheSize > wantCache : cacheSize < 16_384;
  if (raiseCache) db.pragma(`cache_size = ${wantCache}`);
  let finished = false;
  try {
    while (batches < maxBatches) {
      const started = elapsedMs();
      const n = runBatch(size);
      const ms = elapsedMs() - started;
      if (n === 0) break;
      rows += n;
      batches++;
      if (budget !== undefined) {
        const fit = Math.round((size * budget) / Math.max(ms, 0.01));
        size = Math.max(10, Math.min(batchSize, Math.round((size + fit) / 2)));
      }
      yield { rows: n, bulk, ms };
    }
    finished = true;
  } finally {
    if (raiseCache) db.pragma(`cache_size = ${cacheSize}`);
    if (!finished) {
      try {
        restoreDroppedIndexes(db);
        refreshPendingMonths(db);
      } catch {
        // Failing or stopped: indexes and months are redone by the next run; keep the error that got us here.
      }
    }
  }
  restoreDroppedIndexes(db);
  // This run's months, and any a killed run left pending.
  refreshPendingMonths(db);
  return { rows, batches, cutoff, bulk };
}

/**
 * Turns entries older than identified_days into anonymous hourly counts (entry_stats, added to what is
 * there) and deletes them. Each batch is one transaction holding both the counting and the deleting, so a
 * crash loses nothing and counts nothing twice; running it again just continues.
 */
export function anonymiseEntries(db: Db, options: AnonymiseOptions): AnonymiseResult {
  const steps = anonymiseSteps(db, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same, yielding to the event loop between batches so swipes are not held up behind a backlog.
 * `shouldStop` ends the run after the current batch (the rest waits for the next run).
 */
export async function anonymiseEntriesAsync(
  db: Db,
  options: AnonymiseOptions,
  shouldStop: () => boolean = () => false,
): Promise<AnonymiseResult & { stopped: boolean }> {
  const sync = options.walSync;
  const synchronous = db.pragma('synchronous', { simple: true }) as number;
  if (sync) db.pragma('synchronous = NORMAL');
  try {
    return await anonymiseStepByStep(db, options, shouldStop, sync);
  } finally {
    if (sync) db.pragma(`synchronous = ${synchronous}`);
  }
}

async function anonymiseStepByStep(
  db: Db,
  options: AnonymiseOptions,
  shouldStop: () => boolean,
  sync: (() => Promise<void>) | undefined,
): Promise<AnonymiseResult & { stopped: boolean }> {
  const steps = anonymiseSteps(db, options);
  const sofar: AnonymiseResult = {
    rows: 0,
    batches: 0,
    cutoff: identifiedCutoff(options.identifiedDays, options.now),
    bulk: false,
  };
  for (;;) {
    const step = steps.next();
    if (step.done) {
      await sync?.(); // the run's last commits (its finally) too
      return { ...step.value, stopped: false };
    }
    sofar.rows += step.value.rows;
    sofar.batches++;
    sofar.bulk = step.value.bulk;
    if (sync) {
      try {
        await sync();
      } catch (error) {
        steps.return(sofar);
        throw error;
      }
    }
    const pause = options.transactionBudgetMs === undefined ? 0 : step.value.ms * (options.pauseRatio ?? 3);
    await new Promise((resolve) => (pause >= 1 ? setTimeout(resolve, pause) : setImmediate(resolve)));
    if (shouldStop()) {
      steps.return(sofar); // runs the generator's finally: cache size and indexes restored
      return { ...sofar, stopped: true };
    }
  }
}

/**
 * Folds every entry of one card into entry_stats and deletes those entries (for erasure). Call inside
 * the caller's transaction. Returns the number of entries removed.
 */
export function foldCardEntries(db: Db, cardHash: string, timezone: string): number {
  const s = statements(db);
  const span = s.cardSpan.get(cardHash) as { lo: number | null; hi: number | null; n: number };
  if (span.n === 0 || span.lo === null || span.hi === null) return 0;
  const segments = offsetSegments(timezone, span.lo, span.hi + 1);
  for (const seg of segments)
    s.foldCard.run({ offset: seg.offsetMs, from: seg.start, to: seg.end, card: cardHash });
  refreshSummaries(s, segments);
  const slots = s.cardSlots.all(cardHash) as number[];
  const deleted = s.deleteCard.run(cardHash).changes;
  for (const slot of slots) recountLiveSlots(db, slot, slot + 1);
  return deleted;
}
