import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import { coversDoor, DAY_MS, doorsColumn, doorsFromColumn } from './expiry.ts';

/** A refused block or pass (bad expiry, unknown door, missing note): the message says what to change. */
export class LocalAccessError extends Error {
  override name = 'LocalAccessError';
}

/** A block lasts at most this long; renewing it is a new, audited decision. */
export const BLOCK_MAX_DAYS = 366;
export const NOTE_MIN = 3;
export const NOTE_MAX = 200;

export interface BlockInput {
  cardHash: string;
  cardHint: string;
  note: string;
  /** null: every door. */
  doors: readonly string[] | null;
  expiresAt: number;
}

export interface LocalBlock {
  cardHash: string;
  cardHint: string;
  note: string;
  doors: string[] | null;
  expiresAt: number;
  createdBy: string;
  createdAt: number;
}

interface BlockRow {
  card_hash: string;
  card_hint: string;
  note: string;
  doors: string | null;
  expires_at: number;
  created_by: string;
  created_at: number;
}

const toBlock = (r: BlockRow): LocalBlock => ({
  cardHash: r.card_hash,
  cardHint: r.card_hint,
  note: r.note,
  doors: doorsFromColumn(r.doors),
  expiresAt: r.expires_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

export function checkNote(note: string): string {
  const text = note.trim();
  if (text.length < NOTE_MIN || text.length > NOTE_MAX)
    throw new LocalAccessError(`the note must be ${NOTE_MIN}–${NOTE_MAX} characters`);
  return text;
}

export function checkDoors(
  doors: readonly string[] | null,
  known: readonly string[],
): readonly string[] | null {
  if (doors === null || doors.length === 0) return null;
  for (const door of doors) if (!known.includes(door)) throw new LocalAccessError(`no door "${door}" here`);
  return doors;
}

/** The block list made here (source `local`): a card refused at the door whatever the library system says. Every change audited. */
export class LocalBlocks {
  constructor(
    private readonly db: Db,
    private readonly knownDoors: readonly string[],
  ) {}

  add(input: BlockInput, actor: string, now = Date.now()): LocalBlock {
    const note = checkNote(input.note);
    const doors = checkDoors(input.doors, this.knownDoors);
    if (!(input.expiresAt > now)) throw new LocalAccessError('the expiry must be in the future');
    if (input.expiresAt > now + BLOCK_MAX_DAYS * DAY_MS)
      throw new LocalAccessError(`a block lasts at most ${BLOCK_MAX_DAYS} days; renew it when it ends`);
    const row: BlockRow = {
      card_hash: input.cardHash,
      card_hint: input.cardHint,
      note,
      doors: doorsColumn(doors),
      expires_at: input.expiresAt,
      created_by: actor,
      created_at: now,
    };
    this.db.transaction(() => {
      const replaced = this.db
        .prepare("SELECT 1 FROM local_blocks WHERE card_hash = ? AND source = 'local'")
        .get(row.card_hash);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO local_blocks (card_hash, source, card_hint, note, doors, expires_at, created_by, created_at)
           VALUES (@card_hash, 'local', @card_hint, @note, @doors, @expires_at, @created_by, @created_at)`,
        )
        .run(row);
      audit(
        this.db,
        {
          actor,
          action: replaced ? 'block.replaced' : 'block.added',
          subject: row.card_hash,
          reason: note,
          detail: {
            hint: row.card_hint,
            doors: doors ?? 'all',
            expiresAt: new Date(row.expires_at).toISOString(),
          },
        },
        now,
      );
    })();
    return toBlock(row);
  }

  /** True when there was a block to remove. */
  remove(cardHash: string, actor: string, reason: string | undefined, now = Date.now()): boolean {
    return this.db.transaction(() => {
      const row = this.db
        .prepare("SELECT * FROM local_blocks WHERE card_hash = ? AND source = 'local'")
        .get(cardHash) as BlockRow | undefined;
      if (!row) return false;
      // Only a block made here: the fleet's come and go with its signed document (src/fleet-rules).
      this.db.prepare("DELETE FROM local_blocks WHERE card_hash = ? AND source = 'local'").run(cardHash);
      audit(
        this.db,
        { actor, action: 'block.removed', subject: cardHash, reason, detail: { hint: row.card_hint } },
        now,
      );
      return true;
    })();
  }

  list(): LocalBlock[] {
    return (
      this.db
        .prepare("SELECT * FROM local_blocks WHERE source = 'local' ORDER BY expires_at, card_hint")
        .all() as BlockRow[]
    ).map(toBlock);
  }

  find(cardHash: string): LocalBlock | undefined {
    const row = this.db
      .prepare("SELECT * FROM local_blocks WHERE card_hash = ? AND source = 'local'")
      .get(cardHash) as BlockRow | undefined;
    return row ? toBlock(row) : undefined;
  }

  /** Whether a block is in force for this card at this door now (an expired one waiting for the nightly removal is not). */
  static inForce(
    row: { doors: string | null; expires_at: number } | undefined,
    door: string,
    now: number,
  ): boolean {
    return row !== undefined && row.expires_at > now && coversDoor(row.doors, door);
  }
}
