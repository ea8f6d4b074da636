import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { buildDoorSchedules, scheduleFromConfig } from '../../src/schedule/planner.ts';
import { ScheduleConfigError, type SiteSettings } from '../../src/schedule/schedule.ts';

const OSLO: SiteSettings = { timezone: 'Europe/Oslo', country: 'NO' };
const COPENHAGEN: SiteSettings = { timezone: 'Europe/Copenhagen', country: 'DK' };

/** A typical Norwegian meråpent bibliotek. */
const LIBRARY: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00; Sa 10:00-14:00',
  staffless: 'Mo-Su 07:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 10,
  exceptions: [],
};

const schedule = (overrides: Partial<ScheduleConfig> = {}, site: SiteSettings = OSLO) =>
  scheduleFromConfig({ ...LIBRARY, ...overrides }, site);

/** Instants are written with explicit offsets so the tests never depend on the process's TZ. */
const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

describe('DoorSchedule.stateAt — regular week (Oslo, November, +01:00)', () => {
  const s = schedule();
  it.each([
    ['Wed 12:00', '2026-11-25T12:00:00+01:00', 'staffed'],
    ['Wed 10:00 staffed starts', '2026-11-25T10:00:00+01:00', 'staffed'],
    ['Wed 09:59', '2026-11-25T09:59:00+01:00', 'staffless'],
    ['Wed 08:00', '2026-11-25T08:00:00+01:00', 'staffless'],
    ['Wed 07:00 staffless starts', '2026-11-25T07:00:00+01:00', 'staffless'],
    ['Wed 06:59', '2026-11-25T06:59:00+01:00', 'closed'],
    ['Wed 16:00 staffed ends', '2026-11-25T16:00:00+01:00', 'staffless'],
    ['Wed 21:59', '2026-11-25T21:59:00+01:00', 'staffless'],
    ['Wed 22:00', '2026-11-25T22:00:00+01:00', 'closed'],
    ['Wed 03:00', '2026-11-25T03:00:00+01:00', 'closed'],
    ['Sat 13:59', '2026-11-28T13:59:00+01:00', 'staffed'],
    ['Sat 14:00', '2026-11-28T14:00:00+01:00', 'staffless'],
    ['Sun 12:00', '2026-11-29T12:00:00+01:00', 'staffless'],
    ['Sun 23:00', '2026-11-29T23:00:00+01:00', 'closed'],
  ])('%s → %s', (_label, when, expected) => {
    expect(s.stateAt(at(when))).toBe(expected);
  });
});

describe('DoorSchedule.stateAt — Norwegian public holidays closed', () => {
  const s = schedule();
  it.each([
    ['17. mai 2026 (Sunday)', '2026-05-17T12:00:00+02:00', 'closed'],
    ['1. juledag 2026-12-25 (Friday)', '2026-12-25T12:00:00+01:00', 'closed'],
    ['2. juledag 2026-12-26 (Saturday)', '2026-12-26T11:00:00+01:00', 'closed'],
    ['Skjærtorsdag 2026-04-02', '2026-04-02T12:00:00+02:00', 'closed'],
    ['Langfredag 2026-04-03', '2026-04-03T12:00:00+02:00', 'closed'],
    ['Påskeaften 2026-04-04 is no holiday', '2026-04-04T12:00:00+02:00', 'staffed'],
    ['2. påskedag 2026-04-06', '2026-04-06T12:00:00+02:00', 'closed'],
    ['Kristi himmelfartsdag 2026-05-14', '2026-05-14T12:00:00+02:00', 'closed'],
    ['Kristi himmelfartsdag, staffless hours too', '2026-05-14T20:00:00+02:00', 'closed'],
    ['the day after, 2026-05-15', '2026-05-15T12:00:00+02:00', 'staffed'],
    ['1. mai 2026 (Arbeidernes dag)', '2026-05-01T12:00:00+02:00', 'closed'],
    ['Julaften is a bank holiday, not public: regular hours', '2026-12-24T12:00:00+01:00', 'staffed'],
  ])('%s → %s', (_label, when, expected) => {
    expect(s.stateAt(at(when))).toBe(expected);
  });

  it('holidays follow the regular hours when holidays_closed is false', () => {
    const open = schedule({ holidays_closed: false });
    expect(open.stateAt(at('2026-05-14T12:00:00+02:00'))).toBe('staffed');
    expect(open.stateAt(at('2026-05-17T12:00:00+02:00'))).toBe('staffless');
  });

  it('names the holiday', () => {
    expect(s.holidayAt(at('2026-05-17T00:30:00+02:00'))?.name).toBe('Grunnlovsdagen');
    expect(s.holidayAt(at('2026-05-16T23:30:00+02:00'))).toBeUndefined();
  });
});

