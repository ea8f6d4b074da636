import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymiseEntries, identifiedCutoff } from '../../src/retention/anonymise.ts';
import {
  type StatsQuery,
  staffedVsStaffless,
  statsCsv,
  statsCsvChunks,
  streamStatsCsv,
  statsOverview,
  outcomes,
  visitsByDay,
  visitsByHour,
  visitsByWeek,
} from '../../src/stats/queries.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { generateEntries, insertEntries, referenceLocal, type SeedEntry } from '../retention/seed.ts';

const TZ = 'Europe/Oslo';
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Data from March to November 2026: spring-forward (29 March) lies in the anonymised part,
// fall-back (25 October) in the part still identified.
const DATA_FROM = Date.UTC(2026, 2, 1);
const NOW = Date.UTC(2026, 10, 5, 12);
const CUTOFF = identifiedCutoff(30, NOW);

/**
 * referenceLocal in TZ, kept per instant: the reference asks for the same entries' local hours on every
 * property run (an Intl format each), and the answer for an instant never changes.
 */
const localHours = new Map<number, { day: string; hour: number }>();
function localOf(ts: number): { day: string; hour: number } {
  let local = localHours.get(ts);
  if (!local) {
    local = referenceLocal(TZ, ts);
    localHours.set(ts, local);
  }
  return local;
}

/** The slow reference: every entry looked at one by one, with the documented window rules. */
function reference(entries: readonly SeedEntry[], q: StatsQuery & { from: number; to: number }) {
  const key = (ts: number) => {
    const l = localOf(ts);
    return `${l.day} ${String(l.hour).padStart(2, '0')}`;
  };
  const fromKey = key(q.from);
  const toKey = key(q.to);
  const inWindow = entries.filter((e) => {
    if (q.door !== undefined && e.door !== q.door) return false;
    // Anonymised entries are only known by their local hour bucket; identified ones by their instant.
    if (e.ts < CUTOFF) {
      const k = key(e.ts);
      return k >= fromKey && k < toKey;
    }
    return e.ts >= q.from && e.ts < q.to;
  });
  const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, granted: 0, denied: 0 }));
  const days = new Map<string, { day: string; granted: number; denied: number }>();
  for (let t = q.from; t < q.to; t += HOUR) {
    const day = localOf(t).day;
    if (!days.has(day)) days.set(day, { day, granted: 0, denied: 0 });
  }
  const modes: Record<string, { granted: number; denied: number }> = {
    staffed: { granted: 0, denied: 0 },
    staffless: { granted: 0, denied: 0 },
    closed: { granted: 0, denied: 0 },
  };
  const reasons = new Map<string, number>();
  const csv = new Map<string, number>();
  for (const e of inWindow) {
    const l = localOf(e.ts);
    const field = e.outcome === 'granted' ? 'granted' : 'denied';
    hours[l.hour]![field]++;
    days.get(l.day)![field]++;
    modes[e.mode]![field]++;
    reasons.set(`${e.outcome}|${e.reason}`, (reasons.get(`${e.outcome}|${e.reason}`) ?? 0) + 1);
    const row = [l.day, l.hour, e.door, e.mode, e.outcome, e.reason, e.category ?? '', e.age_band ?? ''].join(
      ',',
    );
    csv.set(row, (csv.get(row) ?? 0) + 1);
  }
  return { hours, days: [...days.values()], modes, reasons, csv, total: inWindow.length };
}

function isoWeekOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const weekday = (d.getUTCDay() + 6) % 7;
  const thursday = new Date(d.getTime() + (3 - weekday) * DAY);
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  return `${thursday.getUTCFullYear()}-W${String(Math.floor((thursday.getTime() - jan1) / DAY / 7) + 1).padStart(2, '0')}`;
}

