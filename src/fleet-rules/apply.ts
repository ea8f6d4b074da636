/**
 * The branch's copy of the fleet's rules: blocks and passes as `fleet` rows beside the ones made here
 * (src/local-access), schedule exceptions merged into the doors' own, and the last valid document kept
 * verbatim so a restart (or a week without the link) keeps it.
 */
import { audit } from '../audit/audit.ts';
import type { DoorConfig } from '../config/types.ts';
import type { ScheduleConfig, ScheduleException } from '../schedule/config.ts';
import type { Db } from '../store/db.ts';
import type { FleetRules } from './document.ts';

export interface AppliedRules {
  version: number;
  sha256: string;
  document: string;
}

export interface ApplyCounts {
  blocks: number;
  passes: number;
  exceptions: number;
}

const forSite = (site: string, sites: string[] | undefined) => !sites || sites.includes(site);

/** The last applied document, as received, or undefined before the first. */
export function lastApplied(db: Db): AppliedRules | undefined {
  return db.prepare('SELECT version, sha256, document FROM fleet_rules WHERE id = 1').get() as
    | AppliedRules
    | undefined;
}

/**
 * Replaces every `fleet` block and pass by the document's (for this site, not yet expired) and keeps the
 * document, in one transaction with its audit record. Rows made here (`local`) are never touched.
 */
export function applyRules(
  db: Db,
  site: string,
  rules: FleetRules,
  received: { document: string; sha256: string },
  now = Date.now(),
): ApplyCounts {
  const blocks = rules.blocks.filter((b) => forSite(site, b.sites) && Date.parse(b.expires_at) > now);
  const passes = rules.passes.filter((p) => forSite(site, p.sites) && Date.parse(p.expires_at) > now);
  const counts = {
    blocks: blocks.length,
    passes: passes.length,
    exceptions: rules.exceptions.filter((e) => forSite(site, e.sites)).length,
  };
  db.transaction(() => {
    db.prepare("DELETE FROM local_blocks WHERE source = 'fleet'").run();
    db.prepare("DELETE FROM local_passes WHERE source = 'fleet'").run();
    const block = db.prepare(
      `INSERT OR REPLACE INTO local_blocks (card_hash, source, card_hint, note, doors, expires_at, created_by, created_at)
       VALUES (?, 'fleet', ?, ?, NULL, ?, ?, ?)`,
    );
    for (const b of blocks)
      block.run(b.card_hash, b.card_hint ?? '', b.note, Date.parse(b.expires_at), actorOf(rules), now);
    const pass = db.prepare(
      `INSERT OR REPLACE INTO local_passes
         (card_hash, source, card_hint, kind, note, doors, hours, camera_consent, expires_at, created_by, created_at)
       VALUES (?, 'fleet', ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
    );
    for (const p of passes)
      pass.run(
        p.card_hash,
        p.card_hint ?? '',
        p.kind,
        p.note,
        p.hours,
        p.camera_consent,
        Date.parse(p.expires_at),
        actorOf(rules),
        now,
      );
    db.prepare(
      `INSERT INTO fleet_rules (id, version, issued_at, document, sha256, applied_at) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, issued_at = excluded.issued_at,
         document = excluded.document, sha256 = excluded.sha256, applied_at = excluded.applied_at`,
    ).run(rules.version, rules.issued_at, received.document, received.sha256, now);
    audit(
      db,
      {
        actor: 'fleet',
        action: 'fleet_rules.applied',
        subject: `version ${rules.version}`,
        detail: { version: rules.version, issuedAt: rules.issued_at, sha256: received.sha256, ...counts },
      },
      now,
    );
  })();
  return counts;
}

const actorOf = (rules: FleetRules) => `fleet:v${rules.version}`;

/** The document's exceptions for one door of this site, in the config's shape. */
export function fleetExceptionsFor(
  rules: FleetRules | undefined,
  site: string,
  door: string,
): ScheduleException[] {
  if (!rules) return [];
  return rules.exceptions
    .filter((e) => forSite(site, e.sites) && (!e.doors || e.doors.includes(door)))
    .map((e) => ({
      date: e.date,
      ...(e.closed !== undefined ? { closed: e.closed } : {}),
      ...(e.staffed !== undefined ? { staffed: e.staffed } : {}),
      ...(e.staffless !== undefined ? { staffless: e.staffless } : {}),
      note: e.note ? `fleet: ${e.note}` : 'fleet',
    }));
}

/**
 * The doors' schedules with the fleet's exceptions merged in. On a date the branch's own config has an
 * exception for, the branch's wins: its file is the last word on its own doors.
 */
export function withFleetExceptions(
  doors: readonly DoorConfig[],
  site: string,
  rules: FleetRules | undefined,
): { id: string; schedule: ScheduleConfig }[] {
  return doors.map((door) => {
    const own = door.schedule.exceptions ?? [];
    const taken = new Set(own.map((e) => e.date));
    const fleet = fleetExceptionsFor(rules, site, door.id).filter((e) => !taken.has(e.date));
    return {
      id: door.id,
      schedule: {
        ...door.schedule,
        exceptions: [...own, ...fleet].sort((a, b) => a.date.localeCompare(b.date)),
      },
    };
  });
}
