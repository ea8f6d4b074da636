/**
 * Local time for statistics without touching process.env.TZ: offsets come from time/zone.ts, and a range
 * of time is cut into segments of constant UTC offset so SQLite can bucket rows with plain arithmetic.
 */
import { DAY_MS, tzOffsetMs, zoneNamed } from '../time/zone.ts';

const HOUR_MS = 3_600_000;

/** Throws when the zone is unknown to this Node's ICU. */
export function assertTimezone(timezone: string): void {
  zoneNamed(timezone);
}

export interface OffsetSegment {
  /** Inclusive start, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
  offsetMs: number;
}

/** Offset changes within one UTC calendar year; cached per zone and year. */
const transitionCache = new Map<string, { at: number; offsetMs: number }[]>();

function transitionsOfYear(timezone: string, year: number): { at: number; offsetMs: number }[] {
  const key = `${timezone}|${year}`;
  let found = transitionCache.get(key);
  if (found) return found;
  const zone = zoneNamed(timezone);
  const end = Date.UTC(year + 1, 0, 1);
  // From the last instant of the year before, so a change exactly at New Year (UTC) is seen.
  found = zone
    .transitionsBetween(Date.UTC(year, 0, 1) - 1, end)
    .filter((at) => at < end)
    .map((at) => ({ at, offsetMs: zone.offset(at) }));
  transitionCache.set(key, found);
  return found;
}

/** Cuts [from, to) into pieces of constant UTC offset. */
export function offsetSegments(timezone: string, from: number, to: number): OffsetSegment[] {
  const segments: OffsetSegment[] = [];
  if (!(to > from)) return segments;
  let start = from;
  let offset = tzOffsetMs(timezone, from);
  const firstYear = new Date(from).getUTCFullYear();
  const lastYear = new Date(to - 1).getUTCFullYear();
  for (let year = firstYear; year <= lastYear; year++) {
    for (const t of transitionsOfYear(timezone, year)) {
      if (t.at <= from || t.at >= to) continue;
      if (t.offsetMs === offset) continue;
      segments.push({ start, end: t.at, offsetMs: offset });
      start = t.at;
      offset = t.offsetMs;
    }
  }
  segments.push({ start, end: to, offsetMs: offset });
  return segments;
}

/** Local-hour number: hours since 1970-01-01T00 local wall time. Day and hour follow from it. */
export function localHourNumber(ts: number, offsetMs: number): number {
  return Math.floor((ts + offsetMs) / HOUR_MS);
}

const dayCache = new Map<number, string>();

/** 'YYYY-MM-DD' of a local-hour number. */
export function dayOfLocalHour(localHour: number): string {
  const dayNumber = Math.floor(localHour / 24);
  let day = dayCache.get(dayNumber);
  if (day === undefined) {
    day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
    if (dayCache.size > 100_000) dayCache.clear();
    dayCache.set(dayNumber, day);
  }
  return day;
}

export function hourOfLocalHour(localHour: number): number {
  return ((localHour % 24) + 24) % 24;
}

/** Local date and hour of an instant. */
export function localDayHour(timezone: string, ts: number): { day: string; hour: number } {
  const lh = localHourNumber(ts, tzOffsetMs(timezone, ts));
  return { day: dayOfLocalHour(lh), hour: hourOfLocalHour(lh) };
}

/** Start of the local hour containing `ts` (works for zones with half-hour offsets too). */
export function floorToLocalHour(timezone: string, ts: number): number {
  const local = ts + tzOffsetMs(timezone, ts);
  return ts - (((local % HOUR_MS) + HOUR_MS) % HOUR_MS);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * First instant of a local date 'YYYY-MM-DD' (midnight, or the first existing instant after it when a
 * transition skips midnight).
 */
export function startOfLocalDay(timezone: string, day: string): number {
  const m = DATE_RE.exec(day);
  if (!m) throw new RangeError(`not a date: ${day}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Two rounds settle the offset; offsets are at most ±14 h.
  let t = wall - tzOffsetMs(timezone, wall);
  t = wall - tzOffsetMs(timezone, t);
  if (t + tzOffsetMs(timezone, t) < wall) {
    // Midnight does not exist that day: take the transition instant.
    const seg = offsetSegments(timezone, t, t + 2 * HOUR_MS);
    const after = seg.find((s) => s.start + s.offsetMs >= wall);
    if (after) t = after.start;
  }
  return t;
}

/** Day number (days since 1970-01-01) of 'YYYY-MM-DD'. */
export function dayNumber(day: string): number {
  const m = DATE_RE.exec(day);
  if (!m) throw new RangeError(`not a date: ${day}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

export function dayFromNumber(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** ISO 8601 week of a calendar date, as 'YYYY-Www'. */
export function isoWeek(day: string): string {
  const n = dayNumber(day);
  const weekday = (((n + 3) % 7) + 7) % 7; // 0 = Monday (1970-01-01 was a Thursday)
  const thursday = n - weekday + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1) / DAY_MS;
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
