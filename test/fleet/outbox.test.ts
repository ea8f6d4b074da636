/** The branch's figures outbox on a real SQLite store, with an injected clock. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetFigures } from '../../src/contract/fleet.ts';
import { readHours } from '../../src/fleet/figures.ts';
import { FiguresOutbox } from '../../src/fleet/outbox.ts';
import { anonymiseEntries } from '../../src/retention/anonymise.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-30T12:00:00Z');
const TZ = 'Europe/Oslo';
let dir: ReturnType<typeof tempDir> | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  dir?.cleanup();
});

function setup(options: { batch?: number } = {}) {
  dir = tempDir('fleet-outbox-');
  db = openDb(join(dir.path, 'store.sqlite'));
  let now = T0;
  const outbox = new FiguresOutbox({
    db,
    timezone: TZ,
    identifiedDays: 30,
    nowMs: () => now,
    backoff: { min_ms: 1000, max_ms: 4000 },
    batch: options.batch ?? 50,
    backfillDays: 7,
    keepAckedDays: 30,
  });
  const entry = db.prepare(
    "INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source) VALUES (?, 'front', 'staffless', 'granted', 'allow', 'h', 'V', '18-66', 'local')",
  );
  return {
    db,
    outbox,
    at: (ms: number) => {
      now = ms;
    },
    swipe: (ts: number) => entry.run(ts),
    sent: () => outbox.takeDue().map((m) => JSON.parse(m.payload) as FleetFigures),
  };
}

describe('figures outbox', () => {
  it('queues an ended hour once, and again as a new revision when it changes', () => {
    const f = setup();
    f.swipe(T0 - 2 * HOUR + 60_000);
    f.swipe(T0 + 60_000); // the current hour: not sent until it has ended
    expect(f.outbox.scan()).toBe(1);
    expect(f.outbox.scan()).toBe(0);
    const [first] = f.sent();
    expect(first).toMatchObject({
      day: '2026-11-30',
      hour: 11,
      rows: [{ door: 'front', outcome: 'granted', count: 1 }],
    });
    f.swipe(T0 - 2 * HOUR + 120_000);
    expect(f.outbox.scan()).toBe(1);
    f.at(T0 + 5000);
    const [second] = f.sent();
    expect(second!.id).not.toBe(first!.id);
    expect(second!.rows[0]!.count).toBe(2);
    // The first revision is superseded: never sent again, not pending.
    expect(f.outbox.pending()).toBe(1);
  });

  it('resends with doubling waits until acknowledged, and takes only its own ids', () => {
    const f = setup();
    f.swipe(T0 - 3 * HOUR);
    f.outbox.scan();
    const [message] = f.sent();
    expect(f.sent()).toEqual([]);
    f.at(T0 + 1000);
    expect(f.sent().map((m) => m.id)).toEqual([message!.id]);
    f.at(T0 + 2000);
    expect(f.sent()).toEqual([]); // waits 2 s after the second send
    f.at(T0 + 3000);
    expect(f.sent()).toHaveLength(1);
    expect(f.outbox.delayAfter(10)).toBe(4000);
    expect(f.outbox.acknowledged(`ffffffffffff-${message!.id.split('-')[1]}`)).toBe(false);
    expect(f.outbox.acknowledged(message!.id)).toBe(true);
    expect(f.outbox.acknowledged(message!.id)).toBe(false);
    f.at(T0 + 60_000);
    expect(f.sent()).toEqual([]);
    expect(f.outbox.pending()).toBe(0);
  });

  it('sends at most a batch at a time', () => {
    const f = setup({ batch: 10 });
    for (let h = 1; h <= 25; h++) f.swipe(T0 - h * HOUR);
    expect(f.outbox.scan()).toBe(25);
    expect(f.sent()).toHaveLength(10);
    expect(f.sent()).toHaveLength(10);
    expect(f.sent()).toHaveLength(5);
  });

  it('walks older history a stretch per scan and sends it once', () => {
    const f = setup();
    for (let d = 40; d <= 60; d++) f.swipe(T0 - d * DAY);
    anonymiseEntries(f.db, { identifiedDays: 30, timezone: TZ, now: T0 });
    expect(f.outbox.scan()).toBe(7);
    expect(f.outbox.scan()).toBe(7);
    expect(f.outbox.scan()).toBe(7);
    expect(f.outbox.scan()).toBe(0);
    expect(f.outbox.pending()).toBe(21);
  });

  it('sends an hour whose figures were removed as an empty revision', () => {
    const f = setup();
    f.swipe(T0 - 5 * HOUR);
    f.outbox.scan();
    f.sent();
    f.db.prepare('DELETE FROM entries').run();
    f.db.prepare('DELETE FROM entry_live_hourly').run();
    expect(f.outbox.scan()).toBe(1);
    f.at(T0 + 1);
    expect(f.sent().map((m) => m.rows)).toEqual([[]]);
  });

  it("sends an ended hour's passages with its figures, never the hour still being counted", () => {
    const f = setup();
    const passages = f.db.prepare(
      "INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out) VALUES ('2026-11-30', ?, 'front', 'staffless', ?, ?)",
    );
    f.swipe(T0 - 2 * HOUR + 60_000); // 11:01 local
    passages.run(12, 4, 3);
    passages.run(13, 2, 0); // now is 13:00 local: still being counted
    expect(f.outbox.scan()).toBe(2);
    const sent = f.sent();
    expect(sent.map((m) => [m.v, m.hour, m.passages])).toEqual([
      [2, 11, []],
      [2, 12, [{ door: 'front', mode: 'staffless', in: 4, out: 3 }]],
    ]);
    expect(sent[1]!.rows).toEqual([]);
    for (const m of sent) f.outbox.acknowledged(m.id);
    // An hour later the 13 o'clock hour has ended and goes; nothing else changed.
    f.at(T0 + HOUR);
    expect(f.outbox.scan()).toBe(1);
    expect(f.sent().map((m) => [m.hour, m.passages])).toEqual([
      [13, [{ door: 'front', mode: 'staffless', in: 2, out: 0 }]],
    ]);
  });

  it('walks older history once more after migration 018, sending only the hours with passages', () => {
    const f = setup();
    for (let d = 40; d <= 45; d++) f.swipe(T0 - d * DAY);
    anonymiseEntries(f.db, { identifiedDays: 30, timezone: TZ, now: T0 });
    for (let i = 0; i < 5; i++) f.outbox.scan();
    expect(f.sent()).toHaveLength(6);
    // An hour without passages has the digest a branch stored before passages were sent (its rows alone), so
    // the walk below finds it unchanged.
    const before = (rows: unknown) =>
      createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 32);
    const stored = f.db.prepare('SELECT digest FROM fleet_hours WHERE day = ? AND hour = ?').pluck();
    const old = readHours(f.db, TZ, '2026-10-01', '2026-10-31', T0);
    expect(old).toHaveLength(6);
    for (const h of old) expect(stored.get(h.day, h.hour)).toBe(before(h.rows));
    // Hours the counter saw back then (one of them an hour with entries, one before the first entry), as a
    // store upgraded from before passages were sent has them: the walk through history was done.
    const passages = f.db.prepare(
      "INSERT INTO passages_hourly (day, hour, door, mode, passages_in, passages_out) VALUES (?, ?, 'front', 'staffless', 3, 1)",
    );
    const withEntries = f.db.prepare('SELECT day, hour FROM entry_stats ORDER BY day LIMIT 1').get() as {
      day: string;
      hour: number;
    };
    passages.run(withEntries.day, withEntries.hour);
    passages.run('2026-10-01', 9);
    expect(f.outbox.scan()).toBe(0);
    f.db.exec(readFileSync('src/store/migrations/018_fleet_passages.sql', 'utf8'));
    let queued = 0;
    for (let i = 0; i < 10; i++) queued += f.outbox.scan();
    expect(queued).toBe(2);
    f.at(T0 + 1);
    expect(f.sent().map((m) => [m.day, m.hour, m.passages.length])).toEqual([
      ['2026-10-01', 9, 1],
      [withEntries.day, withEntries.hour, 1],
    ]);
  });
});
