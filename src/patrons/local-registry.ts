import type { PatronLookup, PatronSource } from '../contract/patron.ts';
import type { CardHasher } from '../privacy/card-hash.ts';
import type { Db } from '../store/db.ts';

export interface LocalPatron {
  category: string | null;
  birthYear: number | null;
  blocked?: boolean;
  cardLost?: boolean;
  expiresDate?: string | null;
}

interface PatronRow {
  category: string | null;
  birth_year: number | null;
  blocked: number;
  card_lost: number;
  expires_date: string | null;
}

/**
 * The local patron registry, for sites without SIP2 and for the demo. Keyed by card hash only;
 * it cannot verify PINs (they are never stored), so config refuses PINs with this source.
 */
export class LocalPatronSource implements PatronSource {
  readonly name = 'local';
  readonly verifiesPin = false;
  private readonly find;
  private readonly upsert;

  constructor(
    db: Db,
    private readonly hashCard: CardHasher,
    private readonly today: () => string,
  ) {
    this.find = db.prepare(
      'SELECT category, birth_year, blocked, card_lost, expires_date FROM patrons WHERE card_hash = ?',
    );
    this.upsert = db.prepare(
      `INSERT INTO patrons (card_hash, category, birth_year, blocked, card_lost, expires_date, created_at, last_activity_at)
       VALUES (@hash, @category, @birthYear, @blocked, @cardLost, @expiresDate, @now, @now)
       ON CONFLICT (card_hash) DO UPDATE SET category = excluded.category, birth_year = excluded.birth_year,
         blocked = excluded.blocked, card_lost = excluded.card_lost, expires_date = excluded.expires_date,
         last_activity_at = excluded.last_activity_at`,
    );
  }

  async lookup(card: string, _pin?: string, cardHash = this.hashCard(card)): Promise<PatronLookup> {
    const row = this.find.get(cardHash) as PatronRow | undefined;
    if (!row) {
      return {
        status: 'ok',
        source: 'local',
        standing: {
          known: false,
          pinOk: null,
          blocked: false,
          cardLost: false,
          expired: false,
          finesExceeded: false,
        },
      };
    }
    return {
      status: 'ok',
      source: 'local',
      standing: {
        known: true,
        pinOk: null,
        blocked: row.blocked === 1,
        cardLost: row.card_lost === 1,
        expired: row.expires_date !== null && row.expires_date < this.today(),
        finesExceeded: false,
        category: row.category ?? undefined,
        birthYear: row.birth_year ?? undefined,
      },
    };
  }

  /** Adds or updates a patron; returns the card hash. */
  put(card: string, patron: LocalPatron, now = Date.now()): string {
    const hash = this.hashCard(card);
    this.upsert.run({
      hash,
      category: patron.category,
      birthYear: patron.birthYear,
      blocked: patron.blocked ? 1 : 0,
      cardLost: patron.cardLost ? 1 : 0,
      expiresDate: patron.expiresDate ?? null,
      now,
    });
    return hash;
  }
}
