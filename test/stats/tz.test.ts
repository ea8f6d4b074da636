import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  floorToLocalHour,
  isoWeek,
  localDayHour,
  offsetSegments,
  startOfLocalDay,
} from '../../src/stats/tz.ts';
import { tzOffsetMs } from '../../src/time/zone.ts';
import { referenceLocal } from '../retention/seed.ts';

const ZONES = [
  'Europe/Oslo',
  'Europe/Copenhagen',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'UTC',
];
const HOUR = 3_600_000;
const instant = fc.integer({ min: Date.UTC(2019, 0, 1), max: Date.UTC(2031, 0, 1) });

describe('time zone helpers (no process TZ)', () => {
  it('offset segments cover the range, each with one offset, neighbours differing (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        instant,
        fc.integer({ min: 1, max: 800 * 86_400_000 }),
        (zone, from, span) => {
          const to = from + span;
          const segments = offsetSegments(zone, from, to);
          expect(segments[0]!.start).toBe(from);
          expect(segments.at(-1)!.end).toBe(to);
          for (let i = 0; i < segments.length; i++) {
            const s = segments[i]!;
            expect(s.end).toBeGreaterThan(s.start);
            expect(tzOffsetMs(zone, s.start)).toBe(s.offsetMs);
            expect(tzOffsetMs(zone, s.end - 1)).toBe(s.offsetMs);
            if (i > 0) {
              expect(s.start).toBe(segments[i - 1]!.end);
              expect(s.offsetMs).not.toBe(segments[i - 1]!.offsetMs);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('local day and hour agree with a formatted reference; floors land on local hour starts (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), instant, (zone, ts) => {
        expect(localDayHour(zone, ts)).toEqual(referenceLocal(zone, ts));
        const floor = floorToLocalHour(zone, ts);
        expect(floor).toBeLessThanOrEqual(ts);
        expect(ts - floor).toBeLessThan(HOUR);
        expect(localDayHour(zone, floor)).toEqual(referenceLocal(zone, ts));
        const atFloor = tzOffsetMs(zone, floor);
        const atTs = tzOffsetMs(zone, ts);
        if (atFloor === atTs) expect((floor + atFloor) % HOUR).toBe(0);
        else {
          // Only a change by a fraction of an hour (Lord Howe's half hour) lies inside a local hour: that hour
          // began while clocks still showed the old offset, so it is on the hour in the new one.
          expect((atTs - atFloor) % HOUR).not.toBe(0);
          expect((floor + atTs) % HOUR).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a local hour that begins inside Lord Howe's half-hour change back (fast-check's counterexample)", () => {
    // 2023-04-02 02:00 LHDT (+11) became 01:30 LHST (+10:30) at 15:00 UTC; 15:10 UTC reads 01:40 LHST.
    const ts = Date.UTC(2023, 3, 1, 15, 10);
    const floor = floorToLocalHour('Australia/Lord_Howe', ts);
    expect(new Date(floor).toISOString()).toBe('2023-04-01T14:30:00.000Z');
    expect(localDayHour('Australia/Lord_Howe', floor)).toEqual(referenceLocal('Australia/Lord_Howe', ts));
    expect(floorToLocalHour('Australia/Lord_Howe', Date.UTC(2023, 3, 1, 15, 0))).toBe(floor);
  });

  it('start of a local day', () => {
    expect(new Date(startOfLocalDay('Europe/Oslo', '2026-03-29')).toISOString()).toBe(
      '2026-03-28T23:00:00.000Z',
    );
    expect(new Date(startOfLocalDay('Europe/Oslo', '2026-10-26')).toISOString()).toBe(
      '2026-10-25T23:00:00.000Z',
    );
    // Midnight did not exist in São Paulo on 4 November 2018: the day began at 01:00.
    expect(new Date(startOfLocalDay('America/Sao_Paulo', '2018-11-04')).toISOString()).toBe(
      '2018-11-04T03:00:00.000Z',
    );
  });

  it('ISO weeks', () => {
    expect(isoWeek('2026-01-01')).toBe('2026-W01');
    expect(isoWeek('2026-12-31')).toBe('2026-W53');
    expect(isoWeek('2027-01-03')).toBe('2026-W53');
    expect(isoWeek('2027-01-04')).toBe('2027-W01');
    expect(isoWeek('2021-01-03')).toBe('2020-W53');
    expect(isoWeek('2024-12-30')).toBe('2025-W01');
  });
});
