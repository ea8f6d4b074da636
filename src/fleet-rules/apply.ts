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
    // Only what changed is written: a new version usually differs by a few rows, and the transaction holds
    // the store's write lock (a swipe's commit waits for it).
    const actor = actorOf(rules);
    syncFleetRows(
      db,
      'local_blocks',
      blocks.map((b) => ({
        card_hash: b.card_hash,
        card_hint: b.card_hint ?? '',
        note: b.note,
        doors: null,
        expires_at: Date.parse(b.expires_at),
      })),
      actor,
      now,
    );
    syncFleetRows(
      db,
      'local_passes',
      passes.map((p) => ({
        card_hash: p.card_hash,
        card_hint: p.card_hint ?? '',
        kind: p.kind,
        note: p.note,
        doors: null,
        hours: p.hours,
        camera_consent: p.camera_consent,
        expires_at: Date.parse(p.expires_at),
      })),
      actor,
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

type FleetRow = Record<string, string | number | null> & { card_hash: string };

/**
 * Makes the table's `fleet` rows equal to `wanted` (one per card hash; the last wins): deletes the ones gone,
 * writes the new and the changed, leaves the same ones (and who made them) alone. `local` rows are never read
 * or written.
 */
function syncFleetRows(
  db: Db,
  table: 'local_blocks' | 'local_passes',
  wanted: FleetRow[],
  actor: string,
  now: number,
): void {
  const fields = Object.keys(wanted[0] ?? { card_hash: '' }).filter((f) => f !== 'card_hash');
  const existing = new Map<string, FleetRow>();
  for (const row of db.prepare(`SELECT * FROM ${table} WHERE source = 'fleet'`).all() as FleetRow[])
    existing.set(row.card_hash, row);
  const byHash = new Map(wanted.map((row) => [row.card_hash, row]));
  const remove = db.prepare(`DELETE FROM ${table} WHERE card_hash = ? AND source = 'fleet'`);
  for (const hash of existing.keys()) if (!byHash.has(hash)) remove.run(hash);
  if (byHash.size === 0) return;
  const columns = ['card_hash', ...fields];
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO ${table} (source, created_by, created_at, ${columns.join(', ')})
     VALUES ('fleet', @created_by, @created_at, ${columns.map((c) => `@${c}`).join(', ')})`,
  );
  for (const row of byHash.values()) {
    const old = existing.get(row.card_hash);
    if (old && fields.every((f) => old[f] === row[f])) continue;
    upsert.run({ ...row, created_by: actor, created_at: now });
  }
}

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
