/**
 * The branch's figures outbox (fleet_outbox): an hour whose figures changed is stored as a new revision
 * before anything is sent; unacknowledged revisions are sent again with doubling waits until the centre
 * acknowledges their id, so a bridge down for a week loses nothing, and the centre's dedupe by id counts
 * nothing twice. Work per call is bounded (`batch` messages, a window of days), so it never runs long.
 */
import {
  type DayOpeningHours,
  FIGURES_VERSION,
  type FleetFigures,
  type FleetOpeningHours,
} from '../contract/fleet.ts';
import type { Db } from '../store/db.ts';
import { addDays, DAY_MS, localDate } from '../time/zone.ts';
import { digestHour, type HourFigures, hourKey, readHours } from './figures.ts';

export interface FiguresOutboxOptions {
  db: Db;
  timezone: string;
  /** entries.identified_days: hours older than this plus a margin no longer change by anonymisation. */
  identifiedDays: number;
  nowMs: () => number;
  backoff: { min_ms: number; max_ms: number };
  /** At most this many messages per send, and this many days of older history per scan. */
  batch: number;
  backfillDays: number;
  /** Acknowledged rows are deleted after this long (their ids are never reused). */
  keepAckedDays: number;
}

/** Hours queued per write transaction. */
const HOURS_PER_TRANSACTION = 24;

interface DueRow {
  id: number;
  kind: OutboxKind;
  payload: string;
  tries: number;
}

/** 'figures': one hour's FleetFigures; 'opening': one ISO week's FleetOpeningHours. */
export type OutboxKind = 'figures' | 'opening';

export interface WeekOpening {
  week: string;
  /** Local date of its Monday. */
  monday: string;
  days: DayOpeningHours[];
  digest: string;
}

export class FiguresOutbox {
  readonly instance: string;

  constructor(private readonly o: FiguresOutboxOptions) {
    const row = o.db.prepare("SELECT value FROM fleet_state WHERE key = 'instance'").get() as {
      value: string;
    };
    this.instance = row.value;
  }

  messageId(outboxId: number): string {
    return `${this.instance}-${outboxId}`;
  }

  /**
   * Queues every hour whose figures differ from what was last queued: the recent days (where anonymisation
   * and late entries change hours) and, until it is done, the next stretch of older history.
   */
  scan(): number {
    const { db, timezone } = this.o;
    const now = this.o.nowMs();
    const today = localDate(new Date(now), timezone);
    const recentFrom = localDate(new Date(now - (this.o.identifiedDays + 2) * DAY_MS), timezone);
    let queued = this.scanRange(recentFrom, today, now);
    const state = db.prepare("SELECT value FROM fleet_state WHERE key = 'backfill_day'").get() as
      | { value: string }
      | undefined;
    // The people counters' history may start before the entries' (migration 018 walks it once more).
    const first =
      state?.value ??
      (
        db
          .prepare(
            'SELECT MIN(day) AS day FROM (SELECT MIN(day) AS day FROM entry_stats UNION ALL SELECT MIN(day) FROM passages_hourly)',
          )
          .get() as { day: string | null }
      ).day;
    if (first && first < recentFrom) {
      const to = addDays(first, this.o.backfillDays - 1);
      queued += this.scanRange(first, to < recentFrom ? to : addDays(recentFrom, -1), now);
      this.setState('backfill_day', to < recentFrom ? addDays(to, 1) : recentFrom);
    } else if (!state) {
      this.setState('backfill_day', recentFrom);
    }
    this.prune(now);
    return queued;
  }

