import { randomBytes } from 'node:crypto';
import type { Db } from '../store/db.ts';

/**
 * After an erasure or an inactivity purge the audit trail keeps its rows (what was done, when, by whom, why)
 * but no longer names the card: every mention of the card hash becomes one random tombstone per card.
 * The tombstone is not derived from the hash and nothing maps it back, so the history of that card stays
 * readable as one story without identifying anyone.
 */
export function newTombstone(): string {
  return `erased:${randomBytes(12).toString('hex')}`;
}

const HASH_RE = /[0-9a-f]{64}/g;

/**
 * Replaces the given card hashes in audit subject, reason and detail. `tombstones` may fix the tombstone
 * for a hash (erasure uses the one it reports). Returns the number of audit rows changed.
 */
export function tombstoneAuditRows(
  db: Db,
  hashes: readonly string[],
  tombstones = new Map<string, string>(),
): number {
  if (hashes.length === 0) return 0;
  const wanted = new Set(hashes);
  const tombstoneOf = (hash: string): string => {
    let t = tombstones.get(hash);
    if (!t) {
      t = newTombstone();
      tombstones.set(hash, t);
    }
    return t;
  };
  const update = db.prepare('UPDATE audit SET subject = ?, reason = ?, detail = ? WHERE id = ?');
  const replaceIn = (text: string | null): string | null =>
    text === null ? null : text.replace(HASH_RE, (h) => (wanted.has(h) ? tombstoneOf(h) : h));
  const changes: { id: number; subject: string | null; reason: string | null; detail: string | null }[] = [];
  // One pass: a hash may sit inside any text field (a detail JSON, a subject like 'reveal:<hash>').
  const rows = db.prepare('SELECT id, subject, reason, detail FROM audit').iterate() as IterableIterator<{
    id: number;
    subject: string | null;
    reason: string | null;
    detail: string | null;
  }>;
  for (const row of rows) {
    const subject = replaceIn(row.subject);
    const reason = replaceIn(row.reason);
    const detail = replaceIn(row.detail);
    if (subject !== row.subject || reason !== row.reason || detail !== row.detail) {
      changes.push({ id: row.id, subject, reason, detail });
    }
  }
  for (const c of changes) update.run(c.subject, c.reason, c.detail, c.id);
  return changes.length;
}
