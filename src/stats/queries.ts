import type { Statement } from 'better-sqlite3';
import { type Db, openReadOnly } from '../store/db.ts';
import {
  dayFromNumber,
  dayNumber,
  dayOfLocalHour,
  floorToLocalHour,
  hourOfLocalHour,
  isoWeek,
  localDayHour,
  type OffsetSegment,
  offsetSegments,
  startOfLocalDay,
} from './tz.ts';
import { recountLiveSlots, SLOT_MS } from './live.ts';
import { csvCell as escapeCsvCell } from './csv-cell.ts';

/**
 * Statistics for the dashboard and the annual CSV. Sources: anonymised hourly counts (entry_stats and its
 * roll-up without category/age band) plus the not-yet-anonymised entries, aggregated on the fly. No query
 * here reads or returns card_hash.
 */

/** Epoch ms, or a local date 'YYYY-MM-DD' meaning the start of that day in the site time zone. */
export type TimeBound = number | string;

export interface StatsQuery {
  /** Inclusive. Resolution is one local hour: both bounds are rounded down to the start of their hour. */
  from: TimeBound;
  /** Exclusive. For the whole of 2026: from '2026-01-01', to '2027-01-01'. */
  to: TimeBound;
  door?: string | undefined;
  /** Site time zone (config site.timezone). */
  timezone: string;
}

export interface VisitCount {
  granted: number;
  denied: number;
}
export interface HourBucket extends VisitCount {
  /** Local hour of day 0-23. */
  hour: number;
}
export interface DayBucket extends VisitCount {
  /** Local date 'YYYY-MM-DD'. */
  day: string;
}
export interface WeekBucket extends VisitCount {
  /** ISO 8601 week 'YYYY-Www' of the local date. */
  week: string;
}
export interface OutcomeCount {
  outcome: 'granted' | 'denied';
  reason: string;
  count: number;
}
/** Counts per door mode; always has staffed, staffless and closed, plus any other mode found. */
export type ModeCounts = Record<'staffed' | 'staffless' | 'closed', VisitCount> & Record<string, VisitCount>;

export interface StatsOverview {
  byHour: HourBucket[];
  byDay: DayBucket[];
  byWeek: WeekBucket[];
  modes: ModeCounts;
  outcomes: OutcomeCount[];
}

interface Window {
  fromTs: number;
  toTs: number;
  fromDay: string;
  fromHour: number;
  toDay: string;
  toHour: number;
  door: string | undefined;
  timezone: string;
}

function toInstant(bound: TimeBound, timezone: string): number {
  if (typeof bound === 'number') {
    if (!Number.isFinite(bound)) throw new RangeError('time bound must be finite');
    return bound;
  }
  return startOfLocalDay(timezone, bound);
}

function timeWindow(q: StatsQuery): Window {
  const fromTs = floorToLocalHour(q.timezone, toInstant(q.from, q.timezone));
  let toTs = floorToLocalHour(q.timezone, toInstant(q.to, q.timezone));
  if (toTs < fromTs) toTs = fromTs;
  const f = localDayHour(q.timezone, fromTs);
  const t = localDayHour(q.timezone, toTs);
  return {
    fromTs,
    toTs,
    fromDay: f.day,
    fromHour: f.hour,
    toDay: t.day,
    toHour: t.hour,
    door: q.door,
    timezone: q.timezone,
  };
}

/** Hourly slots recounted per transaction when the live summary needs repair. */
const RECOUNT_SLOTS = 168;
const statementCache = new WeakMap<Db, Map<string, Statement>>();

function prepared(db: Db, sql: string): Statement {
  let byDb = statementCache.get(db);
  if (!byDb) {
    byDb = new Map();
    statementCache.set(db, byDb);
  }
  let stmt = byDb.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    byDb.set(sql, stmt);
  }
  return stmt;
}

/** Anonymised buckets are selected by local wall-clock key: (day, hour) in [from, to). */
const KEY_RANGE =
  'day >= @fromDay AND day <= @toDay AND NOT (day = @fromDay AND hour < @fromHour) AND NOT (day = @toDay AND hour >= @toHour)';

