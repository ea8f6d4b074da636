import type { Db } from '../store/db.ts';

export interface AuditRecord {
  /** User name, `system`, or `cli:<user>`. */
  actor: string;
  action: string;
  /** What it is about: a card hash, an export id, a user name. */
  subject?: string | undefined;
  reason?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

/** Appends to the audit log. Every staff/admin action and every read of identified data goes here. */
export function audit(db: Db, record: AuditRecord, now = Date.now()): number {
  const result = db
    .prepare('INSERT INTO audit (ts, actor, action, subject, reason, detail) VALUES (?, ?, ?, ?, ?, ?)')
    .run(
      now,
      record.actor,
      record.action,
      record.subject ?? null,
      record.reason ?? null,
      record.detail ? JSON.stringify(record.detail) : null,
    );
  return Number(result.lastInsertRowid);
}
