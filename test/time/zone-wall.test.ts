import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type WallTime, Zone } from '../../src/time/zone.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// Zones whose offsets change on the hour, on the half hour in UTC (St John's, Lord Howe), by half an hour
// (Lord Howe), at quarter-hour offsets (Kathmandu, Chatham), several times a year (Casablanca), or never.
const ZONES = [
  'Europe/Oslo',
  'Europe/Copenhagen',
  'America/St_Johns',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'Africa/Casablanca',
  'UTC',
];

// The wall clock as Intl shows it, with a formatter of its own (another locale than the Zone's).
const references = new Map<string, Intl.DateTimeFormat>();
function reference(timeZone: string, instant: number): WallTime {
  let format = references.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('sv-SE', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    references.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
    ms: ((instant % 1000) + 1000) % 1000,
  };
}

const referenceOffset = (zone: string, instant: number): number => {
  const whole = instant - (((instant % 1000) + 1000) % 1000);
  const w = reference(zone, whole);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
};

/** Instants where the zone's offset changes in [from, to), found minute by minute from the reference. */
function referenceTransitions(zone: string, from: number, to: number): number[] {
  const found: number[] = [];
  let before = referenceOffset(zone, from);
  for (let t = from + 15 * MINUTE; t < to; t += 15 * MINUTE) {
    const now = referenceOffset(zone, t);
    if (now !== before) {
      let at = t - 15 * MINUTE;
      while (referenceOffset(zone, at) === before) at += MINUTE;
      found.push(at);
    }
    before = now;
  }
  return found;
}

describe('Zone.wall (the wall clock without asking Intl each time)', () => {
  it.each(ZONES)('%s: reads like Intl minute by minute through every offset change of 2026', (zone) => {
    const wall = new Zone(zone);
    const transitions = referenceTransitions(zone, Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1));
    if (zone === 'Europe/Oslo') expect(transitions).toHaveLength(2);
    for (const at of transitions) {
      // From two hours before to two after, in the order a running door asks: the hour's offset is kept.
      for (let t = at - 2 * HOUR; t <= at + 2 * HOUR; t += MINUTE + 7_001) {
        expect(wall.wall(t), `${zone} ${new Date(t).toISOString()}`).toEqual(reference(zone, t));
      }
    }
  });

  it('reads like Intl at any instant of 1900–2100, in any order', () => {
    const wall = new Map(ZONES.map((zone) => [zone, new Zone(zone)]));
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }),
        (zone, instant) => {
          expect(wall.get(zone)!.wall(instant)).toEqual(reference(zone, instant));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('leaves years before 1000 and from 9999 to Intl, as it always did', () => {
    const utc = new Zone('UTC');
    for (const iso of ['0000-06-01T12:00:00Z', '0099-06-01T12:00:00Z', '+010000-06-01T12:00:00Z']) {
      const at = Date.parse(iso);
      expect(utc.wall(at), iso).toEqual(reference('UTC', at));
    }
  });

  it('gives the offset Intl gives at an instant it has read the wall clock of', () => {
    const oslo = new Zone('Europe/Oslo');
    const spring = Date.UTC(2026, 2, 29, 1);
    oslo.wall(spring - 30 * MINUTE);
    expect(oslo.offset(spring - 1)).toBe(HOUR);
    expect(oslo.offset(spring)).toBe(2 * HOUR);
    expect(oslo.localDay(spring + 1).msOfDay).toBe(3 * HOUR + 1);
  });
});
