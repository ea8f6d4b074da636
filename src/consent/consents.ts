import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';

export type ConsentKind = 'agreement' | 'camera';
export type ConsentState = 'signed' | 'none' | 'withdrawn';

export interface ConsentStatus {
  agreement: ConsentState;
  camera: ConsentState;
  agreementVersion: string | null;
}

/** Consent is append-only history; the newest row per kind decides. Read on every swipe, so withdrawal is immediate. */
export class Consents {
  private readonly latest;
  private readonly insert;

  constructor(private readonly db: Db) {
    this.latest = db.prepare(
      `SELECT kind, action, version FROM consents c
        WHERE card_hash = ? AND id = (SELECT MAX(id) FROM consents WHERE card_hash = c.card_hash AND kind = c.kind)`,
    );
    this.insert = db.prepare(
      'INSERT INTO consents (card_hash, kind, action, version, at, registered_by, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  status(cardHash: string): ConsentStatus {
    const rows = this.latest.all(cardHash) as {
      kind: ConsentKind;
      action: 'signed' | 'withdrawn';
      version: string | null;
    }[];
    const status: ConsentStatus = { agreement: 'none', camera: 'none', agreementVersion: null };
    for (const row of rows) {
      status[row.kind] = row.action;
      if (row.kind === 'agreement') status.agreementVersion = row.version;
    }
    return status;
  }

  /** Registers a signature (by staff, from a paper or digital form). Audited. */
  sign(cardHash: string, kind: ConsentKind, version: string, signedAt: number, actor: string): void {
    this.db.transaction(() => {
      this.insert.run(cardHash, kind, 'signed', version, signedAt, actor, Date.now());
      audit(this.db, {
        actor,
        action: `consent.${kind}.signed`,
        subject: cardHash,
        detail: { version, signedAt },
      });
    })();
  }

  /** Records a withdrawal; the next swipe is refused. Audited. */
  withdraw(cardHash: string, kind: ConsentKind, withdrawnAt: number, actor: string, reason?: string): void {
    this.db.transaction(() => {
      this.insert.run(cardHash, kind, 'withdrawn', null, withdrawnAt, actor, Date.now());
      audit(this.db, {
        actor,
        action: `consent.${kind}.withdrawn`,
        subject: cardHash,
        reason,
        detail: { withdrawnAt },
      });
    })();
  }
}
