import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db.ts';
import {
  dayFromNumber,
  dayNumber,
  dayOfLocalHour,
  floorToLocalHour,
  hourOfLocalHour,
  isoWeek,
  localDayHour,
  offsetSegments,
  startOfLocalDay,
} from './tz.ts';

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

type Column = 'day' | 'hour' | 'mode' | 'outcome' | 'reason' | 'door' | 'category' | 'age_band';
type Row = Record<string, string | number>;

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

/**
 * Sums counts over the window grouped by `columns`, from both sources. `detailed` reads entry_stats
 * (with category and age band) instead of the smaller roll-up.
 */
function sumBy(db: Db, w: Window, columns: Column[], detailed: boolean): Row[] {
  const totals = new Map<string, Row>();
  const add = (row: Row, n: number) => {
    const key = columns.map((c) => row[c]).join('\u0000');
    const have = totals.get(key);
    if (have) (have['count'] as number) += n;
    else totals.set(key, { ...row, count: n });
  };
  if (w.toTs <= w.fromTs) return [];

  // Anonymised buckets: keys (day, hour) in [from, to) by local wall clock.
  const table = detailed ? 'entry_stats' : 'entry_stats_rollup';
  const doorFilter = w.door === undefined ? '' : ' AND door = @door';
  const statsSql = `SELECT ${columns.join(', ')}, SUM(count) AS n FROM ${table}
     WHERE day >= @fromDay AND day <= @toDay
       AND NOT (day = @fromDay AND hour < @fromHour) AND NOT (day = @toDay AND hour >= @toHour)${doorFilter}
     GROUP BY ${columns.join(', ')}`;
  const params: Record<string, string | number> = {
    fromDay: w.fromDay,
    fromHour: w.fromHour,
    toDay: w.toDay,
    toHour: w.toHour,
  };
  if (w.door !== undefined) params['door'] = w.door;
  for (const r of prepared(db, statsSql).all(params) as Row[]) {
    const row: Row = {};
    for (const c of columns) row[c] = r[c]!;
    add(row, r['n'] as number);
  }

  // Identified entries not yet anonymised: bucket by local-hour number per constant-offset segment.
  const needsLocalHour = columns.includes('day') || columns.includes('hour');
  const rawCols = columns
    .filter((c) => c !== 'day' && c !== 'hour')
    .map((c) => (c === 'category' || c === 'age_band' ? `COALESCE(${c}, '') AS ${c}` : c));
  const groupCols = columns.filter((c) => c !== 'day' && c !== 'hour');
  const select = [
    needsLocalHour ? '(ts + CAST(@offset AS INTEGER)) / 3600000 AS lh' : null,
    ...rawCols,
    'COUNT(*) AS n',
  ]
    .filter((x) => x !== null)
    .join(', ');
  const group = [needsLocalHour ? 'lh' : null, ...groupCols].filter((x) => x !== null).join(', ');
  const rawSql = `SELECT ${select} FROM entries WHERE ts >= @from AND ts < @to${doorFilter}${group ? ` GROUP BY ${group}` : ''}`;
  const stmt = prepared(db, rawSql);
  const segments = needsLocalHour
    ? offsetSegments(w.timezone, w.fromTs, w.toTs)
    : [{ start: w.fromTs, end: w.toTs, offsetMs: 0 }];
  for (const seg of segments) {
    const p: Record<string, string | number> = { from: seg.start, to: seg.end };
    if (needsLocalHour) p['offset'] = seg.offsetMs;
    if (w.door !== undefined) p['door'] = w.door;
    for (const r of stmt.all(p) as Row[]) {
      const n = r['n'] as number;
      if (n === 0) continue;
      const row: Row = {};
      for (const c of columns) {
        if (c === 'day') row[c] = dayOfLocalHour(r['lh'] as number);
        else if (c === 'hour') row[c] = hourOfLocalHour(r['lh'] as number);
        else row[c] = r[c] as string;
      }
      add(row, n);
    }
  }
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

/** Granted and denied swipes per local hour of day (always 24 buckets, 0-23). */
export function visitsByHour(db: Db, q: StatsQuery): HourBucket[] {
  const out: HourBucket[] = Array.from({ length: 24 }, (_, hour) => ({ hour, granted: 0, denied: 0 }));
  for (const r of sumBy(db, timeWindow(q), ['hour', 'outcome'], false)) {
    tally(out[r['hour'] as number]!, r['outcome'], r['count'] as number);
  }
  return out;
}

/** Per local date, every day of the window present (zeros included). */
export function visitsByDay(db: Db, q: StatsQuery): DayBucket[] {
  const w = timeWindow(q);
  const byDay = new Map<string, DayBucket>();
  for (const day of daysOf(w)) byDay.set(day, { day, granted: 0, denied: 0 });
  for (const r of sumBy(db, w, ['day', 'outcome'], false)) {
    const bucket = byDay.get(r['day'] as string);
    if (bucket) tally(bucket, r['outcome'], r['count'] as number);
  }
  return [...byDay.values()];
}

/** Per ISO week of the local date, every week touching the window present. */
export function visitsByWeek(db: Db, q: StatsQuery): WeekBucket[] {
  const w = timeWindow(q);
  const byWeek = new Map<string, WeekBucket>();
  for (const day of daysOf(w)) {
    const week = isoWeek(day);
    if (!byWeek.has(week)) byWeek.set(week, { week, granted: 0, denied: 0 });
  }
  for (const r of sumBy(db, w, ['day', 'outcome'], false)) {
    const bucket = byWeek.get(isoWeek(r['day'] as string));
    if (bucket) tally(bucket, r['outcome'], r['count'] as number);
  }
  return [...byWeek.values()];
}

/** Granted and denied per door mode (staffed, staffless, closed). */
export function staffedVsStaffless(db: Db, q: StatsQuery): ModeCounts {
  const out: Record<string, VisitCount> = {
    staffed: { granted: 0, denied: 0 },
    staffless: { granted: 0, denied: 0 },
    closed: { granted: 0, denied: 0 },
  };
  for (const r of sumBy(db, timeWindow(q), ['mode', 'outcome'], false)) {
    const mode = r['mode'] as string;
    out[mode] ??= { granted: 0, denied: 0 };
    tally(out[mode], r['outcome'], r['count'] as number);
  }
  return out as ModeCounts;
}

/** Counts per outcome and reason code, largest first. */
export function outcomes(db: Db, q: StatsQuery): OutcomeCount[] {
  return sumBy(db, timeWindow(q), ['outcome', 'reason'], false)
    .map((r) => ({
      outcome: r['outcome'] === 'granted' ? ('granted' as const) : ('denied' as const),
      reason: r['reason'] as string,
      count: r['count'] as number,
    }))
    .sort(
      (a, b) => b.count - a.count || a.outcome.localeCompare(b.outcome) || a.reason.localeCompare(b.reason),
    );
}

/** Everything the statistics screen draws, in one call. */
export function statsOverview(db: Db, q: StatsQuery): StatsOverview {
  return {
    byHour: visitsByHour(db, q),
    byDay: visitsByDay(db, q),
    byWeek: visitsByWeek(db, q),
    modes: staffedVsStaffless(db, q),
    outcomes: outcomes(db, q),
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

function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  // A spreadsheet would run a cell starting with these as a formula.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * CSV (RFC 4180, CRLF, header line) with one row per local day, hour, door, mode, outcome, reason, patron
 * category and age band, and its count; sorted by those columns. For the annual library statistics.
 */
export function statsCsv(db: Db, q: StatsQuery): string {
  const rows = sumBy(db, timeWindow(q), [...CSV_COLUMNS], true);
  rows.sort((a, b) => {
    for (const c of CSV_COLUMNS) {
      const x = a[c]!;
      const y = b[c]!;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  });
  const lines = [[...CSV_COLUMNS, 'count'].join(',')];
  for (const r of rows) lines.push([...CSV_COLUMNS, 'count'].map((c) => csvCell(r[c]!)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
