import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymiseEntries } from '../../src/retention/anonymise.ts';
import type { ScheduleConfig } from '../../src/schedule/config.ts';
import { scheduleFromConfig } from '../../src/schedule/planner.ts';
import {
  computeOpeningHoursOfYear,
  openingHoursOfYear,
  type YearOpeningHours,
} from '../../src/stats/opening-hours.ts';
import {
  annualReport,
  annualReportCsv,
  annualReportInSteps,
  visitsOfWindow,
} from '../../src/stats/report.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { insertEntries, referenceLocal, type SeedEntry } from '../retention/seed.ts';

const TZ = 'Europe/Oslo';
const SITE = { timezone: TZ, country: 'NO' };
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Staffed weekdays 10-16, staffless every day 01-22 (so the spring and autumn changes fall inside it). */
const SCHEDULE: ScheduleConfig = {
  staffed: 'Mo-Fr 10:00-16:00',
  staffless: 'Mo-Su 01:00-22:00',
  holidays_closed: true,
  closing_soon_minutes: 0,
  exceptions: [
    { date: '2026-11-25', closed: true, note: 'staff training' },
    { date: '2026-12-24', staffed: '10:00-13:00', staffless: '07:00-10:00,13:00-15:00', note: 'Julaften' },
  ],
};

/** A normal week: staffed 5 × 6 h; staffless 5 × (21 - 6) h + 2 × 21 h. */
const NORMAL = { staffed: 30, staffless: 117 };

function weekOf(hours: YearOpeningHours, week: string) {
  const found = hours.weeks.find((w) => w.week === week);
  if (!found) throw new Error(`no ${week}`);
  return { staffed: found.staffed, staffless: found.staffless };
}

describe('opening hours per ISO week from the schedule', () => {
  const door = scheduleFromConfig(SCHEDULE, SITE);
  const y2026 = openingHoursOfYear([door], 2026, TZ);
  const y2027 = openingHoursOfYear([door], 2027, TZ);

  it('counts an ordinary week', () => {
    expect(weekOf(y2026, '2026-W10')).toEqual(NORMAL);
  });

  it('counts real hours across the daylight saving changes', () => {
    // Sunday 29 March: the clock jumps 02:00 → 03:00 inside 01:00-22:00, so 20 hours that day.
    expect(weekOf(y2026, '2026-W13')).toEqual({ staffed: 30, staffless: 116 });
    // Sunday 25 October: 03:00 → 02:00, 22 hours.
    expect(weekOf(y2026, '2026-W43')).toEqual({ staffed: 30, staffless: 118 });
  });

  it('closes public holidays and follows dated exceptions', () => {
    // Monday 6 April, 2. påskedag.
    expect(weekOf(y2026, '2026-W15')).toEqual({ staffed: 24, staffless: 102 });
    // Wednesday 25 November closed by an exception.
    expect(weekOf(y2026, '2026-W48')).toEqual({ staffed: 24, staffless: 102 });
    // Julaften by exception (3 h staffed, 5 h staffless); 25 and 26 December public holidays.
    expect(weekOf(y2026, '2026-W52')).toEqual({ staffed: 18 + 3, staffless: 45 + 5 + 21 });
  });

  it('has ISO week 53 of 2026 whole in both years it touches (1 January 2027 a holiday)', () => {
    const w53 = { staffed: 24, staffless: 60 + 21 + 21 };
    expect(weekOf(y2026, '2026-W53')).toEqual(w53);
    expect(weekOf(y2027, '2026-W53')).toEqual(w53);
    expect(y2026.weeks.at(-1)!.week).toBe('2026-W53');
    expect(y2027.weeks[0]!.week).toBe('2026-W53');
    expect(y2027.weeks[1]!.week).toBe('2027-W01');
    expect(y2026.weeks[0]!.week).toBe('2026-W01');
    expect(y2026.weeks).toHaveLength(53);
  });

  it('gives the same hours through the schedule compiler child as in process', {
    timeout: 60_000,
  }, async () => {
    const viaChild = await computeOpeningHoursOfYear([{ id: 'main', schedule: SCHEDULE }], SITE, 2026);
    expect(viaChild).toEqual(y2026);
  });

  it('counts the site staffed while any door is staffed, else staffless while any is', () => {
    const side = scheduleFromConfig(
      { ...SCHEDULE, staffed: 'Sa 10:00-14:00', staffless: 'Mo-Su 22:00-23:00', exceptions: [] },
      SITE,
    );
    const both = openingHoursOfYear([door, side], 2026, TZ);
    expect(weekOf(both, '2026-W10')).toEqual({ staffed: 34, staffless: 117 - 4 + 7 });
  });
});