describe('statistics queries against a brute-force count', () => {
  let db: Db;
  let entries: SeedEntry[];

  beforeAll(() => {
    db = openDb(':memory:');
    entries = generateEntries({ from: DATA_FROM, to: NOW, count: 12_000, seed: 11, doors: ['main', 'side'] });
    insertEntries(db, entries);
    const result = anonymiseEntries(db, { identifiedDays: 30, timezone: TZ, now: NOW, batchSize: 2500 });
    expect(result.rows).toBe(entries.filter((e) => e.ts < CUTOFF).length);
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBeGreaterThan(1000);
  });
  afterAll(() => db.close());

  const check = (q: StatsQuery & { from: number; to: number }) => {
    const ref = reference(entries, q);
    expect(visitsByHour(db, q)).toEqual(ref.hours);
    expect(visitsByDay(db, q)).toEqual(ref.days);
    const weeks = new Map<string, { week: string; granted: number; denied: number }>();
    for (const d of ref.days) {
      const week = isoWeekOf(d.day);
      const w = weeks.get(week) ?? { week, granted: 0, denied: 0 };
      w.granted += d.granted;
      w.denied += d.denied;
      weeks.set(week, w);
    }
    expect(visitsByWeek(db, q)).toEqual([...weeks.values()]);
    expect(staffedVsStaffless(db, q)).toEqual(ref.modes);
    const got = outcomes(db, q);
    expect(new Map(got.map((o) => [`${o.outcome}|${o.reason}`, o.count]))).toEqual(ref.reasons);
    for (let i = 1; i < got.length; i++) expect(got[i - 1]!.count).toBeGreaterThanOrEqual(got[i]!.count);
    const overview = statsOverview(db, q);
    expect(overview.byHour).toEqual(ref.hours);
    expect(overview.byDay).toEqual(ref.days);
    expect(overview.modes).toEqual(ref.modes);
    // In one page and in pages of 97 rows (keyset paging must neither skip nor repeat a row).
    for (const text of [statsCsv(db, q), [...statsCsvChunks(db, q, 97)].join('')]) {
      const csvLines = text.split('\r\n');
      expect(csvLines.at(-1)).toBe('');
      expect(csvLines.length - 2).toBe(ref.csv.size);
      const csv = new Map(
        csvLines.slice(1, -1).map((line) => {
          const cells = line.split(',');
          return [cells.slice(0, 8).join(','), Number(cells[8])] as const;
        }),
      );
      expect(csv).toEqual(ref.csv);
    }
    return ref;
  };

  it('the whole data range, both doors and each door', () => {
    const whole = { from: DATA_FROM - DAY, to: NOW + DAY, timezone: TZ };
    expect(check(whole).total).toBe(entries.length);
    const main = check({ ...whole, door: 'main' });
    const side = check({ ...whole, door: 'side' });
    expect(main.total + side.total).toBe(entries.length);
  });

  it('local-date bounds mean local midnight', () => {
    const q = { from: '2026-03-28', to: '2026-03-31', timezone: TZ };
    const from = Date.UTC(2026, 2, 27, 23); // 28 March 00:00 CET
    const to = Date.UTC(2026, 2, 30, 22); // 31 March 00:00 CEST
    expect(visitsByDay(db, q)).toEqual(reference(entries, { ...q, from, to }).days);
    expect(visitsByDay(db, q).map((d) => d.day)).toEqual(['2026-03-28', '2026-03-29', '2026-03-30']);
  });

  it('any window of whole hours, any door filter (property)', () => {
    const hourBound = fc
      .integer({ min: (DATA_FROM - 3 * DAY) / HOUR, max: (NOW + 2 * DAY) / HOUR })
      .map((h) => h * HOUR);
    fc.assert(
      fc.property(hourBound, hourBound, fc.constantFrom(undefined, 'main', 'side'), (a, b, door) => {
        const q = { from: Math.min(a, b), to: Math.max(a, b), timezone: TZ, door };
        check(q);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('windows around both DST changes (property)', () => {
    const around = (t: number) =>
      fc.integer({ min: -30, max: 30 }).map((h) => Math.floor(t / HOUR) * HOUR + h * HOUR);
    const spring = Date.UTC(2026, 2, 29, 1);
    const autumn = Date.UTC(2026, 9, 25, 1);
    fc.assert(
      fc.property(
        fc.constantFrom(spring, autumn).chain((t) => fc.tuple(around(t), around(t))),
        ([a, b]) => {
          check({ from: Math.min(a, b), to: Math.max(a, b), timezone: TZ });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never returns a card hash', () => {
    const q = { from: DATA_FROM, to: NOW + DAY, timezone: TZ };
    const text = JSON.stringify(statsOverview(db, q)) + statsCsv(db, q);
    const hashes = new Set(entries.map((e) => e.card_hash));
    for (const h of hashes) expect(text).not.toContain(h!.slice(0, 16));
  });

  it('sees entries added to or removed from hours already counted', () => {
    const q = { from: NOW - 10 * DAY, to: NOW, timezone: TZ };
    const before = statsOverview(db, q);
    const granted = (o: typeof before) => o.byHour.reduce((s, h) => s + h.granted, 0);
    const id = Number(
      db
        .prepare(
          `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
           VALUES (?, 'main', 'staffless', 'granted', 'allow', NULL, NULL, NULL, 'offline')`,
        )
        .run(NOW - 5 * DAY).lastInsertRowid,
    );
    expect(granted(statsOverview(db, q))).toBe(granted(before) + 1);
    db.prepare('DELETE FROM entries WHERE id = ?').run(id);
    expect(granted(statsOverview(db, q))).toBe(granted(before));
  });
});

describe('statistics on DST days', () => {
  it('23 and 25 hour days, whether anonymised or still identified', () => {
    for (const anonymised of [true, false]) {
      const db = openDb(':memory:');
      const rows: SeedEntry[] = [];
      const starts = [Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 9, 24, 22)]; // local midnights
      for (const start of starts) {
        for (let t = start; t < start + 26 * HOUR; t += 15 * 60_000) {
          rows.push({
            ts: t,
            door: 'main',
            mode: 'staffless',
            outcome: 'granted',
            reason: 'allow',
            card_hash: 'c'.repeat(64),
            category: 'adult',
            age_band: '18-66',
            source: 'live',
          });
        }
      }
      insertEntries(db, rows);
      if (anonymised) anonymiseEntries(db, { identifiedDays: 1, timezone: TZ, now: Date.UTC(2026, 11, 1) });
      const day = (d: string, next: string) => ({ from: d, to: next, timezone: TZ });
      expect(visitsByDay(db, day('2026-03-29', '2026-03-30'))).toEqual([
        { day: '2026-03-29', granted: 23 * 4, denied: 0 },
      ]);
      const spring = visitsByHour(db, day('2026-03-29', '2026-03-30'));
      expect(spring[2]).toEqual({ hour: 2, granted: 0, denied: 0 });
      expect(spring.filter((h) => h.granted === 4)).toHaveLength(23);
      expect(visitsByDay(db, day('2026-10-25', '2026-10-26'))).toEqual([
        { day: '2026-10-25', granted: 25 * 4, denied: 0 },
      ]);
      const autumn = visitsByHour(db, day('2026-10-25', '2026-10-26'));
      expect(autumn[2]).toEqual({ hour: 2, granted: 8, denied: 0 });
      expect(autumn.filter((h) => h.granted === 4)).toHaveLength(23);
      const csv = statsCsv(db, day('2026-10-25', '2026-10-26')).split('\r\n');
      expect(csv).toContain('2026-10-25,2,main,staffless,granted,allow,adult,18-66,8');
      db.close();
    }
  });
});

describe('statsCsv format', () => {
  it('header, CRLF, quoting, formula cells neutralised, sorted rows', () => {
    const db = openDb(':memory:');
    const base = Date.UTC(2026, 5, 1, 10);
    const e = (ts: number, category: string | null, door = 'main'): SeedEntry => ({
      ts,
      door,
      mode: 'staffed',
      outcome: 'granted',
      reason: 'allow_staffed',
      card_hash: 'd'.repeat(64),
      category,
      age_band: null,
      source: 'live',
    });
    insertEntries(db, [
      e(base + 2 * HOUR, 'adult'),
      e(base, 'voksen, "plus"'),
      e(base, '=HYPERLINK("http://x")'),
      e(base, '-1+2'),
      e(base + 60_000, 'adult', 'side'),
      e(base + 120_000, 'adult', 'side'),
    ]);
    const csv = statsCsv(db, { from: '2026-06-01', to: '2026-06-02', timezone: TZ });
    expect(csv).toBe(
      [
        'day,hour,door,mode,outcome,reason,category,age_band,count',
        `2026-06-01,12,main,staffed,granted,allow_staffed,"'-1+2",,1`,
        `2026-06-01,12,main,staffed,granted,allow_staffed,"'=HYPERLINK(""http://x"")",,1`,
        '2026-06-01,12,main,staffed,granted,allow_staffed,"voksen, ""plus""",,1',
        '2026-06-01,12,side,staffed,granted,allow_staffed,adult,,2',
        '2026-06-01,14,main,staffed,granted,allow_staffed,adult,,1',
        '',
      ].join('\r\n'),
    );
    // The same after anonymisation: identical rows from entry_stats.
    anonymiseEntries(db, { identifiedDays: 1, timezone: TZ, now: base + 3 * DAY });
    expect(statsCsv(db, { from: '2026-06-01', to: '2026-06-02', timezone: TZ })).toBe(csv);
    expect(statsCsv(db, { from: '2026-07-01', to: '2026-07-02', timezone: TZ })).toBe(
      'day,hour,door,mode,outcome,reason,category,age_band,count\r\n',
    );
    db.close();
  });
});

describe('streamStatsCsv', () => {
  it('pages through one snapshot: anonymisation between pages neither doubles nor drops a count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csv-stream-'));
    const path = join(dir, 'store.sqlite');
    const db = openDb(path);
    const entries = generateEntries({
      from: DATA_FROM,
      to: NOW,
      count: 4000,
      seed: 5,
      doors: ['main', 'side'],
    });
    insertEntries(db, entries);
    anonymiseEntries(db, { identifiedDays: 60, timezone: TZ, now: NOW, batchSize: 500 });
    const q = { from: DATA_FROM - DAY, to: NOW + DAY, timezone: TZ };
    const before = statsCsv(db, q);
    let text = '';
    let pages = 0;
    for await (const chunk of streamStatsCsv(path, q, 50)) {
      text += chunk;
      // Between pages the writer moves identified entries into entry_stats (as the nightly job does).
      if (++pages === 3) anonymiseEntries(db, { identifiedDays: 1, timezone: TZ, now: NOW, batchSize: 500 });
    }
    expect(pages).toBeGreaterThan(3);
    expect(text).toBe(before);
    expect(statsCsv(db, q)).toBe(before);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('zones with half-hour offsets (rows aggregated directly)', () => {
  it('counts match a per-row reference for Kolkata and Lord Howe', () => {
    for (const zone of ['Asia/Kolkata', 'Australia/Lord_Howe', 'America/New_York']) {
      const db = openDb(':memory:');
      const rows = generateEntries({
        from: Date.UTC(2026, 2, 20),
        to: Date.UTC(2026, 3, 20),
        count: 3000,
        seed: 5,
      });
      insertEntries(db, rows);
      const q = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 5, 1), timezone: zone };
      const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, granted: 0, denied: 0 }));
      const modes: Record<string, { granted: number; denied: number }> = {
        staffed: { granted: 0, denied: 0 },
        staffless: { granted: 0, denied: 0 },
        closed: { granted: 0, denied: 0 },
      };
      const days = new Map<string, number>();
      for (const e of rows) {
        const l = referenceLocal(zone, e.ts);
        const field = e.outcome === 'granted' ? 'granted' : 'denied';
        hours[l.hour]![field]++;
        modes[e.mode]![field]++;
        days.set(l.day, (days.get(l.day) ?? 0) + 1);
      }
      expect(visitsByHour(db, q)).toEqual(hours);
      expect(staffedVsStaffless(db, q)).toEqual(modes);
      const byDay = visitsByDay(db, q).filter((d) => d.granted + d.denied > 0);
      expect(new Map(byDay.map((d) => [d.day, d.granted + d.denied]))).toEqual(days);
      db.close();
    }
  });
});