  private setState(key: string, value: string): void {
    this.o.db
      .prepare(
        'INSERT INTO fleet_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  private scanRange(fromDay: string, toDay: string, now: number): number {
    const { db } = this.o;
    const hours = readHours(db, this.o.timezone, fromDay, toDay, now);
    const known = new Map(
      (
        db
          .prepare('SELECT day, hour, digest FROM fleet_hours WHERE day >= ? AND day <= ?')
          .all(fromDay, toDay) as {
          day: string;
          hour: number;
          digest: string;
        }[]
      ).map((r) => [hourKey(r.day, r.hour), r.digest]),
    );
    const changed = hours
      .map((h) => ({ ...h, digest: digestHour(h.rows, h.passages) }))
      .filter((h) => known.get(hourKey(h.day, h.hour)) !== h.digest);
    // An hour sent before that has no figures now (an erasure removed them) goes out empty.
    const present = new Set(hours.map((h) => hourKey(h.day, h.hour)));
    const emptyDigest = digestHour([], []);
    for (const [key, digest] of known) {
      if (present.has(key) || digest === emptyDigest) continue;
      const [day, hour] = key.split(' ') as [string, string];
      changed.push({ day, hour: Number(hour), rows: [], passages: [], digest: emptyDigest });
    }
    if (changed.length === 0) return 0;
    // Short transactions: a door commit that meets one waits for it (the worker's rule, see worker/main.ts).
    for (let i = 0; i < changed.length; i += HOURS_PER_TRANSACTION)
      this.queue(changed.slice(i, i + HOURS_PER_TRANSACTION), now);
    return changed.length;
  }

  private queue(changed: (HourFigures & { digest: string })[], now: number): void {
    const { db } = this.o;
    db.transaction(() => {
      const insert = db.prepare(
        "INSERT INTO fleet_outbox (day, hour, payload, made_at, next_try_at) VALUES (?, ?, '', ?, ?)",
      );
      const setPayload = db.prepare('UPDATE fleet_outbox SET payload = ? WHERE id = ?');
      const supersede = db.prepare(
        "UPDATE fleet_outbox SET superseded_at = ? WHERE kind = 'figures' AND day = ? AND hour = ? AND id < ? AND acked_at IS NULL AND superseded_at IS NULL",
      );
      const remember = db.prepare(
        `INSERT INTO fleet_hours (day, hour, digest, outbox_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (day, hour) DO UPDATE SET digest = excluded.digest, outbox_id = excluded.outbox_id`,
      );
      for (const h of changed) {
        const id = Number(insert.run(h.day, h.hour, now, now).lastInsertRowid);
        const message: FleetFigures = {
          v: FIGURES_VERSION,
          id: this.messageId(id),
          day: h.day,
          hour: h.hour,
          made_at: now,
          rows: h.rows,
          passages: h.passages,
        };
        setPayload.run(JSON.stringify(message), id);
        // The newer revision carries the whole hour: the older one need not arrive at all.
        supersede.run(now, h.day, h.hour, id);
        remember.run(h.day, h.hour, h.digest, id);
      }
    })();
  }

  /** Queues a new revision of each week (its days whole); an unsent older revision of it is superseded. */
  queueWeeks(weeks: WeekOpening[]): void {
    if (weeks.length === 0) return;
    const { db } = this.o;
    const now = this.o.nowMs();
    db.transaction(() => {
      const insert = db.prepare(
        "INSERT INTO fleet_outbox (kind, day, hour, payload, made_at, next_try_at) VALUES ('opening', ?, 0, '', ?, ?)",
      );
      const setPayload = db.prepare('UPDATE fleet_outbox SET payload = ? WHERE id = ?');
      const supersede = db.prepare(
        "UPDATE fleet_outbox SET superseded_at = ? WHERE kind = 'opening' AND day = ? AND id < ? AND acked_at IS NULL AND superseded_at IS NULL",
      );
      const remember = db.prepare(
        `INSERT INTO fleet_weeks (week, digest, outbox_id) VALUES (?, ?, ?)
         ON CONFLICT (week) DO UPDATE SET digest = excluded.digest, outbox_id = excluded.outbox_id`,
      );
      for (const w of weeks) {
        const id = Number(insert.run(w.monday, now, now).lastInsertRowid);
        const message: FleetOpeningHours = {
          v: 1,
          id: this.messageId(id),
          week: w.week,
          made_at: now,
          days: w.days,
        };
        setPayload.run(JSON.stringify(message), id);
        supersede.run(now, w.monday, id);
        remember.run(w.week, w.digest, id);
      }
    })();
  }

  private prune(now: number): void {
    this.o.db
      .prepare(
        'DELETE FROM fleet_outbox WHERE (acked_at IS NOT NULL AND acked_at < ?) OR (superseded_at IS NOT NULL AND superseded_at < ?)',
      )
      .run(now - this.o.keepAckedDays * DAY_MS, now - this.o.keepAckedDays * DAY_MS);
  }

  /** Wait before the next send of a revision sent `tries` times. */
  delayAfter(tries: number): number {
    return Math.min(this.o.backoff.min_ms * 2 ** Math.max(0, tries - 1), this.o.backoff.max_ms);
  }

  /** Marks due revisions sent and returns them (oldest first), at most `batch`. */
  takeDue(): { kind: OutboxKind; payload: string }[] {
    const { db } = this.o;
    const now = this.o.nowMs();
    return db.transaction(() => {
      const due = db
        .prepare(
          `SELECT id, kind, payload, tries FROM fleet_outbox
           WHERE acked_at IS NULL AND superseded_at IS NULL AND next_try_at <= ? ORDER BY id LIMIT ?`,
        )
        .all(now, this.o.batch) as DueRow[];
      const update = db.prepare(
        'UPDATE fleet_outbox SET tries = ?, last_sent_at = ?, next_try_at = ? WHERE id = ?',
      );
      for (const row of due) update.run(row.tries + 1, now, now + this.delayAfter(row.tries + 1), row.id);
      return due.map((r) => ({ kind: r.kind, payload: r.payload }));
    })();
  }

  /** The centre stored this id. False for an id that is not ours or was acknowledged already. */
  acknowledged(messageId: string): boolean {
    const dash = messageId.lastIndexOf('-');
    if (messageId.slice(0, dash) !== this.instance) return false;
    const id = Number(messageId.slice(dash + 1));
    if (!Number.isSafeInteger(id)) return false;
    return (
      this.o.db
        .prepare('UPDATE fleet_outbox SET acked_at = ? WHERE id = ? AND acked_at IS NULL')
        .run(this.o.nowMs(), id).changes === 1
    );
  }

  /** After the link came back: everything unacknowledged is due now (sent `batch` at a time). */
  makeAllDue(): void {
    this.o.db
      .prepare('UPDATE fleet_outbox SET next_try_at = ? WHERE acked_at IS NULL AND superseded_at IS NULL')
      .run(this.o.nowMs());
  }

  pending(): number {
    return (
      this.o.db
        .prepare('SELECT COUNT(*) AS n FROM fleet_outbox WHERE acked_at IS NULL AND superseded_at IS NULL')
        .get() as { n: number }
    ).n;
  }
}