/** Oslo wall clock to UTC ms (only for unambiguous times). */
function oslo(day: string, hh: number, mm = 0): number {
  const utc = Date.parse(`${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00Z`);
  for (const off of [1, 2]) {
    const t = utc - off * HOUR;
    const l = referenceLocal(TZ, t);
    if (l.day === day && l.hour === hh) return t;
  }
  throw new Error(`no ${day} ${hh}:${mm} in Oslo`);
}

let seq = 0;
function entry(ts: number, door: string, mode: string, outcome: 'granted' | 'denied' = 'granted'): SeedEntry {
  seq++;
  return {
    ts,
    door,
    mode,
    outcome,
    reason: outcome === 'granted' ? 'ok' : 'card_unknown',
    card_hash: `h${seq}`,
    category: 'adult',
    age_band: '18+',
    source: 'local',
  } as SeedEntry;
}

function passages(db: Db, rows: [day: string, hour: number, door: string, mode: string, n: number][]): void {
  const stmt = db.prepare(
    'INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const [day, hour, door, mode, n] of rows) stmt.run(day, hour, door, mode, n, n);
}

/**
 * Door 'side' has no counter: its grants are its visits. Door 'main' has a counter: its passages are, and
 * its grants (fewer: people follow each other in) are not.
 */
function seed(db: Db): SeedEntry[] {
  const side: SeedEntry[] = [
    // Autumn change: local 02:xx on 25 October happens twice (CEST, then CET); all in one local hour.
    entry(Date.UTC(2026, 9, 25, 0, 10), 'side', 'staffless'),
    entry(Date.UTC(2026, 9, 25, 0, 40), 'side', 'staffless'),
    entry(Date.UTC(2026, 9, 25, 1, 20), 'side', 'staffless'),
    entry(Date.UTC(2026, 9, 25, 1, 50), 'side', 'staffless', 'denied'),
    // Spring change: 01:30 CET and 03:30 CEST on 29 March (02:xx does not exist).
    entry(Date.UTC(2026, 2, 29, 0, 30), 'side', 'staffless'),
    entry(Date.UTC(2026, 2, 29, 1, 30), 'side', 'staffless'),
    // A staffed Tuesday afternoon.
    entry(oslo('2026-03-31', 11, 5), 'side', 'staffed'),
    entry(oslo('2026-03-31', 11, 45), 'side', 'staffed'),
    // 2. påskedag (a public holiday, closed): a cleaner's pass, not a visit.
    entry(oslo('2026-04-06', 9), 'side', 'closed'),
    // The year boundary: 23:30 on New Year's Eve, 00:30 and noon in 2027 (all ISO week 2026-W53).
    entry(oslo('2026-12-31', 23, 30), 'side', 'staffless'),
    entry(oslo('2027-01-01', 0, 30), 'side', 'staffless'),
    entry(oslo('2027-01-02', 12), 'side', 'staffless'),
  ];
  const main: SeedEntry[] = [
    entry(oslo('2026-03-31', 11, 10), 'main', 'staffed'),
    entry(oslo('2026-03-31', 19, 10), 'main', 'staffless'),
  ];
  insertEntries(db, [...side, ...main]);
  passages(db, [
    ['2026-03-31', 11, 'main', 'staffed', 7],
    ['2026-03-31', 19, 'main', 'staffless', 3],
    ['2026-10-25', 2, 'main', 'staffless', 5],
  ]);
  return [...side, ...main];
}

describe('visits as reported, from a real store', () => {
  const dir = tempDir('dorvakt-report-');
  let db: Db;
  let hours2026: YearOpeningHours;
  beforeAll(() => {
    db = openDb(join(dir.path, 'store.sqlite'));
    seed(db);
    // Anonymise everything before 00:30 UTC on 25 October: the local hour 02 of that day is then split
    // between entry_stats (the 00:10 swipe) and the identified entries (00:40, 01:20, 01:50).
    const cutoff = Date.UTC(2026, 9, 25, 0, 30);
    anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: cutoff + 30 * DAY });
    hours2026 = openingHoursOfYear([scheduleFromConfig(SCHEDULE, SITE)], 2026, TZ);
  });
  afterAll(() => {
    db.close();
    dir.cleanup();
  });

  it('seeds both sources for the same local hour', () => {
    expect(
      db.prepare("SELECT SUM(count) AS n FROM entry_stats WHERE day = '2026-10-25' AND hour = 2").get(),
    ).toEqual({ n: 1 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM entries WHERE ts >= ?').get(Date.UTC(2026, 9, 25))).toEqual({
      n: 6,
    });
  });

  it('counts each granted entry once in the hour split between entry_stats and entry_live_hourly', () => {
    const r = annualReport(db, 2026, TZ, hours2026, 'side');
    const h = r.hours.find((x) => x.day === '2026-10-25' && x.hour === 2);
    expect(h).toEqual({ day: '2026-10-25', hour: 2, staffed: 0, staffless: 3, closed: 0 });
  });

  it('repairs a stale live summary rather than counting an anonymised entry twice', () => {
    // What a deletion that forgot entry_live_hourly would leave: the 00:10 swipe still counted live.
    db.prepare(
      `INSERT INTO entry_live_hourly (slot, door, mode, outcome, reason, count) VALUES (?, 'side', 'staffless', 'granted', 'ok', 1)
       ON CONFLICT (slot, door, mode, outcome, reason) DO UPDATE SET count = count + 1`,
    ).run(Date.UTC(2026, 9, 25, 0) / HOUR);
    const r = annualReport(db, 2026, TZ, hours2026, 'side');
    expect(r.hours.find((x) => x.day === '2026-10-25' && x.hour === 2)?.staffless).toBe(3);
  });

  it('buckets by local hour across the spring change', () => {
    const r = annualReport(db, 2026, TZ, hours2026, 'side');
    expect(r.hours.filter((x) => x.day === '2026-03-29').map((x) => [x.hour, x.staffless])).toEqual([
      [1, 1],
      [3, 1],
    ]);
  });

  it('prefers a door’s passages over its grants, and uses grants where a door has no counter', () => {
    const { doors } = visitsOfWindow(db, { from: '2026-01-01', to: '2027-01-01', timezone: TZ });
    expect(doors).toEqual([
      { door: 'main', source: 'passages' },
      { door: 'side', source: 'grants' },
    ]);
    const r = annualReport(db, 2026, TZ, hours2026);
    const day = r.days.find((d) => d.day === '2026-03-31')!;
    // main: 7 staffed + 3 staffless passages (not its 2 grants); side: 2 staffed grants.
    expect(day).toEqual({ day: '2026-03-31', staffed: 9, staffless: 3, closed: 0 });
  });

  it('splits staffed and staffless per day, ISO week and year; closed hours apart', () => {
    const r = annualReport(db, 2026, TZ, hours2026);
    // side 2026 grants: 3 (Oct 25) + 2 (Mar 29) + 2 staffed (Mar 31) + 1 (Dec 31); main passages 7 + 3 + 5.
    expect(r.total).toEqual({ staffed: 2 + 7, staffless: 3 + 2 + 1 + 3 + 5, closed: 1 });
    expect(r.days).toHaveLength(365);
    expect(r.days.find((d) => d.day === '2026-04-06')).toEqual({
      day: '2026-04-06',
      staffed: 0,
      staffless: 0,
      closed: 1,
    });
    const w14 = r.weeks.find((w) => w.week === '2026-W14')!;
    expect(w14.visits).toEqual({ staffed: 9, staffless: 3, closed: 0 });
    // Easter: Skjærtorsdag, Langfredag and 1. påskedag closed.
    expect(w14.hours).toEqual({ staffed: 18, staffless: 3 * 15 + 21 });
  });

  it('cuts ISO week 53 at the year boundary: each year counts only its own days of it', () => {
    const r2026 = annualReport(db, 2026, TZ, hours2026);
    const w53 = r2026.weeks.at(-1)!;
    expect([w53.week, w53.from, w53.to, w53.visits.staffless]).toEqual([
      '2026-W53',
      '2026-12-28',
      '2026-12-31',
      1,
    ]);
    const hours2027 = openingHoursOfYear([scheduleFromConfig(SCHEDULE, SITE)], 2027, TZ);
    const r2027 = annualReport(db, 2027, TZ, hours2027);
    const first = r2027.weeks[0]!;
    expect([first.week, first.from, first.to, first.visits.staffless]).toEqual([
      '2026-W53',
      '2027-01-01',
      '2027-01-03',
      2,
    ]);
    expect(first.hours).toEqual(w53.hours);
    expect(r2027.total.staffless).toBe(2);
  });

  it('gives the same report read a month at a time, pausing between months', async () => {
    let pauses = 0;
    const inSteps = await annualReportInSteps(db, 2026, TZ, hours2026, async () => {
      pauses++;
    });
    expect(pauses).toBe(12);
    expect(inSteps).toEqual(annualReport(db, 2026, TZ, hours2026));
  });

  it('averages the year’s opening hours per week', () => {
    const r = annualReport(db, 2026, TZ, hours2026);
    expect(r.hoursPerWeek.staffed).toBeCloseTo((r.openingHours.staffed * 7) / 365, 9);
    expect(r.openingHours.staffed).toBeGreaterThan(0);
    // The year's own hours: every week's hours, minus the parts of the edge weeks outside it.
    const sum = r.weeks.reduce((s, w) => s + w.hours.staffed, 0);
    // 2026-W01 starts on Monday 29 December 2025 (three staffed days in 2025); 2026-W53's days in 2027
    // (New Year's Day and a weekend) have no staffed hours.
    expect(r.openingHours.staffed).toBe(sum - 18);
  });

  it('writes the Norwegian and Danish CSV shapes', () => {
    const r = annualReport(db, 2026, TZ, hours2026);
    const no = annualReportCsv(r, 'no').split('\r\n');
    expect(no[0]).toBe(
      'nivå,periode,fra,til,besøk i betjent åpningstid,besøk i meråpen åpningstid,besøk i alt,betjent åpningstid (timer per uke),meråpen åpningstid (timer per uke),åpningstid i alt (timer per uke),passeringer utenfor åpningstid',
    );
    expect(no[1]).toBe(
      `år,2026,2026-01-01,2026-12-31,9,14,23,${((r.openingHours.staffed * 7) / 365).toFixed(1)},${((r.openingHours.staffless * 7) / 365).toFixed(1)},${(((r.openingHours.staffed + r.openingHours.staffless) * 7) / 365).toFixed(1)},1`,
    );
    expect(no).toContain('uke,2026-W13,2026-03-23,2026-03-29,0,2,2,30.0,116.0,146.0,0');
    expect(no).toContain('time,2026-10-25 02:00,2026-10-25,2026-10-25,0,8,8,,,,0');
    const dk = annualReportCsv(r, 'dk').split('\r\n');
    expect(dk[0]).toContain('åbningstimer pr. uge med betjening');
    expect(dk).toContain('uge,2026-W43,2026-10-19,2026-10-25,0,8,8,30.0,118.0,148.0,0');
  });
});