describe('DoorSchedule.stateAt — Danish holidays (per date-holidays)', () => {
  const s = schedule({}, COPENHAGEN);
  it.each([
    ['Juledag 2026-12-25', '2026-12-25T12:00:00+01:00', 'closed'],
    ['Skærtorsdag 2026-04-02', '2026-04-02T12:00:00+02:00', 'closed'],
    ['Kristi Himmelfartsdag 2026-05-14', '2026-05-14T12:00:00+02:00', 'closed'],
    ['Anden Pinsedag 2026-05-25', '2026-05-25T12:00:00+02:00', 'closed'],
    // Store Bededag (4th Friday after Easter) was abolished from 2024; 2026-05-01 is an ordinary Friday.
    ['former Store Bededag 2026-05-01', '2026-05-01T12:00:00+02:00', 'staffed'],
    // Grundlovsdag is an "observance" in date-holidays, not a public holiday: regular hours.
    ['Grundlovsdag 2026-06-05', '2026-06-05T12:00:00+02:00', 'staffed'],
  ])('%s → %s', (_label, when, expected) => {
    expect(s.stateAt(at(when))).toBe(expected);
  });

  it('date-holidays still knows Store Bededag before it was abolished', () => {
    expect(s.holidayAt(at('2023-05-05T12:00:00+02:00'))?.name).toBe('Store Bededag');
    expect(s.holidayAt(at('2026-05-01T12:00:00+02:00'))).toBeUndefined();
    expect(s.holidayAt(at('2026-06-05T12:00:00+02:00'))).toBeUndefined();
  });

  it('a Grundlovsdag half day is an exception', () => {
    const half = schedule(
      { exceptions: [{ date: '2026-06-05', staffed: '10:00-12:00', note: 'Grundlovsdag' }] },
      COPENHAGEN,
    );
    expect(half.stateAt(at('2026-06-05T11:00:00+02:00'))).toBe('staffed');
    expect(half.stateAt(at('2026-06-05T12:00:00+02:00'))).toBe('closed');
  });
});

describe('DoorSchedule — region holidays', () => {
  it('Heilige Drei Könige is closed in Bavaria only', () => {
    const config = { staffed: 'Mo-Fr 10:00-16:00', staffless: '' };
    const bavaria = schedule(config, { timezone: 'Europe/Berlin', country: 'DE', region: 'BY' });
    const berlin = schedule(config, { timezone: 'Europe/Berlin', country: 'DE', region: 'BE' });
    expect(bavaria.stateAt(at('2026-01-06T12:00:00+01:00'))).toBe('closed');
    expect(berlin.stateAt(at('2026-01-06T12:00:00+01:00'))).toBe('staffed');
  });
});

