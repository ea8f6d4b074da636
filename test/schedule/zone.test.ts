import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, parseDateKey, Zone } from '../../src/time/zone.ts';

const ms = (iso: string) => Date.parse(iso);

describe('Zone (independent of process TZ)', () => {
  const oslo = new Zone('Europe/Oslo');

  it.each([
    ['2026-01-15T11:00:00Z', '2026-01-15', 12 * 60],
    ['2026-07-15T11:00:00Z', '2026-07-15', 13 * 60],
    ['2026-03-29T00:59:59Z', '2026-03-29', 1 * 60 + 59.99],
    ['2026-03-29T01:00:00Z', '2026-03-29', 3 * 60],
    ['2026-10-25T00:30:00Z', '2026-10-25', 2 * 60 + 30],
    ['2026-10-25T01:30:00Z', '2026-10-25', 2 * 60 + 30],
    ['2026-12-31T23:30:00Z', '2027-01-01', 30],
  ])('localDay(%s) = %s at minute %d', (iso, key, minutes) => {
    const local = oslo.localDay(ms(iso));
    expect(local.key).toBe(key);
    expect(Math.floor(local.msOfDay / 1000)).toBe(Math.floor(minutes * 60));
  });

  it.each([
    // DST gap: 02:30 does not exist on 2026-03-29 in Oslo.
    ['2026-03-29', '02:30', []],
    // DST overlap: 02:30 happens twice on 2026-10-25.
    ['2026-10-25', '02:30', ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']],
    ['2026-10-25', '06:00', ['2026-10-25T05:00:00.000Z']],
    ['2026-03-29', '06:00', ['2026-03-29T04:00:00.000Z']],
    ['2026-06-01', '00:00', ['2026-05-31T22:00:00.000Z']],
    ['2026-06-01', '24:00', ['2026-06-01T22:00:00.000Z']],
  ])('instantsOf(%s %s)', (day, hhmm, expected) => {
    const [h, m] = hhmm.split(':').map(Number);
    const found = oslo.instantsOf(day, (h! * 60 + m!) * 60_000).map((t) => new Date(t).toISOString());
    expect(found).toEqual(expected);
  });

  it.each([
    ['Europe/Oslo', ['2026-03-29T01:00:00.000Z', '2026-10-25T01:00:00.000Z']],
    ['Europe/Copenhagen', ['2026-03-29T01:00:00.000Z', '2026-10-25T01:00:00.000Z']],
    ['America/New_York', ['2026-03-08T07:00:00.000Z', '2026-11-01T06:00:00.000Z']],
    ['Australia/Sydney', ['2026-04-04T16:00:00.000Z', '2026-10-03T16:00:00.000Z']],
    ['UTC', []],
  ])('transitions of 2026 in %s', (zone, expected) => {
    const found = new Zone(zone).transitionsBetween(ms('2026-01-01T00:00:00Z'), ms('2027-01-01T00:00:00Z'));
    expect(found.map((t) => new Date(t).toISOString())).toEqual(expected);
  });

  it('rejects an unknown zone', () => {
    expect(() => new Zone('Mars/Olympus_Mons')).toThrow(RangeError);
  });

  it('day keys: calendar checks and arithmetic', () => {
    expect(parseDateKey('2026-02-29')).toBeUndefined();
    expect(parseDateKey('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('property: every instant is among the instants of its own wall clock reading', () => {
    const zones = ['Europe/Oslo', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'].map(
      (z) => new Zone(z),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: ms('2024-01-01T00:00:00Z'), max: ms('2030-01-01T00:00:00Z') }),
        (zone, t) => {
          const { key, msOfDay } = zone.localDay(t);
          expect(zone.instantsOf(key, msOfDay)).toContain(t);
        },
      ),
      { numRuns: 400 },
    );
  });
});
