/**
 * What the door process reads of the block list and the passes at each swipe: one statement of two primary-key
 * reads on its own connection. The dashboard (worker process) and the CLI commit to the same WAL store, so a
 * change is seen by the next swipe without any message between the processes.
 */
import type { Db } from '../store/db.ts';
import { type WallTime, zoneNamed } from '../time/zone.ts';
import { LocalBlocks } from './blocks.ts';
import { coversDoor } from './expiry.ts';
import { insidePassHours, type PassSpan, parsePassHours } from './pass-hours.ts';

/** A pass as `decide` sees it at one door and one moment. */
export interface PassFacts {
  expired: boolean;
  forThisDoor: boolean;
  insideHours: boolean;
  cameraConsentRequired: boolean;
}

export interface LocalAccessFacts {
  /** A local block is in force for this card at this door now. */
  blocked: boolean;
  /** The card's pass, or null when it has none. */
  pass: PassFacts | null;
}

interface BlockRow {
  is_pass: 0;
  doors: string | null;
  expires_at: number;
}

interface PassRow {
  is_pass: 1;
  doors: string | null;
  expires_at: number;
  hours: string;
  camera_consent: string;
}

export const NO_LOCAL_FACTS: LocalAccessFacts = { blocked: false, pass: null };

export class LocalAccessLookup {
  private readonly rows;
  private readonly spans = new Map<string, PassSpan[]>();

  constructor(
    db: Db,
    private readonly timezone: string,
  ) {
    // A card may have a block (or pass) made here and one from the fleet's rules (src/fleet-rules); the pass
    // made here wins over the fleet's: the branch knows its own cleaners. One statement reads one snapshot: the
    // worker applies a fleet document in many small transactions, and a block read before one of them with a
    // pass read after it would be a mix no version of the rules holds.
    this.rows = db.prepare(
      `SELECT 0 AS is_pass, doors, expires_at, NULL AS hours, NULL AS camera_consent
         FROM local_blocks WHERE card_hash = ?
       UNION ALL
       SELECT * FROM (
         SELECT 1, doors, expires_at, hours, camera_consent FROM local_passes WHERE card_hash = ?
          ORDER BY source = 'local' DESC LIMIT 1)`,
    );
  }

  factsFor(cardHash: string, door: string, at: Date): LocalAccessFacts {
    const now = at.getTime();
    const rows = this.rows.all(cardHash, cardHash) as (BlockRow | PassRow)[];
    const blocks = rows.filter((row): row is BlockRow => row.is_pass === 0);
    const pass = rows.find((row): row is PassRow => row.is_pass === 1);
    return {
      blocked: blocks.some((block) => LocalBlocks.inForce(block, door, now)),
      pass: pass
        ? {
            expired: pass.expires_at <= now,
            forThisDoor: coversDoor(pass.doors, door),
            insideHours: this.inside(pass.hours, zoneNamed(this.timezone).wall(now)),
            cameraConsentRequired: pass.camera_consent !== 'not_required',
          }
        : null,
    };
  }

  private inside(hours: string, wall: WallTime): boolean {
    let spans = this.spans.get(hours);
    if (!spans) {
      try {
        spans = parsePassHours(hours);
      } catch {
        // Checked when stored; a row that does not parse opens nothing.
        spans = [];
      }
      if (this.spans.size > 1000) this.spans.clear();
      this.spans.set(hours, spans);
    }
    return insidePassHours(spans, wall);
  }
}