describe('DoorSchedule — dated exceptions', () => {
  const s = schedule({
    exceptions: [
      { date: '2026-11-25', closed: true, note: 'staff training' },
      { date: '2026-05-17', staffless: '10:00-14:00', note: 'open for the parade' },
      { date: '2026-12-24', staffed: '10:00-13:00', staffless: '07:00-10:00,13:00-15:00' },
      { date: '2026-11-28', staffless: '07:00-22:00' },
    ],
  });
  it.each([
    ['closed day, in staffed hours', '2026-11-25T12:00:00+01:00', 'closed'],
    ['closed day, in staffless hours', '2026-11-25T20:00:00+01:00', 'closed'],
    ['day after the closed day is normal', '2026-11-26T12:00:00+01:00', 'staffed'],
    ['extra hours on a holiday', '2026-05-17T12:00:00+02:00', 'staffless'],
    ['holiday before the extra hours', '2026-05-17T09:59:00+02:00', 'closed'],
    ['holiday after the extra hours', '2026-05-17T14:00:00+02:00', 'closed'],
    ['short Christmas Eve: staffless morning', '2026-12-24T08:00:00+01:00', 'staffless'],
    ['short Christmas Eve: staffed', '2026-12-24T12:59:00+01:00', 'staffed'],
    ['short Christmas Eve: staffless afternoon', '2026-12-24T14:00:00+01:00', 'staffless'],
    ['short Christmas Eve: closed at 15', '2026-12-24T15:00:00+01:00', 'closed'],
    ['exception without staffed hours replaces them (Saturday)', '2026-11-28T11:00:00+01:00', 'staffless'],
  ])('%s → %s', (_label, when, expected) => {
    expect(s.stateAt(at(when))).toBe(expected);
  });

  it('exceptions take the local date in the site zone, not UTC', () => {
    // 00:30 Oslo time on 2026-11-25 is still 2026-11-24 in UTC.
    const night = schedule({ staffless: '00:00-24:00', exceptions: [{ date: '2026-11-25', closed: true }] });
    expect(night.stateAt(at('2026-11-25T00:30:00+01:00'))).toBe('closed');
    expect(night.stateAt(at('2026-11-24T23:30:00+01:00'))).toBe('staffless');
  });

  it('day() describes a day for the dashboard', () => {
    expect(s.day('2026-12-24')).toMatchObject({
      staffed: [{ from: '10:00', to: '13:00' }],
      staffless: [
        { from: '07:00', to: '10:00' },
        { from: '13:00', to: '15:00' },
      ],
    });
    expect(s.day('2026-05-17')).toMatchObject({ holiday: { name: 'Grunnlovsdagen' }, staffed: [] });
    expect(schedule().day('2026-05-17')).toMatchObject({ staffed: [], staffless: [] });
    expect(schedule().day('2026-11-29')).toMatchObject({
      staffed: [],
      staffless: [{ from: '07:00', to: '22:00' }],
    });
  });
});

describe('DoorSchedule — DST (Europe/Oslo)', () => {
  const s = schedule({ staffed: '', staffless: 'Mo-Su 06:00-23:00' });
  it.each([
    ['day before spring forward', '2026-03-28T00:30:00+01:00', '2026-03-28T06:00:00+01:00'],
    ['spring forward day', '2026-03-29T00:30:00+01:00', '2026-03-29T06:00:00+02:00'],
    [
      'spring forward day, from inside the skipped hour side',
      '2026-03-29T03:10:00+02:00',
      '2026-03-29T06:00:00+02:00',
    ],
    ['day after spring forward', '2026-03-30T00:30:00+02:00', '2026-03-30T06:00:00+02:00'],
    ['day before fall back', '2026-10-24T00:30:00+02:00', '2026-10-24T06:00:00+02:00'],
    ['fall back day', '2026-10-25T00:30:00+02:00', '2026-10-25T06:00:00+01:00'],
    ['fall back day, second 02:30', '2026-10-25T02:30:00+01:00', '2026-10-25T06:00:00+01:00'],
    ['day after fall back', '2026-10-26T00:30:00+01:00', '2026-10-26T06:00:00+01:00'],
  ])('%s: opens at 06:00 local', (_label, from, opens) => {
    expect(s.stateAt(at(from))).toBe('closed');
    const next = s.nextChange(at(from));
    expect(next).toEqual({ state: 'staffless', at: at(opens) });
  });

  it.each([
    ['2026-03-29T12:00:00+02:00', '2026-03-29T23:00:00+02:00'],
    ['2026-10-25T12:00:00+01:00', '2026-10-25T23:00:00+01:00'],
  ])('closes at 23:00 local (%s)', (from, closes) => {
    expect(s.nextChange(at(from))).toEqual({ state: 'closed', at: at(closes) });
  });

  it('a boundary inside the skipped hour takes effect when the clock jumps', () => {
    const gap = schedule({ staffed: '', staffless: 'Mo-Su 02:30-04:00' });
    expect(gap.stateAt(at('2026-03-29T01:59:59+01:00'))).toBe('closed');
    expect(gap.nextChange(at('2026-03-29T01:30:00+01:00'))).toEqual({
      state: 'staffless',
      at: at('2026-03-29T03:00:00+02:00'),
    });
    expect(gap.nextChange(at('2026-03-29T03:00:00+02:00'))).toEqual({
      state: 'closed',
      at: at('2026-03-29T04:00:00+02:00'),
    });
  });

  it('a boundary inside the repeated hour applies to both passes of the wall clock', () => {
    const overlap = schedule({ staffed: '', staffless: 'Mo-Su 02:30-05:00' });
    const chain: string[] = [];
    let from = at('2026-10-25T02:00:00+02:00');
    for (let i = 0; i < 4; i++) {
      const next = overlap.nextChange(from);
      if (!next) break;
      chain.push(`${next.state}@${iso(next.at)}`);
      from = next.at;
    }
    expect(chain).toEqual([
      'staffless@2026-10-25T00:30:00.000Z', // 02:30 CEST
      'closed@2026-10-25T01:00:00.000Z', // the wall clock falls back to 02:00
      'staffless@2026-10-25T01:30:00.000Z', // 02:30 CET
      'closed@2026-10-25T04:00:00.000Z', // 05:00 CET
    ]);
  });
});

