import type { Db } from '../store/db.ts';
import { tombstoneAuditRows } from './tombstone.ts';

const DAY_MS = 86_400_000;

export interface PurgeInactiveOptions {
  /** config patrons.inactive_years */
  inactiveYears: number;
  now?: number;
}

export interface PurgeInactiveResult {
  /** Cards whose every local record was deleted for inactivity. */
  cards: number;
  patrons: number;
  /** Consent rows deleted: the inactive cards' history, superseded rows and expired withdrawals. */
  consents: number;
  patronSeen: number;
  /** PIN failures of purged cards plus all older than a day. */
  pinFailures: number;
  /** Identified entries of purged cards (only possible when identified_days ≥ inactive_years). */
  entries: number;
  /** Audit rows whose subject/detail named a purged card and now carry a tombstone instead. */
  auditTombstoned: number;
  /** Instant before which a card counts as inactive. */
  cutoff: number;
}

/** Calendar years back from now (UTC); Feb 29 falls back to Mar 1. */
export function yearsBefore(now: number, years: number): number {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.getTime();
}

/**
 * Deletes patron-local records of cards with no activity for inactive_years, and applies the
 * withdrawn-consent rule.
 *
 * Activity of a card is the newest of: an identified entry, a consent event (signed or withdrawn, by when
 * it happened and when it was registered), the local registry's created/last-activity time, the last live
 * check (patron_seen) and a PIN failure. When all are older than the cutoff, the card's registry row,
 * consents, patron_seen and pin_failures are deleted, and the audit rows naming it are tombstoned.
 *
 * Withdrawn consent (per card and kind): rows before the newest withdrawal no longer grant anything and are
 * deleted at once; the withdrawal row itself is kept inactive_years after the withdrawal (the later of when
 * it happened and when it was registered) to prove it, then deleted. Once deleted, the consent state of
 * that kind reads as 'none' (unless signed again since), which still refuses the door.
 */
export function purgeInactivePatrons(db: Db, options: PurgeInactiveOptions): PurgeInactiveResult {
  const now = options.now ?? Date.now();
  const cutoff = yearsBefore(now, options.inactiveYears);
  return db.transaction((): PurgeInactiveResult => {
    db.exec('CREATE TEMP TABLE IF NOT EXISTS retention_purge (card_hash TEXT PRIMARY KEY) WITHOUT ROWID');
    db.exec('DELETE FROM temp.retention_purge');
    db.prepare(
      `INSERT INTO temp.retention_purge (card_hash)
       SELECT card_hash FROM (
         SELECT card_hash, MAX(created_at, last_activity_at) AS at FROM patrons
         UNION ALL SELECT card_hash, MAX(at, registered_at) FROM consents
         UNION ALL SELECT card_hash, last_live_ok_at FROM patron_seen
         UNION ALL SELECT card_hash, ts FROM pin_failures
         UNION ALL SELECT card_hash, ts FROM entries WHERE card_hash IS NOT NULL
       ) GROUP BY card_hash HAVING MAX(at) < ?`,
    ).run(cutoff);
    const inPurge = 'card_hash IN (SELECT card_hash FROM temp.retention_purge)';
    const cards = db.prepare('SELECT COUNT(*) FROM temp.retention_purge').pluck().get() as number;
    const purgedHashes =
      cards > 0 ? (db.prepare('SELECT card_hash FROM temp.retention_purge').pluck().all() as string[]) : [];

    const patrons = db.prepare(`DELETE FROM patrons WHERE ${inPurge}`).run().changes;
    let consents = db.prepare(`DELETE FROM consents WHERE ${inPurge}`).run().changes;
    const patronSeen = db.prepare(`DELETE FROM patron_seen WHERE ${inPurge}`).run().changes;
    const pinFailures =
      db.prepare(`DELETE FROM pin_failures WHERE ${inPurge}`).run().changes + prunePinFailures(db, { now });
    // Entries are activity, so a purged card has none unless identified_days ≥ inactive_years; then the
    // entry keeps its statistics value and loses its key.
    const entries = db.prepare(`UPDATE entries SET card_hash = NULL WHERE ${inPurge}`).run().changes;

    // Withdrawn consent: everything before the newest withdrawal of that card and kind goes now …
    consents += db
      .prepare(
        `DELETE FROM consents WHERE id < (SELECT MAX(w.id) FROM consents w
           WHERE w.card_hash = consents.card_hash AND w.kind = consents.kind AND w.action = 'withdrawn')`,
      )
      .run().changes;
    // … and the withdrawal itself once it has been kept inactive_years.
    consents += db
      .prepare(`DELETE FROM consents WHERE action = 'withdrawn' AND MAX(at, registered_at) < ?`)
      .run(cutoff).changes;

    const auditTombstoned = tombstoneAuditRows(db, purgedHashes);
    db.exec('DELETE FROM temp.retention_purge');
    return { cards, patrons, consents, patronSeen, pinFailures, entries, auditTombstoned, cutoff };
  })();
}

/** Deletes PIN failures older than a day (lockout windows are at most a day). */
export function prunePinFailures(db: Db, options: { now?: number; maxAgeMs?: number } = {}): number {
  const now = options.now ?? Date.now();
  return db.prepare('DELETE FROM pin_failures WHERE ts < ?').run(now - (options.maxAgeMs ?? DAY_MS)).changes;
}