function keyParams(w: Window): Record<string, string | number> {
  const p: Record<string, string | number> = {
    fromDay: w.fromDay,
    fromHour: w.fromHour,
    toDay: w.toDay,
    toHour: w.toHour,
  };
  if (w.door !== undefined) p['door'] = w.door;
  return p;
}

const doorFilter = (w: Window) => (w.door === undefined ? '' : ' AND door = @door');

/** Identified entries in the window, counted per local hour, mode, outcome and reason. */
interface RawRow {
  day: string;
  hour: number;
  mode: string;
  outcome: string;
  reason: string;
  n: number;
}

function rawRowsLive(db: Db, w: Window, fromTs: number, toTs: number): RawRow[] {
  if (toTs <= fromTs) return [];
  const stmt = prepared(
    db,
    `SELECT (ts + CAST(@offset AS INTEGER)) / 3600000 AS lh, mode, outcome, reason, COUNT(*) AS n
       FROM entries WHERE ts >= @from AND ts < @to${doorFilter(w)}
      GROUP BY lh, mode, outcome, reason`,
  ).raw();
  const out: RawRow[] = [];
  for (const seg of offsetSegments(w.timezone, fromTs, toTs)) {
    const p: Record<string, string | number> = { from: seg.start, to: seg.end, offset: seg.offsetMs };
    if (w.door !== undefined) p['door'] = w.door;
    for (const r of stmt.all(p) as [number, string, string, string, number][]) {
      out.push({
        day: dayOfLocalHour(r[0]),
        hour: hourOfLocalHour(r[0]),
        mode: r[1],
        outcome: r[2],
        reason: r[3],
        n: r[4],
      });
    }
  }
  return out;
}

/** Identified entries in the window, in the two shapes the charts need. */
interface Raw {
  /** Per local hour and outcome. */
  time: { day: string; hour: number; outcome: string; n: number }[];
  /** Per mode, outcome and reason. */
  modes: { mode: string; outcome: string; reason: string; n: number }[];
}

function rawFromRows(rows: RawRow[]): Raw {
  return {
    time: rows.map((r) => ({ day: r.day, hour: r.hour, outcome: r.outcome, n: r.n })),
    modes: rows.map((r) => ({ mode: r.mode, outcome: r.outcome, reason: r.reason, n: r.n })),
  };
}

/**
 * Whether entry_live_hourly can answer for the window: its total is checked against a count of the entries
 * (cheap: the ts index) and the window recounted when they disagree (entries deleted by code that did not
 * recount). False for zones whose offsets are not whole hours, or when a needed recount cannot be written
 * (a read-only connection): then the caller aggregates the rows themselves.
 */
function liveSummaryReady(db: Db, w: Window, segments: OffsetSegment[]): boolean {
  const wholeHours = segments.every(
    (seg) => seg.offsetMs % SLOT_MS === 0 && seg.start % SLOT_MS === 0 && seg.end % SLOT_MS === 0,
  );
  if (!wholeHours) return false;
  const fromSlot = w.fromTs / SLOT_MS;
  const toSlot = w.toTs / SLOT_MS;
  // One snapshot for both counts: the door process inserts entries all the while, and a swipe landing
  // between two separate reads would look like a broken summary and start a long recount.
  const [counted, summed] = db
    .transaction(() => [
      prepared(db, 'SELECT COUNT(*) FROM entries WHERE ts >= ? AND ts < ?').pluck().get(w.fromTs, w.toTs),
      prepared(db, 'SELECT TOTAL(count) FROM entry_live_hourly WHERE slot >= ? AND slot < ?')
        .pluck()
        .get(fromSlot, toSlot),
    ])
    .deferred();
  if (counted === summed) return true;
  try {
    // A week per transaction: the door's next commit never waits behind a recount of years.
    const recount = db.transaction((a: number, b: number) => recountLiveSlots(db, a, b));
    for (let slot = fromSlot; slot < toSlot; slot += RECOUNT_SLOTS)
      recount(slot, Math.min(toSlot, slot + RECOUNT_SLOTS));
    return true;
  } catch {
    return false;
  }
}