describe('DoorSchedule.nextChange', () => {
  it.each([
    [
      'staffed only, Friday evening → Monday',
      { staffed: 'Mo-Fr 10:00-16:00', staffless: '' },
      '2026-11-27T16:30:00+01:00',
      'staffed',
      '2026-11-30T10:00:00+01:00',
    ],
    [
      'staffless → staffed the same morning',
      {},
      '2026-11-25T08:00:00+01:00',
      'staffed',
      '2026-11-25T10:00:00+01:00',
    ],
    ['staffed → staffless', {}, '2026-11-25T12:00:00+01:00', 'staffless', '2026-11-25T16:00:00+01:00'],
    ['staffless → closed', {}, '2026-11-25T17:00:00+01:00', 'closed', '2026-11-25T22:00:00+01:00'],
    [
      'Saturday staffed → staffless at 14',
      {},
      '2026-11-28T11:00:00+01:00',
      'staffless',
      '2026-11-28T14:00:00+01:00',
    ],
    ['over Kristi himmelfartsdag', {}, '2026-05-13T22:30:00+02:00', 'staffless', '2026-05-15T07:00:00+02:00'],
    [
      'over Skjærtorsdag and Langfredag',
      {},
      '2026-04-01T22:30:00+02:00',
      'staffless',
      '2026-04-04T07:00:00+02:00',
    ],
    [
      'over Christmas (25th, 26th)',
      {},
      '2026-12-24T22:30:00+01:00',
      'staffless',
      '2026-12-27T07:00:00+01:00',
    ],
    [
      'into a holiday at midnight',
      { staffed: '', staffless: '24/7' },
      '2026-05-16T20:00:00+02:00',
      'closed',
      '2026-05-17T00:00:00+02:00',
    ],
    [
      'out of a holiday at midnight',
      { staffed: '', staffless: '24/7' },
      '2026-05-17T20:00:00+02:00',
      'staffless',
      '2026-05-18T00:00:00+02:00',
    ],
    [
      'into an exception',
      { exceptions: [{ date: '2026-11-26', closed: true }] },
      '2026-11-25T22:30:00+01:00',
      'staffless',
      '2026-11-27T07:00:00+01:00',
    ],
    [
      'staffed over a staffless gap at lunch',
      { staffed: 'Mo-Fr 10:00-12:00,13:00-16:00', staffless: 'Mo-Fr 12:00-13:00' },
      '2026-11-25T11:00:00+01:00',
      'staffless',
      '2026-11-25T12:00:00+01:00',
    ],
  ])('%s', (_label, overrides: Partial<ScheduleConfig>, from, state, when) => {
    expect(schedule(overrides).nextChange(at(from))).toEqual({ state, at: at(when) });
  });

  it('returns null when nothing changes within the horizon', () => {
    const always = schedule({ staffed: '', staffless: '24/7', holidays_closed: false });
    expect(always.nextChange(at('2026-11-25T12:00:00+01:00'))).toBeNull();
    const never = schedule({ staffed: '', staffless: '' });
    expect(never.nextChange(at('2026-11-25T12:00:00+01:00'))).toBeNull();
    // Christmas Day next year is beyond 8 days.
    const once = schedule({ staffed: '', staffless: 'Dec 25 10:00-12:00', holidays_closed: false });
    expect(once.nextChange(at('2026-12-16T12:00:00+01:00'))).toBeNull();
    expect(once.nextChange(at('2026-12-18T12:00:00+01:00'))).toEqual({
      state: 'staffless',
      at: at('2026-12-25T10:00:00+01:00'),
    });
  });

  it('property: the state holds from `from` until the change, and the change is real', () => {
    const schedules = [
      schedule(),
      schedule({ staffed: '', staffless: 'Mo-Su 06:00-23:00' }),
      schedule({ staffless: 'Mo-Su 02:30-05:00; Sa 22:00-02:00' }),
      schedule({}, COPENHAGEN),
    ];
    const start = Date.parse('2026-01-01T00:00:00Z');
    const end = Date.parse('2027-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.constantFrom(...schedules), fc.integer({ min: start, max: end }), (s, t) => {
        const from = new Date(t);
        const current = s.stateAt(from);
        const next = s.nextChange(from);
        const until = next ? next.at.getTime() : t + 8 * 86_400_000;
        if (next) {
          expect(next.at.getTime()).toBeGreaterThan(t);
          expect(s.stateAt(next.at)).toBe(next.state);
          expect(next.state).not.toBe(current);
          expect(s.stateAt(new Date(until - 1))).toBe(current);
        }
        for (let probe = t; probe < until; probe += 7 * 60_000) {
          expect(s.stateAt(new Date(probe))).toBe(current);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('DoorSchedule.closingSoon', () => {
  const s = schedule();
  it.each([
    [
      '10 minutes before staffless ends',
      '2026-11-25T21:50:00+01:00',
      { minutes: 10, at: '2026-11-25T22:00:00+01:00' },
    ],
    [
      '4.5 minutes before: rounded up',
      '2026-11-25T21:55:30+01:00',
      { minutes: 5, at: '2026-11-25T22:00:00+01:00' },
    ],
    ['just outside the window', '2026-11-25T21:49:59+01:00', null],
    ['after closing', '2026-11-25T22:00:00+01:00', null],
    ['staffless ending into staffed hours', '2026-11-25T09:55:00+01:00', null],
    ['staffed ending into staffless hours', '2026-11-25T15:55:00+01:00', null],
    [
      'before a holiday that starts at midnight',
      '2026-05-13T21:55:00+02:00',
      { minutes: 5, at: '2026-05-13T22:00:00+02:00' },
    ],
  ])('%s', (_label, when, expected) => {
    const result = s.closingSoon(at(when));
    expect(result).toEqual(expected && { minutes: expected.minutes, at: at(expected.at) });
  });

  it('warns before midnight when a 24/7 staffless door closes for a holiday', () => {
    const allDay = schedule({ staffed: '', staffless: '24/7' });
    expect(allDay.closingSoon(at('2026-05-16T23:55:00+02:00'))).toEqual({
      minutes: 5,
      at: at('2026-05-17T00:00:00+02:00'),
    });
  });

  it('is off when closing_soon_minutes is 0', () => {
    expect(schedule({ closing_soon_minutes: 0 }).closingSoon(at('2026-11-25T21:59:00+01:00'))).toBeNull();
  });
});

describe('DoorSchedule — invalid settings are rejected with a clear message', () => {
  const cases: [string, Partial<ScheduleConfig>, SiteSettings, RegExp][] = [
    ['hours without minutes', { staffed: 'Mo-Fr 10-16' }, OSLO, /staffed "Mo-Fr 10-16".*10:00-16:00/],
    [
      'garbage',
      { staffless: 'whenever' },
      OSLO,
      /staffless "whenever": opening_hours error:.*Unexpected token/,
    ],
    ['hour out of range', { staffless: 'Mo-Fr 25:00-26:00' }, OSLO, /staffless .*outside of the current day/],
    ['trailing separator', { staffed: 'Mo-Fr 10:00-16:00,' }, OSLO, /staffed .*warning.*ends with ","/],
    ['PH in the expression', { staffed: 'Mo-Fr 10:00-16:00; PH off' }, OSLO, /PH\/SH are not supported/],
    [
      'SH in the expression',
      { staffless: 'SH Mo-Fr 08:00-12:00' },
      OSLO,
      /staffless .*PH\/SH are not supported/,
    ],
    [
      'bad exception hours',
      { exceptions: [{ date: '2026-12-24', staffless: '10:00-' }] },
      OSLO,
      /exceptions\[0\]\.staffless "10:00-"/,
    ],
    [
      'weekday rules in an exception',
      { exceptions: [{ date: '2026-12-24', staffed: 'Mo-Fr 10:00-12:00' }] },
      OSLO,
      /exceptions\[0\]\.staffed "Mo-Fr 10:00-12:00": exception hours must be time ranges only/,
    ],
    [
      'impossible date',
      { exceptions: [{ date: '2026-02-30', closed: true }] },
      OSLO,
      /exceptions\[0\]\.date .*not a calendar date/,
    ],
    [
      'two exceptions for one date',
      {
        exceptions: [
          { date: '2026-12-24', closed: true },
          { date: '2026-12-24', staffed: '10:00-12:00' },
        ],
      },
      OSLO,
      /exceptions\[1\]\.date .*same date/,
    ],
    [
      'closed with hours',
      { exceptions: [{ date: '2026-12-24', closed: true, staffed: '10:00-12:00' }] },
      OSLO,
      /exceptions\[0\] .*cannot be combined/,
    ],
    [
      'an exception that says nothing',
      { exceptions: [{ date: '2026-12-24', note: 'stengt' }] },
      OSLO,
      /needs closed: true/,
    ],
    [
      'unknown time zone',
      {},
      { timezone: 'Europe/Atlantis', country: 'NO' },
      /site\.timezone "Europe\/Atlantis"/,
    ],
    ['unknown country', {}, { timezone: 'Europe/Oslo', country: 'XX' }, /site\.country "XX"/],
    [
      'region for a country without regions',
      {},
      { timezone: 'Europe/Oslo', country: 'NO', region: '03' },
      /no regions/,
    ],
  ];
  it.each(cases)('%s', (_label, overrides, site, message) => {
    expect(() => schedule(overrides, site)).toThrow(message);
  });

  it('throws ScheduleConfigError naming the field', () => {
    try {
      schedule({ staffless: 'Mo-Fr 10-16' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScheduleConfigError);
      expect((err as ScheduleConfigError).field).toBe('staffless');
      expect((err as ScheduleConfigError).value).toBe('Mo-Fr 10-16');
    }
  });

  it('accepts dates in the past inside an expression (no "date_past" failure as time goes by)', () => {
    expect(() => schedule({ staffed: '2020 Jan 01 off; Mo-Fr 10:00-16:00' })).not.toThrow();
  });

  it('"PH" inside a comment is fine', () => {
    expect(() => schedule({ staffed: 'Mo-Fr 10:00-16:00 "PH: see the website"' })).not.toThrow();
  });

  it('empty expressions mean never', () => {
    const s = schedule({ staffed: '', staffless: '  ' });
    expect(s.stateAt(at('2026-11-25T12:00:00+01:00'))).toBe('closed');
  });
});

describe('buildDoorSchedules', () => {
  it('builds one schedule per door and names the door whose schedule is bad', () => {
    const good = buildDoorSchedules([{ id: 'main', schedule: LIBRARY }], OSLO);
    expect(good.get('main')?.stateAt(at('2026-11-25T12:00:00+01:00'))).toBe('staffed');
    expect(() =>
      buildDoorSchedules(
        [
          { id: 'main', schedule: LIBRARY },
          { id: 'side', schedule: { ...LIBRARY, staffless: 'Mo-Su 7-22' } },
        ],
        OSLO,
      ),
    ).toThrow(/^door "side": schedule staffless "Mo-Su 7-22": opening_hours warning/);
  });
});

describe('DoorSchedule — days are calendar days', () => {
  const late = schedule({ staffed: '', staffless: 'Mo-Su 20:00-02:00' });
  it.each([
    ['Saturday night before 17. mai: open until midnight', '2026-05-16T23:30:00+02:00', 'staffless'],
    ['after midnight on the holiday: closed', '2026-05-17T01:00:00+02:00', 'closed'],
    ['holiday evening: closed', '2026-05-17T21:00:00+02:00', 'closed'],
    ['after midnight following the holiday: the regular rule', '2026-05-18T01:00:00+02:00', 'staffless'],
  ])('%s', (_label, when, expected) => {
    expect(late.stateAt(at(when))).toBe(expected);
  });

  it('an exception range past midnight is cut at midnight', () => {
    const s = schedule({
      staffed: '',
      staffless: '',
      exceptions: [{ date: '2026-11-25', staffless: '20:00-02:00' }],
    });
    expect(s.stateAt(at('2026-11-25T23:59:00+01:00'))).toBe('staffless');
    expect(s.stateAt(at('2026-11-26T01:00:00+01:00'))).toBe('closed');
    expect(s.stateAt(at('2026-11-25T01:00:00+01:00'))).toBe('closed');
  });
});
