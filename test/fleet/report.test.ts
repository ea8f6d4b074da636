/**
 * The national report at the fleet centre, from what branches send (real SQLite files): per branch and for
 * the municipality against figures worked out by hand, a branch's opening hours from its saved day plans,
 * and `dorvakt fleet report` as a child process.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FigureRow, FleetOpeningHours } from '../../src/contract/fleet.ts';
import { openFleetDb, storeFigures, storeOpeningHours } from '../../src/fleet/central-store.ts';
import { scanOpeningHours } from '../../src/fleet/opening.ts';
import { FiguresOutbox } from '../../src/fleet/outbox.ts';
import { fleetAnnualReport, fleetReportCsv } from '../../src/fleet/report.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('fleet-report-');
let db: Db;
const H = 3_600_000;

const row = (mode: string, outcome: 'granted' | 'denied', count: number, door = 'front'): FigureRow => ({
  door,
  mode,
  outcome,
  reason: outcome === 'granted' ? 'allow' : 'no_consent',
  category: '',
  age_band: '',
  count,
});

const week = (id: string, w: string, days: [string, number, number][], madeAt = 1): FleetOpeningHours => ({
  v: 1,
  id,
  week: w,
  made_at: madeAt,
  days: days.map(([day, staffed, staffless]) => ({ day, staffed, staffless })),
});

beforeAll(() => {
  db = openFleetDb(join(dir.path, 'fleet.sqlite'));
  const hour = (site: string, id: string, day: string, h: number, rows: FigureRow[]) =>
    storeFigures(db, site, { v: 1, id, day, hour: h, made_at: 1, rows, passages: [] }, 1);
  // north, week 2026-W45: staffless 5 (a refusal is no visit), staffed 3, closed 2 (a pass at night).
  hour('north', 'a-1', '2026-11-02', 9, [row('staffless', 'granted', 5), row('staffless', 'denied', 1)]);
  hour('north', 'a-2', '2026-11-02', 12, [row('staffed', 'granted', 3)]);
  hour('north', 'a-3', '2026-11-02', 22, [row('closed', 'granted', 2)]);
  // An older revision of an hour arriving late changes nothing.
  storeFigures(
    db,
    'north',
    {
      v: 1,
      id: 'a-0',
      day: '2026-11-02',
      hour: 9,
      made_at: 0,
      rows: [row('staffless', 'granted', 99)],
      passages: [],
    },
    1,
  );
  const northDays: [string, number, number][] = [];
  for (let d = 2; d <= 8; d++) northDays.push([`2026-11-0${d}`, 8, 4]);
  storeOpeningHours(db, 'north', week('a-10', '2026-W45', northDays), 1);
  // south, week 2026-W46 only, two doors; one day of opening hours (a revision replacing an earlier one).
  hour('south', 'b-1', '2026-11-10', 10, [
    row('staffless', 'granted', 4),
    row('staffless', 'granted', 3, 'side'),
  ]);
  storeOpeningHours(db, 'south', week('b-2', '2026-W46', [['2026-11-10', 0, 20]], 1), 1);
  storeOpeningHours(db, 'south', week('b-3', '2026-W46', [['2026-11-10', 0, 13.5]], 2), 1);
  // An older revision of the week arriving late changes nothing.
  storeOpeningHours(db, 'south', week('b-0', '2026-W46', [['2026-11-10', 0, 99]], 0), 1);
  // east: no figures at all.
});

afterAll(() => {
  db?.close();
  dir.cleanup();
});

describe('fleet national report', () => {
  it('reports every branch and the municipality from the stored figures, a week without figures as zero', async () => {
    const report = await fleetAnnualReport(db, ['north', 'south', 'east'], 2026, 'Europe/Oslo');
    const north = report.sites[0]!.report;
    expect(north.total).toEqual({ staffed: 3, staffless: 5, closed: 2 });
    expect(north.weeks.find((w) => w.week === '2026-W45')).toMatchObject({
      visits: { staffed: 3, staffless: 5, closed: 2 },
      hours: { staffed: 56, staffless: 28 },
    });
    expect(north.weeks.find((w) => w.week === '2026-W46')).toMatchObject({
      visits: { staffed: 0, staffless: 0, closed: 0 },
      hours: { staffed: 0, staffless: 0 },
    });
    expect(north.openingHours).toEqual({ staffed: 56, staffless: 28 });
    const south = report.sites[1]!.report;
    expect(south.total).toEqual({ staffed: 0, staffless: 7, closed: 0 });
    expect(south.weeks.find((w) => w.week === '2026-W46')!.hours).toEqual({ staffed: 0, staffless: 13.5 });
    expect(report.sites[2]!.report.total).toEqual({ staffed: 0, staffless: 0, closed: 0 });
    expect(report.total.total).toEqual({ staffed: 3, staffless: 12, closed: 2 });
    expect(report.total.openingHours).toEqual({ staffed: 56, staffless: 41.5 });

    const csv = [...fleetReportCsv(report, 'no')].join('').split('\r\n');
    expect(csv[0]).toBe(
      'filial,nivå,periode,fra,til,besøk i betjent åpningstid,besøk i meråpen åpningstid,besøk i alt,' +
        'betjent åpningstid (timer per uke),meråpen åpningstid (timer per uke),åpningstid i alt (timer per uke),' +
        'passeringer utenfor åpningstid',
    );
    // Hours per week over the year: 56 × 7 / 365 = 1.07, 28 × 7 / 365 = 0.54, 41.5 × 7 / 365 = 0.80.
    expect(csv).toContain('north,år,2026,2026-01-01,2026-12-31,3,5,8,1.1,0.5,1.6,2');
    expect(csv).toContain('north,uke,2026-W45,2026-11-02,2026-11-08,3,5,8,56.0,28.0,84.0,2');
    expect(csv).toContain('south,uke,2026-W45,2026-11-02,2026-11-08,0,0,0,0.0,0.0,0.0,0');
    expect(csv).toContain('south,uke,2026-W46,2026-11-09,2026-11-15,0,7,7,0.0,13.5,13.5,0');
    expect(csv).toContain('east,år,2026,2026-01-01,2026-12-31,0,0,0,0.0,0.0,0.0,0');
    expect(csv).toContain('kommunen i alt,år,2026,2026-01-01,2026-12-31,3,12,15,1.1,0.8,1.9,2');
    expect(csv).toContain('kommunen i alt,uke,2026-W46,2026-11-09,2026-11-15,0,7,7,0.0,13.5,13.5,0');
    expect(csv).toContain('kommunen i alt,dag,2026-11-02,2026-11-02,2026-11-02,3,5,8,,,,2');
    // Year, 53 weeks and 365 days per branch and for the municipality, and the header.
    expect(csv.filter(Boolean)).toHaveLength(1 + 4 * (1 + 53 + 365));
  });

  it('computes a branch opening hours per day from its saved day plans and queues each week whole', () => {
    const branch = openDb(join(dir.path, 'branch.sqlite'));
    try {
      const plans: [string, { staffed: [number, number][]; staffless: [number, number][] }][] = [];
      // Monday 2026-11-09 to 2026-11-22: staffed 10-16, staffless 7-10 and 16-22 (a day before, for the night).
      for (let d = 8; d <= 22; d++)
        plans.push([
          `2026-11-${String(d).padStart(2, '0')}`,
          {
            staffed: [[10 * H, 16 * H]],
            staffless: [
              [7 * H, 10 * H],
              [16 * H, 22 * H],
            ],
          },
        ]);
      branch
        .prepare('INSERT INTO schedule_plans (id, plan_key, computed_at, plans) VALUES (1, ?, 0, ?)')
        .run('k', JSON.stringify({ front: plans, side: plans }));
      let now = Date.parse('2026-11-11T12:00:00Z');
      const outbox = new FiguresOutbox({
        db: branch,
        timezone: 'Europe/Oslo',
        identifiedDays: 30,
        nowMs: () => now,
        backoff: { min_ms: 1000, max_ms: 2000 },
        batch: 50,
        backfillDays: 7,
        keepAckedDays: 30,
      });
      // Wednesday: today and the days after, to the plans' end (W46 from Wednesday, W47 whole).
      expect(scanOpeningHours(branch, 'Europe/Oslo', outbox, now)).toBe(2);
      const sent = outbox.takeDue();
      expect(sent.map((m) => m.kind)).toEqual(['opening', 'opening']);
      const w46 = JSON.parse(sent[0]!.payload) as FleetOpeningHours;
      expect(w46.week).toBe('2026-W46');
      expect(w46.days.map((d) => d.day)).toEqual([
        '2026-11-11',
        '2026-11-12',
        '2026-11-13',
        '2026-11-14',
        '2026-11-15',
      ]);
      expect(w46.days[0]).toEqual({ day: '2026-11-11', staffed: 6, staffless: 9 });
      // Nothing changed: nothing queued. The centre acknowledges both.
      expect(scanOpeningHours(branch, 'Europe/Oslo', outbox, now)).toBe(0);
      for (const m of sent)
        expect(outbox.acknowledged((JSON.parse(m.payload) as FleetOpeningHours).id)).toBe(true);
      // The next day: Wednesday is over and kept; a changed plan for Friday sends W46 again, whole.
      now += 24 * H;
      const changed = plans.map(([day, p]) =>
        day === '2026-11-13' || day === '2026-11-11'
          ? [day, { staffed: [], staffless: [[7 * H, 22 * H]] }]
          : [day, p],
      );
      branch
        .prepare('UPDATE schedule_plans SET plans = ?, computed_at = 1 WHERE id = 1')
        .run(JSON.stringify({ front: changed, side: changed }));
      expect(scanOpeningHours(branch, 'Europe/Oslo', outbox, now)).toBe(1);
      const dueAgain = outbox.takeDue();
      expect(dueAgain).toHaveLength(1);
      const again = JSON.parse(dueAgain[0]!.payload) as FleetOpeningHours;
      expect(again.week).toBe('2026-W46');
      expect(again.days).toHaveLength(5);
      // Wednesday had ended: a plan changed afterwards does not change the hours it was open.
      expect(again.days[0]).toEqual({ day: '2026-11-11', staffed: 6, staffless: 9 });
      expect(again.days.find((d) => d.day === '2026-11-13')).toEqual({
        day: '2026-11-13',
        staffed: 0,
        staffless: 15,
      });

      // The centre stores it as the week in force.
      storeOpeningHours(db, 'west', w46, 1);
      expect(storeOpeningHours(db, 'west', again, 2)).toBe('stored');
      expect(storeOpeningHours(db, 'west', w46, 3)).toBe('duplicate');
      const total = db
        .prepare("SELECT SUM(staffed) AS s, SUM(staffless) AS l FROM centre_opening WHERE site = 'west'")
        .get() as { s: number; l: number };
      expect(total).toEqual({ s: 6 * 4, l: 9 * 4 + 15 });
    } finally {
      branch.close();
    }
  });

  it('runs as `dorvakt fleet report` and refuses a year outside 2000 to this year', async () => {
    const config = join(dir.path, 'fleet.yaml');
    writeFileSync(
      config,
      `language: da\nstore: { path: ${join(dir.path, 'fleet.sqlite')} }\nsites: [{ id: north }, { id: south }]\n`,
    );
    const run = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ['bin/run-ts.mjs', 'src/cli/dorvakt.ts', 'fleet', 'report', '--config', config, ...args],
        { cwd: process.cwd() },
      );
    const { stdout } = await run('--year', '2026');
    const lines = stdout.split('\r\n');
    // The centre's language is Danish: Danmarks Statistik's words.
    expect(lines[0]).toMatch(/^filial,niveau,periode,fra,til,besøgende i åbningstid med betjening,/);
    expect(lines).toContain('north,uge,2026-W45,2026-11-02,2026-11-08,3,5,8,56.0,28.0,84.0,2');
    expect(lines).toContain('kommunen i alt,år,2026,2026-01-01,2026-12-31,3,12,15,1.1,0.8,1.9,2');
    const out = join(dir.path, 'one.csv');
    await run('--year', '2026', '--site', 'south', '--format', 'no', '--out', out);
    const { readFileSync } = await import('node:fs');
    const one = readFileSync(out, 'utf8').split('\r\n');
    expect(one.some((l) => l.startsWith('north,'))).toBe(false);
    expect(one).toContain('south,uke,2026-W46,2026-11-09,2026-11-15,0,7,7,0.0,13.5,13.5,0');
    const thisYear = new Date().getUTCFullYear();
    const refused = await Promise.all(
      ['1999', String(thisYear + 2), 'x'].map((year) =>
        run('--year', year).then(
          () => undefined,
          (error: { code: number; stderr: string }) => error,
        ),
      ),
    );
    for (const failed of refused) {
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain('--year must be a year from 2000');
    }
  }, 90_000);
});