/**
 * Identified entries from entry_live_hourly (UTC hour slots), so no raw rows are aggregated, once
 * liveSummaryReady says it can answer; otherwise aggregated from the rows.
 */
function rawTotals(db: Db, w: Window): Raw {
  if (w.toTs <= w.fromTs) return { time: [], modes: [] };
  const segments = offsetSegments(w.timezone, w.fromTs, w.toTs);
  if (!liveSummaryReady(db, w, segments)) return rawFromRows(rawRowsLive(db, w, w.fromTs, w.toTs));
  const fromSlot = w.fromTs / SLOT_MS;
  const toSlot = w.toTs / SLOT_MS;
  const door = doorFilter(w);
  const timeStmt = prepared(
    db,
    `SELECT slot, outcome, SUM(count) FROM entry_live_hourly
      WHERE slot >= @s0 AND slot < @s1${door} GROUP BY slot, outcome`,
  ).raw();
  const time: Raw['time'] = [];
  for (const seg of segments) {
    const shift = seg.offsetMs / SLOT_MS;
    for (const r of timeStmt.all(withDoor(w, { s0: seg.start / SLOT_MS, s1: seg.end / SLOT_MS })) as [
      number,
      string,
      number,
    ][]) {
      const lh = r[0] + shift;
      time.push({ day: dayOfLocalHour(lh), hour: hourOfLocalHour(lh), outcome: r[1], n: r[2] });
    }
  }
  const modes = (
    prepared(
      db,
      `SELECT mode, outcome, reason, SUM(count) FROM entry_live_hourly
        WHERE slot >= @s0 AND slot < @s1${door} GROUP BY mode, outcome, reason`,
    )
      .raw()
      .all(withDoor(w, { s0: fromSlot, s1: toSlot })) as [string, string, string, number][]
  ).map((r) => ({ mode: r[0], outcome: r[1], reason: r[2], n: r[3] }));
  return { time, modes };
}

interface TimeRow {
  key: string | number;
  outcome: string;
  n: number;
}

interface ModeRow {
  mode: string;
  outcome: string;
  reason: string;
  n: number;
}

/**
 * The window as the summaries see it: whole months, the whole days outside them, and the hours of the
 * partial first and last day (local wall-clock keys).
 */
interface Parts {
  months: [string, string] | null;
  wholeDays: [string, string] | null;
  dayRanges: [string, string][];
  partial: { day: string; h0: number; h1: number }[];
}

function monthStart(month: string): number {
  return dayNumber(`${month}-01`);
}
function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

function parts(w: Window): Parts {
  const out: Parts = { months: null, wholeDays: null, dayRanges: [], partial: [] };
  if (w.toTs <= w.fromTs) return out;
  if (w.fromDay === w.toDay) {
    out.partial.push({ day: w.fromDay, h0: w.fromHour, h1: w.toHour - 1 });
    return out;
  }
  if (w.fromHour > 0) out.partial.push({ day: w.fromDay, h0: w.fromHour, h1: 23 });
  if (w.toHour > 0) out.partial.push({ day: w.toDay, h0: 0, h1: w.toHour - 1 });
  const first = w.fromHour === 0 ? dayNumber(w.fromDay) : dayNumber(w.fromDay) + 1;
  const last = dayNumber(w.toDay) - 1;
  if (first > last) return out;
  out.wholeDays = [dayFromNumber(first), dayFromNumber(last)];
  const firstDay = dayFromNumber(first);
  let m0 = firstDay.slice(0, 7);
  if (!firstDay.endsWith('-01')) m0 = nextMonth(m0);
  // The last whole month ends on or before `last`.
  let m1 = dayFromNumber(last).slice(0, 7);
  if (monthStart(nextMonth(m1)) - 1 > last) m1 = dayFromNumber(monthStart(m1) - 1).slice(0, 7);
  if (m0 <= m1) {
    out.months = [m0, m1];
    if (first < monthStart(m0)) out.dayRanges.push([dayFromNumber(first), dayFromNumber(monthStart(m0) - 1)]);
    const after = monthStart(nextMonth(m1));
    if (after <= last) out.dayRanges.push([dayFromNumber(after), dayFromNumber(last)]);
  } else {
    out.dayRanges.push([dayFromNumber(first), dayFromNumber(last)]);
  }
  return out;
}

