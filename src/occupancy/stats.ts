/** Passages per local hour of day from `passages_hourly`, for the statistics page. Counts only; no identity. */
import type { Db } from '../store/db.ts';

export interface PassageHour {
  hour: number;
  passagesIn: number;
  passagesOut: number;
  tailgating: number;
}

/** Every hour 0–23 over the local days `fromDay` (inclusive) to `toDay` (exclusive), one door or all. */
export function passagesByHour(db: Db, fromDay: string, toDay: string, door?: string): PassageHour[] {
  const rows = db
    .prepare(
      `SELECT hour, SUM(passages_in) AS passagesIn, SUM(passages_out) AS passagesOut,
         SUM(tailgating) AS tailgating
       FROM passages_hourly WHERE day >= ? AND day < ? ${door ? 'AND door = ?' : ''} GROUP BY hour`,
    )
    .all(...[fromDay, toDay, ...(door ? [door] : [])]) as PassageHour[];
  const byHour = new Map(rows.map((r) => [r.hour, r]));
  return Array.from({ length: 24 }, (_, hour) => ({
    hour,
    passagesIn: byHour.get(hour)?.passagesIn ?? 0,
    passagesOut: byHour.get(hour)?.passagesOut ?? 0,
    tailgating: byHour.get(hour)?.tailgating ?? 0,
  }));
}
