/**
 * What the door process reads of the block list and the passes at each swipe: two primary-key reads on its own
 * connection. The dashboard (worker process) and the CLI commit to the same WAL store, so a change is seen by
 * the next swipe without any message between the processes.
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

export const NO_LOCAL_FACTS: LocalAccessFacts = { blocked: false, pass: null };

export class LocalAccessLookup {
  private readonly block;
  private readonly pass;
  private readonly rowsOf;
  private readonly spans = new Map<string, PassSpan[]>();

  constructor(
    db: Db,
    private readonly timezone: string,
  ) {
    // A card may have a block (or pass) made here and one from the fleet's rules (src/fleet-rules).
    this.block = db.prepare('SELECT doors, expires_at FROM local_blocks WHERE card_hash = ?');
    // The pass made here wins over the fleet's: the branch knows its own cleaners.
    this.pass = db.prepare(
      `SELECT doors, hours, camera_consent, expires_at FROM local_passes WHERE card_hash = ?
        ORDER BY source = 'local' DESC LIMIT 1`,
    );
    // Both from one snapshot: the worker applies a fleet document in many small transactions, and a block
    // read before one of them with a pass read after it would be a mix no version of the rules holds.
    this.rowsOf = db.transaction((cardHash: string) => ({
      blocks: this.block.all(cardHash) as { doors: string | null; expires_at: number }[],
      pass: this.pass.get(cardHash) as
        | { doors: string | null; hours: string; camera_consent: string; expires_at: number }
        | undefined,
    })).deferred;
  }

  factsFor(cardHash: string, door: string, at: Date): LocalAccessFacts {
    const now = at.getTime();
    const { blocks, pass } = this.rowsOf(cardHash);
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
