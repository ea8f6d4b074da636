/** The branch's figures outbox on a real SQLite store, with an injected clock. */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetFigures } from '../../src/contract/fleet.ts';
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
});