function withDoor(w: Window, p: Record<string, string | number>): Record<string, string | number> {
  if (w.door !== undefined) p['door'] = w.door;
  return p;
}

/** Counts per local hour of day (key 0-23) and outcome. */
function hourRows(db: Db, w: Window, p: Parts, raw: Raw): TimeRow[] {
  const rows: TimeRow[] = [];
  const door = doorFilter(w);
  const push = (list: [number, string, number][]) => {
    for (const r of list) rows.push({ key: r[0], outcome: r[1], n: r[2] });
  };
  if (p.months) {
    push(
      prepared(
        db,
        `SELECT hour, outcome, SUM(count) FROM entry_stats_month_hours
          WHERE month >= @m0 AND month <= @m1${door} GROUP BY hour, outcome`,
      )
        .raw()
        .all(withDoor(w, { m0: p.months[0], m1: p.months[1] })) as [number, string, number][],
    );
  }
  const days = prepared(
    db,
    `SELECT hour, outcome, SUM(count) FROM entry_stats_hourly
      WHERE day >= @d0 AND day <= @d1${door} GROUP BY hour, outcome`,
  ).raw();
  for (const [d0, d1] of p.dayRanges) push(days.all(withDoor(w, { d0, d1 })) as [number, string, number][]);
  const hours = prepared(
    db,
    `SELECT hour, outcome, SUM(count) FROM entry_stats_hourly
      WHERE day = @day AND hour >= @h0 AND hour <= @h1${door} GROUP BY hour, outcome`,
  ).raw();
  for (const part of p.partial) push(hours.all(withDoor(w, { ...part })) as [number, string, number][]);
  for (const r of raw.time) rows.push({ key: r.hour, outcome: r.outcome, n: r.n });
  return rows;
}

/** Counts per local day (key 'YYYY-MM-DD') and outcome. */
function dayRows(db: Db, w: Window, p: Parts, raw: Raw): TimeRow[] {
  const rows: TimeRow[] = [];
  const door = doorFilter(w);
  const push = (list: [string, string, number][]) => {
    for (const r of list) rows.push({ key: r[0], outcome: r[1], n: r[2] });
  };
  if (p.wholeDays) {
    push(
      prepared(
        db,
        `SELECT day, outcome, SUM(count) FROM entry_stats_days
          WHERE day >= @d0 AND day <= @d1${door} GROUP BY day, outcome`,
      )
        .raw()
        .all(withDoor(w, { d0: p.wholeDays[0], d1: p.wholeDays[1] })) as [string, string, number][],
    );
  }
  const hours = prepared(
    db,
    `SELECT day, outcome, SUM(count) FROM entry_stats_hourly
      WHERE day = @day AND hour >= @h0 AND hour <= @h1${door} GROUP BY day, outcome`,
  ).raw();
  for (const part of p.partial) push(hours.all(withDoor(w, { ...part })) as [string, string, number][]);
  for (const r of raw.time) rows.push({ key: r.day, outcome: r.outcome, n: r.n });
  return rows;
}

