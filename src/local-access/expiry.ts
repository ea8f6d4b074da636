import { addDays, parseDateKey, zoneNamed } from '../time/zone.ts';

export const DAY_MS = 86_400_000;

/** The end of a local day `YYYY-MM-DD` (the next local midnight) in UTC ms; undefined when not a date. */
export function endOfLocalDay(key: string, timeZone: string): number | undefined {
  if (!parseDateKey(key)) return undefined;
  const zone = zoneNamed(timeZone);
  return zone.instantsOf(addDays(key, 1), 0)[0] ?? zone.instantsOf(addDays(key, 1), 3_600_000)[0];
}

/** Door ids as stored: a JSON array, or null for every door. */
export function doorsColumn(doors: readonly string[] | null): string | null {
  return doors === null || doors.length === 0 ? null : JSON.stringify([...new Set(doors)].sort());
}

export function doorsFromColumn(value: string | null): string[] | null {
  return value === null ? null : (JSON.parse(value) as string[]);
}

export function coversDoor(value: string | null, door: string): boolean {
  return value === null || (JSON.parse(value) as string[]).includes(door);
}
