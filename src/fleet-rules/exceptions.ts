/**
 * The door process's side of the fleet's rules: the dated schedule exceptions the worker stored after checking
 * the document's signature, merged into the doors' own. Nothing here checks a signature or loads the schema:
 * the door's start and its schedule never wait for that (docs/fleet-rules.md).
 */
import type { DoorConfig } from '../config/types.ts';
import type { ScheduleConfig, ScheduleException } from '../schedule/config.ts';
import type { Db } from '../store/db.ts';
import type { FleetRules } from './document.ts';

export type FleetException = FleetRules['exceptions'][number];

const forSite = (site: string, sites: string[] | undefined) => !sites || sites.includes(site);

/** This site's exceptions of a checked document: what the worker stores for the door process. */
export const exceptionsForSite = (rules: FleetRules, site: string): FleetException[] =>
  rules.exceptions.filter((e) => forSite(site, e.sites));

/**
 * The exceptions in force as the worker stored them (already checked), with the version they came with;
 * none before the first document, or while the stored one is not trusted (key rotated).
 */
export function storedFleetExceptions(db: Db): { version: number; exceptions: FleetException[] } | undefined {
  const row = db.prepare('SELECT version, exceptions FROM fleet_rules WHERE id = 1').get() as
    | { version: number; exceptions: string | null }
    | undefined;
  if (!row || row.exceptions === null) return undefined;
  const exceptions = JSON.parse(row.exceptions) as unknown;
  return Array.isArray(exceptions) ? { version: row.version, exceptions } : undefined;
}

/** The fleet's exceptions for one door of this site, in the config's shape. */
export function fleetExceptionsFor(
  exceptions: readonly FleetException[] | undefined,
  site: string,
  door: string,
): ScheduleException[] {
  if (!exceptions) return [];
  return exceptions
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
  exceptions: readonly FleetException[] | undefined,
): { id: string; schedule: ScheduleConfig }[] {
  return doors.map((door) => {
    const own = door.schedule.exceptions ?? [];
    const taken = new Set(own.map((e) => e.date));
    const fleet = fleetExceptionsFor(exceptions, site, door.id).filter((e) => !taken.has(e.date));
    return {
      id: door.id,
      schedule: {
        ...door.schedule,
        exceptions: [...own, ...fleet].sort((a, b) => a.date.localeCompare(b.date)),
      },
    };
  });
}