/** Counts per mode, outcome and reason. */
function modeRows(db: Db, w: Window, p: Parts, raw: Raw): ModeRow[] {
  const totals = new Map<string, ModeRow>();
  const add = (mode: string, outcome: string, reason: string, n: number) => {
    const key = `${mode}\u0000${outcome}\u0000${reason}`;
    const have = totals.get(key);
    if (have) have.n += n;
    else totals.set(key, { mode, outcome, reason, n });
  };
  const addAll = (list: [string, string, string, number][]) => {
    for (const r of list) add(r[0], r[1], r[2], r[3]);
  };
  const door = doorFilter(w);
  if (p.months) {
    addAll(
      prepared(
        db,
        `SELECT mode, outcome, reason, SUM(count) FROM entry_stats_monthly
          WHERE month >= @m0 AND month <= @m1${door} GROUP BY mode, outcome, reason`,
      )
        .raw()
        .all(withDoor(w, { m0: p.months[0], m1: p.months[1] })) as [string, string, string, number][],
    );
  }
  const days = prepared(
    db,
    `SELECT mode, outcome, reason, SUM(count) FROM entry_stats_daily
      WHERE day >= @d0 AND day <= @d1${door} GROUP BY mode, outcome, reason`,
  ).raw();
  for (const [d0, d1] of p.dayRanges)
    addAll(days.all(withDoor(w, { d0, d1 })) as [string, string, string, number][]);
  const hours = prepared(
    db,
    `SELECT mode, outcome, reason, SUM(count) FROM entry_stats
      WHERE day = @day AND hour >= @h0 AND hour <= @h1${door} GROUP BY mode, outcome, reason`,
  ).raw();
  for (const part of p.partial)
    addAll(hours.all(withDoor(w, { ...part })) as [string, string, string, number][]);
  for (const r of raw.modes) add(r.mode, r.outcome, r.reason, r.n);
  return [...totals.values()];
}

function tally(target: VisitCount, outcome: unknown, n: number): void {
  if (outcome === 'granted') target.granted += n;
  else target.denied += n;
}

/** Days of the window, first to last (local dates). */
function daysOf(w: Window): string[] {
  if (w.toTs <= w.fromTs) return [];
  const first = dayNumber(w.fromDay);
  const last = dayNumber(localDayHour(w.timezone, w.toTs - 1).day);
  const days: string[] = [];
  for (let n = first; n <= last; n++) days.push(dayFromNumber(n));
  return days;
}

function byHour(rows: TimeRow[]): HourBucket[] {
  const out: HourBucket[] = Array.from({ length: 24 }, (_, hour) => ({ hour, granted: 0, denied: 0 }));
  for (const r of rows) tally(out[r.key as number]!, r.outcome, r.n);
  return out;
}

function byDay(w: Window, rows: TimeRow[]): DayBucket[] {
  const days = new Map<string, DayBucket>();
  for (const day of daysOf(w)) days.set(day, { day, granted: 0, denied: 0 });
  for (const r of rows) {
    const bucket = days.get(r.key as string);
    if (bucket) tally(bucket, r.outcome, r.n);
  }
  return [...days.values()];
}

function byWeek(days: DayBucket[]): WeekBucket[] {
  const weeks = new Map<string, WeekBucket>();
  for (const d of days) {
    const week = isoWeek(d.day);
    let bucket = weeks.get(week);
    if (!bucket) {
      bucket = { week, granted: 0, denied: 0 };
      weeks.set(week, bucket);
    }
    bucket.granted += d.granted;
    bucket.denied += d.denied;
  }
  return [...weeks.values()];
}

function byMode(rows: ModeRow[]): ModeCounts {
  const out: Record<string, VisitCount> = {
    staffed: { granted: 0, denied: 0 },
    staffless: { granted: 0, denied: 0 },
    closed: { granted: 0, denied: 0 },
  };
  for (const r of rows) {
    out[r.mode] ??= { granted: 0, denied: 0 };
    tally(out[r.mode]!, r.outcome, r.n);
  }
  return out as ModeCounts;
}

function byOutcome(rows: ModeRow[]): OutcomeCount[] {
  const totals = new Map<string, OutcomeCount>();
  for (const r of rows) {
    const outcome = r.outcome === 'granted' ? ('granted' as const) : ('denied' as const);
    const key = `${outcome}\u0000${r.reason}`;
    const have = totals.get(key);
    if (have) have.count += r.n;
    else totals.set(key, { outcome, reason: r.reason, count: r.n });
  }
  return [...totals.values()].sort(
    (a, b) => b.count - a.count || a.outcome.localeCompare(b.outcome) || a.reason.localeCompare(b.reason),
  );
}

