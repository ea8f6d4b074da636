/**
 * The nvr_state table: the few facts the controller side keeps across restarts, one JSON value a key.
 * Keys: `purge` (the last verified purge), `status` (the recorder's last accepted status), `breach` (the
 * kinds the retention_breach alarm was raised with), `forgery` (the last forgery seen).
 */
import type { NvrStatus } from '../contract/nvr.ts';
import type { Db } from '../store/db.ts';

/** The last verified purge, kept so a restart neither forgets nor invents a breach. */
export interface PurgeRecord {
  requestId: string;
  requestedAt: number;
  answeredAt: number;
  ok: boolean;
  deleted: number;
  oldest: string | null;
  breach: string | null;
}

/** The recorder's status as accepted: when it came, and the signature's time and nonce (against replays). */
export type StoredStatus = NvrStatus & { receivedAt: number; signed?: { at: number; nonce: string } };

export class NvrState {
  constructor(private readonly db: Db) {}

  read<T>(key: string): T | null {
    const row = this.db.prepare('SELECT value FROM nvr_state WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row ? (JSON.parse(row.value) as T) : null;
  }

  write(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO nvr_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value));
  }
}
