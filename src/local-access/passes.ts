import { audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import { checkDoors, checkNote, LocalAccessError } from './blocks.ts';
import { DAY_MS, doorsColumn, doorsFromColumn } from './expiry.ts';
import { PassHoursError, parsePassHours } from './pass-hours.ts';

export const PASS_KINDS = ['cleaner', 'guard', 'institution', 'temporary', 'other'] as const;
export type PassKind = (typeof PASS_KINDS)[number];

/** The longest a pass may run: a temporary card three months (as Copenhagen issues them), others a year. */
export const PASS_MAX_DAYS: Record<PassKind, number> = {
  cleaner: 366,
  guard: 366,
  institution: 366,
  temporary: 92,
  other: 366,
};

/**
 * `required` (the default): the holder's camera consent must be registered like a patron's (`dorvakt consent
 * sign --kind camera`). `not_required`: the holder is covered by another basis (e.g. staff of a contractor,
 * informed by their employer): see docs/local-access.md. A recorded withdrawal refuses either way.
 */
export type PassCameraConsent = 'required' | 'not_required';

export interface PassInput {
  cardHash: string;
  cardHint: string;
  kind: PassKind;
  note: string;
  doors: readonly string[] | null;
  hours: string;
  cameraConsent: PassCameraConsent;
  expiresAt: number;
}

export interface LocalPass {
  cardHash: string;
  cardHint: string;
  kind: PassKind;
  note: string;
  doors: string[] | null;
  hours: string;
  cameraConsent: PassCameraConsent;
  expiresAt: number;
  createdBy: string;
  createdAt: number;
}

interface PassRow {
  card_hash: string;
  card_hint: string;
  kind: PassKind;
  note: string;
  doors: string | null;
  hours: string;
  camera_consent: PassCameraConsent;
  expires_at: number;
  created_by: string;
  created_at: number;
}

const toPass = (r: PassRow): LocalPass => ({
  cardHash: r.card_hash,
  cardHint: r.card_hint,
  kind: r.kind,
  note: r.note,
  doors: doorsFromColumn(r.doors),
  hours: r.hours,
  cameraConsent: r.camera_consent,
  expiresAt: r.expires_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** Passes: cards registered here (cleaners, guards, institutions, temporary cards) with their own hours. Audited. */
export class LocalPasses {
  constructor(
    private readonly db: Db,
    private readonly knownDoors: readonly string[],
  ) {}

  add(input: PassInput, actor: string, now = Date.now()): LocalPass {
    if (!PASS_KINDS.includes(input.kind))
      throw new LocalAccessError(`kind must be one of ${PASS_KINDS.join(', ')}`);
    if (input.cameraConsent !== 'required' && input.cameraConsent !== 'not_required')
      throw new LocalAccessError('camera consent must be required or not_required');
    const note = checkNote(input.note);
    const doors = checkDoors(input.doors, this.knownDoors);
    try {
      parsePassHours(input.hours);
    } catch (error) {
      if (error instanceof PassHoursError) throw new LocalAccessError(`hours: ${error.message}`);
      throw error;
    }
    if (!(input.expiresAt > now)) throw new LocalAccessError('the expiry must be in the future');
    const maxDays = PASS_MAX_DAYS[input.kind];
    if (input.expiresAt > now + maxDays * DAY_MS)
      throw new LocalAccessError(`a ${input.kind} pass lasts at most ${maxDays} days`);
    const row: PassRow = {
      card_hash: input.cardHash,
      card_hint: input.cardHint,
      kind: input.kind,
      note,
      doors: doorsColumn(doors),
      hours: input.hours.trim(),
      camera_consent: input.cameraConsent,
      expires_at: input.expiresAt,
      created_by: actor,
      created_at: now,
    };
    this.db.transaction(() => {
      const replaced = this.db
        .prepare("SELECT 1 FROM local_passes WHERE card_hash = ? AND source = 'local'")
        .get(row.card_hash);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO local_passes
             (card_hash, source, card_hint, kind, note, doors, hours, camera_consent, expires_at, created_by, created_at)
           VALUES (@card_hash, 'local', @card_hint, @kind, @note, @doors, @hours, @camera_consent, @expires_at, @created_by, @created_at)`,
        )
        .run(row);
      audit(
        this.db,
        {
          actor,
          action: replaced ? 'pass.replaced' : 'pass.added',
          subject: row.card_hash,
          reason: note,
          detail: {
            hint: row.card_hint,
            kind: row.kind,
            doors: doors ?? 'all',
            hours: row.hours,
            cameraConsent: row.camera_consent,
            expiresAt: new Date(row.expires_at).toISOString(),
          },
        },
        now,
      );
    })();
    return toPass(row);
  }

  remove(cardHash: string, actor: string, reason: string | undefined, now = Date.now()): boolean {
    return this.db.transaction(() => {
      const row = this.db
        .prepare("SELECT * FROM local_passes WHERE card_hash = ? AND source = 'local'")
        .get(cardHash) as PassRow | undefined;
      if (!row) return false;
      this.db.prepare("DELETE FROM local_passes WHERE card_hash = ? AND source = 'local'").run(cardHash);
      audit(
        this.db,
        {
          actor,
          action: 'pass.removed',
          subject: cardHash,
          reason,
          detail: { hint: row.card_hint, kind: row.kind },
        },
        now,
      );
      return true;
    })();
  }

  list(): LocalPass[] {
    return (
      this.db
        .prepare("SELECT * FROM local_passes WHERE source = 'local' ORDER BY expires_at, card_hint")
        .all() as PassRow[]
    ).map(toPass);
  }

  find(cardHash: string): LocalPass | undefined {
    const row = this.db
      .prepare("SELECT * FROM local_passes WHERE card_hash = ? AND source = 'local'")
      .get(cardHash) as PassRow | undefined;
    return row ? toPass(row) : undefined;
  }
}