/** Granted and denied swipes per local hour of day (always 24 buckets, 0-23). */
export function visitsByHour(db: Db, q: StatsQuery): HourBucket[] {
  const w = timeWindow(q);
  return byHour(hourRows(db, w, parts(w), rawTotals(db, w)));
}

/** Per local date, every day of the window present (zeros included). */
export function visitsByDay(db: Db, q: StatsQuery): DayBucket[] {
  const w = timeWindow(q);
  return byDay(w, dayRows(db, w, parts(w), rawTotals(db, w)));
}

/** Per ISO week of the local date, every week touching the window present. */
export function visitsByWeek(db: Db, q: StatsQuery): WeekBucket[] {
  const w = timeWindow(q);
  return byWeek(byDay(w, dayRows(db, w, parts(w), rawTotals(db, w))));
}

/** Granted and denied per door mode (staffed, staffless, closed, and any other mode found). */
export function staffedVsStaffless(db: Db, q: StatsQuery): ModeCounts {
  const w = timeWindow(q);
  return byMode(modeRows(db, w, parts(w), rawTotals(db, w)));
}

/** Counts per outcome and reason code, largest first. */
export function outcomes(db: Db, q: StatsQuery): OutcomeCount[] {
  const w = timeWindow(q);
  return byOutcome(modeRows(db, w, parts(w), rawTotals(db, w)));
}

/** Everything the statistics screen draws, in one call (reads each source once). */
export function statsOverview(db: Db, q: StatsQuery): StatsOverview {
  const w = timeWindow(q);
  const raw = rawTotals(db, w);
  const p = parts(w);
  const modes = modeRows(db, w, p, raw);
  const days = byDay(w, dayRows(db, w, p, raw));
  return {
    byHour: byHour(hourRows(db, w, p, raw)),
    byDay: days,
    byWeek: byWeek(days),
    modes: byMode(modes),
    outcomes: byOutcome(modes),
  };
}

export const CSV_COLUMNS = [
  'day',
  'hour',
  'door',
  'mode',
  'outcome',
  'reason',
  'category',
  'age_band',
] as const;

const csvCells = new Map<string, string>();

function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  // Few distinct values (doors, modes, reasons, categories): escape each once.
  let cell = csvCells.get(value);
  if (cell === undefined) {
    cell = escapeCsvCell(value);
    if (csvCells.size > 10_000) csvCells.clear();
    csvCells.set(value, cell);
  }
  return cell;
}

type CsvKey = [string, number, string, string, string, string, string, string];

