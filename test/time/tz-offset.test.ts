import { describe, expect, it } from 'vitest';
import { tzOffsetMs } from '../../src/time/zone.ts';

const HOUR = 3_600_000;
const ms = (iso: string) => Date.parse(iso);

describe('tzOffsetMs (local wall clock = instant + offset)', () => {
  it.each([
    ['Europe/Oslo', '2026-01-15T12:00:00Z', 1 * HOUR],
    ['Europe/Oslo', '2026-07-15T12:00:00Z', 2 * HOUR],
    // The last instant before and the first after the spring change (01:00 UTC).
    ['Europe/Oslo', '2026-03-29T00:59:59.999Z', 1 * HOUR],
    ['Europe/Oslo', '2026-03-29T01:00:00Z', 2 * HOUR],
    ['America/New_York', '2026-01-15T12:00:00Z', -5 * HOUR],
    ['Asia/Kolkata', '2026-01-15T12:00:00Z', 5.5 * HOUR],
    ['Australia/Lord_Howe', '2026-01-15T12:00:00Z', 11 * HOUR],
    ['Australia/Lord_Howe', '2026-07-15T12:00:00Z', 10.5 * HOUR],
    ['UTC', '2026-01-15T12:00:00Z', 0],
  ])('%s at %s', (zone, iso, offset) => {
    expect(tzOffsetMs(zone, ms(iso))).toBe(offset);
  });

  it('agrees with the wall clock Intl shows', () => {
    const at = ms('2026-10-25T00:30:00Z');
    const wall = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Oslo',
      dateStyle: 'short',
      timeStyle: 'medium',
    }).format(at);
    expect(new Date(at + tzOffsetMs('Europe/Oslo', at)).toISOString().slice(0, 19).replace('T', ' ')).toBe(
      wall,
    );
  });

  it('throws on an unknown zone', () => {
    expect(() => tzOffsetMs('Mars/Olympus_Mons', 0)).toThrow(RangeError);
  });
});
