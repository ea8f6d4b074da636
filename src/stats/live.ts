import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db.ts';

/**
 * entry_live_hourly counts the identified entries per UTC hour slot, door, mode, outcome and reason. A
 * trigger adds each inserted entry; whoever deletes entries calls these so the counts follow.
 */

export const SLOT_MS = 3_600_000;

interface Statements {
  clearRange: Statement;
  fillRange: Statement;
  clearBefore: Statement;
  subtractRange: Statement;
  dropEmpty: Statement;
}

const cache = new WeakMap<Db, Statements>();

function statements(db: Db): Statements {
  let s = cache.get(db);
  if (!s) {
    s = {
      clearRange: db.prepare('DELETE FROM entry_live_hourly WHERE slot >= ? AND slot < ?'),
      fillRange: db.prepare(
        `INSERT INTO entry_live_hourly (slot, door, mode, outcome, reason, count)
         SELECT CAST(ts AS INTEGER) / 3600000 AS slot, door, mode, outcome, reason, COUNT(*) FROM entries
          WHERE ts >= @from AND ts < @to GROUP BY slot, door, mode, outcome, reason`,
      ),
      clearBefore: db.prepare('DELETE FROM entry_live_hourly WHERE slot < ?'),
      subtractRange: db.prepare(
        `UPDATE entry_live_hourly SET count = entry_live_hourly.count - gone.n
           FROM (SELECT CAST(ts AS INTEGER) / 3600000 AS slot, door, mode, outcome, reason, COUNT(*) AS n
                   FROM entries WHERE ts >= @from AND ts < @to GROUP BY slot, door, mode, outcome, reason) AS gone
          WHERE entry_live_hourly.slot = gone.slot AND entry_live_hourly.door = gone.door
            AND entry_live_hourly.mode = gone.mode AND entry_live_hourly.outcome = gone.outcome
            AND entry_live_hourly.reason = gone.reason`,
      ),
      dropEmpty: db.prepare('DELETE FROM entry_live_hourly WHERE slot = ? AND count <= 0'),
    };
    cache.set(db, s);
  }
  return s;
}

/** Recounts slots [fromSlot, toSlot) from entries. */
export function recountLiveSlots(db: Db, fromSlot: number, toSlot: number): void {
  if (toSlot <= fromSlot) return;
  const s = statements(db);
  s.clearRange.run(fromSlot, toSlot);
  s.fillRange.run({ from: fromSlot * SLOT_MS, to: toSlot * SLOT_MS });
}

/**
 * Call BEFORE deleting every entry with ts < `before`: drops the slots wholly before it and takes the
 * split slot's doomed entries off its counts (only those rows are read, not the whole hour: a batch beside
 * the door must stay short).
 */
export function forgetLiveBefore(db: Db, before: number): void {
  const s = statements(db);
  const slot = Math.floor(before / SLOT_MS);
  s.clearBefore.run(slot);
  if (before % SLOT_MS === 0) return;
  s.subtractRange.run({ from: slot * SLOT_MS, to: before });
  s.dropEmpty.run(slot);
}

/** Recounts everything (repair). */
export function rebuildLiveSummary(db: Db): void {
  db.transaction(() => {
    db.exec('DELETE FROM entry_live_hourly');
    db.exec(`INSERT INTO entry_live_hourly (slot, door, mode, outcome, reason, count)
      SELECT CAST(ts AS INTEGER) / 3600000, door, mode, outcome, reason, COUNT(*) FROM entries
       GROUP BY 1, 2, 3, 4, 5`);
  })();
}