function compareKeys(a: CsvKey, b: CsvKey): number {
  for (let i = 0; i < 8; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/**
 * CSV (RFC 4180, CRLF, header line) with one row per local day, hour, door, mode, outcome, reason, patron
 * category and age band, and its count; sorted by those columns. For the annual library statistics.
 */
export function statsCsv(db: Db, q: StatsQuery): string {
  let csv = '';
  for (const chunk of statsCsvChunks(db, q)) csv += chunk;
  return csv;
}

/** Rows per page of entry_stats read by statsCsvChunks. */
const CSV_PAGE_ROWS = 5000;

/**
 * statsCsv for a response body: read through its own read-only connection inside one read transaction (one
 * snapshot, however long the client takes), yielding to the event loop between pages.
 */
export async function* streamStatsCsv(
  storePath: string,
  q: StatsQuery,
  pageRows = CSV_PAGE_ROWS,
): AsyncGenerator<string> {
  const db = openReadOnly(storePath);
  try {
    db.exec('BEGIN');
    for (const chunk of statsCsvChunks(db, q, pageRows)) {
      yield chunk;
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
  }
}

/**
 * statsCsv in chunks of about `pageRows` lines, each read by its own statement (keyset paging on the key),
 * so a caller can yield between chunks and memory stays bounded whatever the window. Read it inside one
 * read transaction for a consistent snapshot (see streamStatsCsv).
 */
export function* statsCsvChunks(db: Db, q: StatsQuery, pageRows = CSV_PAGE_ROWS): Generator<string> {
  const w = timeWindow(q);
  yield `${[...CSV_COLUMNS, 'count'].join(',')}\r\n`;
  if (w.toTs <= w.fromTs) return;
  // Identified entries at full detail (days, not years: they are anonymised after identified_days), sorted;
  // merged into the anonymised rows, which come in key order.
  const rawTotals = new Map<string, { key: CsvKey; n: number }>();
  const rawStmt = prepared(
    db,
    `SELECT (ts + CAST(@offset AS INTEGER)) / 3600000 AS lh, door, mode, outcome, reason,
            COALESCE(category, '') AS category, COALESCE(age_band, '') AS age_band, COUNT(*) AS n
       FROM entries WHERE ts >= @from AND ts < @to${doorFilter(w)}
      GROUP BY lh, door, mode, outcome, reason, category, age_band`,
  );
  for (const seg of offsetSegments(w.timezone, w.fromTs, w.toTs)) {
    const p: Record<string, string | number> = { from: seg.start, to: seg.end, offset: seg.offsetMs };
    if (w.door !== undefined) p['door'] = w.door;
    for (const r of rawStmt.raw().all(p) as [
      number,
      string,
      string,
      string,
      string,
      string,
      string,
      number,
    ][]) {
      const key: CsvKey = [dayOfLocalHour(r[0]), hourOfLocalHour(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]];
      const id = key.join('\u0000');
      const have = rawTotals.get(id);
      if (have) have.n += r[7];
      else rawTotals.set(id, { key, n: r[7] });
    }
  }
  const raw = [...rawTotals.values()].sort((a, b) => compareKeys(a.key, b.key));
  let chunk = '';
  const emit = (key: CsvKey, n: number) => {
    for (const v of key) chunk += `${csvCell(v)},`;
    chunk += `${n}\r\n`;
  };
  const columns = 'day, hour, door, mode, outcome, reason, category, age_band';
  const select = `SELECT ${columns}, count FROM entry_stats WHERE ${KEY_RANGE}${doorFilter(w)}`;
  const firstPage = prepared(db, `${select} ORDER BY ${columns} LIMIT @limit`);
  // `+day` keeps the window's day bounds out of the index choice: each page then seeks to the last key on
  // the primary key instead of scanning from the window's first day again.
  const windowWithoutIndex = KEY_RANGE.replaceAll('day ', '+day ').replaceAll('(day', '(+day');
  const nextPage = prepared(
    db,
    `SELECT ${columns}, count FROM entry_stats WHERE ${windowWithoutIndex}${doorFilter(w)}
        AND (${columns}) > (@k0, @k1, @k2, @k3, @k4, @k5, @k6, @k7) ORDER BY ${columns} LIMIT @limit`,
  );
  const params = { ...keyParams(w), limit: Math.max(1, Math.floor(pageRows)) };
  let i = 0;
  let last: CsvKey | undefined;
  for (;;) {
    const page = (
      last === undefined
        ? firstPage.raw().all(params)
        : nextPage.raw().all({
            ...params,
            k0: last[0],
            k1: last[1],
            k2: last[2],
            k3: last[3],
            k4: last[4],
            k5: last[5],
            k6: last[6],
            k7: last[7],
          })
    ) as [string, number, string, string, string, string, string, string, number][];
    for (const r of page) {
      const key = r.slice(0, 8) as CsvKey;
      let n = r[8];
      while (i < raw.length && compareKeys(raw[i]!.key, key) < 0) {
        emit(raw[i]!.key, raw[i]!.n);
        i++;
      }
      if (i < raw.length && compareKeys(raw[i]!.key, key) === 0) {
        n += raw[i]!.n;
        i++;
      }
      emit(key, n);
      last = key;
    }
    if (chunk) yield chunk;
    chunk = '';
    if (page.length < params.limit) break;
  }
  for (; i < raw.length; i++) emit(raw[i]!.key, raw[i]!.n);
  if (chunk) yield chunk;
}

/** Granted entries of one local hour, door and door mode. */
export interface GrantsInHour {
  /** Local date 'YYYY-MM-DD'. */
  day: string;
  /** Local hour 0-23. */
  hour: number;
  door: string;
  mode: string;
  count: number;
}

/**
 * Granted entries per local hour, door and mode: the anonymised counts (entry_stats) plus the entries not yet
 * anonymised (entry_live_hourly, or the rows themselves). Anonymisation moves an entry from the one to the
 * other in one transaction, so each entry is counted exactly once, also for an hour split between the two.
 */
export function grantsByLocalHour(db: Db, q: StatsQuery): GrantsInHour[] {
  const w = timeWindow(q);
  if (w.toTs <= w.fromTs) return [];
  const totals = new Map<string, GrantsInHour>();
  const add = (day: string, hour: number, door: string, mode: string, n: number) => {
    const key = `${day}\u0000${hour}\u0000${door}\u0000${mode}`;
    const have = totals.get(key);
    if (have) have.count += n;
    else totals.set(key, { day, hour, door, mode, count: n });
  };
  const anonymised = prepared(
    db,
    `SELECT day, hour, door, mode, SUM(count) FROM entry_stats
      WHERE outcome = 'granted' AND ${KEY_RANGE}${doorFilter(w)} GROUP BY day, hour, door, mode`,
  ).raw();
  for (const r of anonymised.all(keyParams(w)) as [string, number, string, string, number][])
    add(r[0], r[1], r[2], r[3], r[4]);
  const segments = offsetSegments(w.timezone, w.fromTs, w.toTs);
  if (liveSummaryReady(db, w, segments)) {
    const live = prepared(
      db,
      `SELECT slot, door, mode, SUM(count) FROM entry_live_hourly
        WHERE outcome = 'granted' AND slot >= @s0 AND slot < @s1${doorFilter(w)} GROUP BY slot, door, mode`,
    ).raw();
    for (const seg of segments) {
      const shift = seg.offsetMs / SLOT_MS;
      const rows = live.all(withDoor(w, { s0: seg.start / SLOT_MS, s1: seg.end / SLOT_MS })) as [
        number,
        string,
        string,
        number,
      ][];
      for (const r of rows) {
        const lh = r[0] + shift;
        add(dayOfLocalHour(lh), hourOfLocalHour(lh), r[1], r[2], r[3]);
      }
    }
  } else {
    const rows = prepared(
      db,
      `SELECT (ts + CAST(@offset AS INTEGER)) / 3600000 AS lh, door, mode, COUNT(*) FROM entries
        WHERE outcome = 'granted' AND ts >= @from AND ts < @to${doorFilter(w)} GROUP BY lh, door, mode`,
    ).raw();
    for (const seg of segments) {
      const p = withDoor(w, { from: seg.start, to: seg.end, offset: seg.offsetMs });
      for (const r of rows.all(p) as [number, string, string, number][])
        add(dayOfLocalHour(r[0]), hourOfLocalHour(r[0]), r[1], r[2], r[3]);
    }
  }
  return [...totals.values()];
}

/** Passages in through a door per local hour, door and mode (passages_hourly, from the people counters). */
export interface PassagesInHour {
  day: string;
  hour: number;
  door: string;
  mode: string;
  passagesIn: number;
}

export function passagesByLocalHour(db: Db, q: StatsQuery): PassagesInHour[] {
  const w = timeWindow(q);
  if (w.toTs <= w.fromTs) return [];
  const rows = prepared(
    db,
    `SELECT day, hour, door, mode, SUM(passages_in) FROM passages_hourly
      WHERE ${KEY_RANGE}${doorFilter(w)} GROUP BY day, hour, door, mode`,
  )
    .raw()
    .all(keyParams(w)) as [string, number, string, string, number][];
  return rows.map((r) => ({ day: r[0], hour: r[1], door: r[2], mode: r[3], passagesIn: r[4] }));
}
