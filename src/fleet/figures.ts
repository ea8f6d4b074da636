/**
 * A branch's anonymous figures per local hour, as the centre receives them: the anonymised entry_stats rows
 * plus the live counts of entries not yet anonymised (entry_live_hourly, no card key), so the centre sees an
 * hour soon after it ends and the breakdown by category and age band once anonymisation reaches it; and the
 * people counters' passages of the hour (passages_hourly), so the centre counts a counted door's visits as
 * the branch's own report does.
 */
import { createHash } from 'node:crypto';
import type { FigureRow, PassageRow } from '../contract/fleet.ts';
import type { Db } from '../store/db.ts';
import { dateKey, DAY_MS, wallClock } from '../time/zone.ts';

const HOUR_MS = 3_600_000;

export interface HourFigures {
  day: string;
  hour: number;
  rows: FigureRow[];
  passages: PassageRow[];
}

export const hourKey = (day: string, hour: number): string => `${day} ${String(hour).padStart(2, '0')}`;

const rowKey = (r: Omit<FigureRow, 'count'>) =>
  [r.door, r.mode, r.outcome, r.reason, r.category, r.age_band].join('\u0000');

/**
 * The same rows in the same order whatever the store's order, so equal hours have equal digests. An hour
 * without passages keeps the digest it had before passages were sent, so it is not sent again for nothing.
 */
export function digestHour(rows: FigureRow[], passages: PassageRow[]): string {
  const text = passages.length === 0 ? JSON.stringify(rows) : JSON.stringify([rows, passages]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * Every local hour from `fromDay` to `toDay` (inclusive) that has ended by `now` and has any figure.
 * Only reads; the caller writes what changed in a short transaction of its own.
 */
export function readHours(
  db: Db,
  timezone: string,
  fromDay: string,
  toDay: string,
  now: number,
): HourFigures[] {
  const hours = new Map<
    string,
    { day: string; hour: number; rows: Map<string, FigureRow>; passages: PassageRow[] }
  >();
  const hourOf = (day: string, hour: number) => {
    const key = hourKey(day, hour);
    let entry = hours.get(key);
    if (!entry) {
      entry = { day, hour, rows: new Map(), passages: [] };
      hours.set(key, entry);
    }
    return entry;
  };
  const add = (day: string, hour: number, row: FigureRow) => {
    const entry = hourOf(day, hour);
    const k = rowKey(row);
    const existing = entry.rows.get(k);
    if (existing) existing.count += row.count;
    else entry.rows.set(k, { ...row });
  };
  const stats = db
    .prepare(
      `SELECT day, hour, door, mode, outcome, reason, category, age_band, count FROM entry_stats
       WHERE day >= ? AND day <= ?`,
    )
    .all(fromDay, toDay) as (FigureRow & { day: string; hour: number })[];
  for (const { day, hour, ...row } of stats) add(day, hour, row);
  // Live counts are kept per UTC hour; a day either side covers every zone's offset.
  const fromSlot = Math.floor((Date.parse(`${fromDay}T00:00:00Z`) - DAY_MS) / HOUR_MS);
  const toSlot = Math.floor((Date.parse(`${toDay}T00:00:00Z`) + 2 * DAY_MS) / HOUR_MS);
  const live = db
    .prepare(
      `SELECT slot, door, mode, outcome, reason, count FROM entry_live_hourly
       WHERE slot >= ? AND slot < ? AND count > 0`,
    )
    .all(fromSlot, toSlot) as {
    slot: number;
    door: string;
    mode: string;
    outcome: FigureRow['outcome'];
    reason: string;
    count: number;
  }[];
  for (const { slot, ...row } of live) {
    if ((slot + 1) * HOUR_MS > now) continue;
    const wall = wallClock(new Date(slot * HOUR_MS), timezone);
    const day = dateKey(wall.year, wall.month, wall.day);
    if (day < fromDay || day > toDay) continue;
    add(day, wall.hour, { ...row, category: '', age_band: '' });
  }
  // The counters count into the current local hour as it goes: only hours that have begun before it.
  const wallNow = wallClock(new Date(now), timezone);
  const current = hourKey(dateKey(wallNow.year, wallNow.month, wallNow.day), wallNow.hour);
  const passages = db
    .prepare(
      `SELECT day, hour, door, mode, passages_in AS "in", passages_out AS out FROM passages_hourly
       WHERE day >= ? AND day <= ? ORDER BY day, hour, door, mode`,
    )
    .all(fromDay, toDay) as (PassageRow & { day: string; hour: number })[];
  for (const { day, hour, ...row } of passages)
    if (hourKey(day, hour) < current) hourOf(day, hour).passages.push(row);
  return [...hours.values()].map(({ day, hour, rows, passages }) => ({
    day,
    hour,
    rows: [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r),
    passages,
  }));
}
