import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';

export interface RemoveExpiredResult {
  blocks: number;
  passes: number;
}

/** Nightly: blocks and passes past their expiry are deleted, each deletion audited (actor `system`). */
export function removeExpiredLocalAccess(db: Db, now = Date.now()): RemoveExpiredResult {
  return db.transaction(() => {
    const result: RemoveExpiredResult = { blocks: 0, passes: 0 };
    for (const [table, kind] of [
      ['local_blocks', 'block'],
      ['local_passes', 'pass'],
    ] as const) {
      const rows = db
        .prepare(`SELECT card_hash, source, card_hint, expires_at FROM ${table} WHERE expires_at <= ?`)
        .all(now) as {
        card_hash: string;
        source: string;
        card_hint: string;
        expires_at: number;
      }[];
      for (const row of rows) {
        db.prepare(`DELETE FROM ${table} WHERE card_hash = ? AND source = ?`).run(row.card_hash, row.source);
        audit(
          db,
          {
            actor: 'system',
            action: `${kind}.expired_removed`,
            subject: row.card_hash,
            detail: {
              hint: row.card_hint,
              source: row.source,
              expiredAt: new Date(row.expires_at).toISOString(),
            },
          },
          now,
        );
      }
      result[kind === 'block' ? 'blocks' : 'passes'] = rows.length;
    }
    return result;
  })();
}
