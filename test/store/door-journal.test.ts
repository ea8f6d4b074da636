import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { accessReport, eraseCard } from '../../src/retention/report.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { journalPathFor, openDoorJournal } from '../../src/store/door-journal.ts';
import { JournalMover } from '../../src/store/journal-mover.ts';
import { EntryStore, type EntryStoreOptions } from '../../src/store/entries.ts';
import { swipeBookkeeping } from '../helpers/swipe-bookkeeping.ts';
import { tempDir } from '../helpers/tmp.ts';

const CARD = 'c'.repeat(64);
const OTHER = 'd'.repeat(64);
const count = (db: Db, sql: string, ...params: unknown[]) =>
  db
    .prepare(sql)
    .pluck()
    .get(...params) as number;

/**
 * A swipe commits to the door's journal, a file no other process writes, so it never waits for the worker's
 * lock on the store; the rows move on to the store after the relay. The worker here is a second connection to
 * the store in this thread: while it holds the lock, nothing in the door can take it.
 */
describe("the door's journal", () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    cleanup = undefined;
  });

  const setup = (options: EntryStoreOptions = {}) => {
    const dir = tempDir('door-journal-');
    const storePath = join(dir.path, 'store.sqlite');
    const store = openDb(storePath);
    const journal = openDoorJournal(journalPathFor(storePath));
    const worker = new Database(storePath);
    const entries = new EntryStore(store, journal, options);
    cleanup = () => {
      worker.close();
      journal.close();
      store.close();
      dir.cleanup();
    };
    return { storePath, store, journal, worker, entries };
  };

  it("commits a swipe at once while the worker holds the store's lock, and hands it on once the lock is free", async () => {
    let pauses = 0;
    const { store, journal, worker, entries } = setup({ write: { pause: () => pauses++ } });
    worker.exec('BEGIN IMMEDIATE');
    const id = entries.record({ ...swipeBookkeeping({ ts: 10, cardHash: CARD }), pinFailure: true });
    expect(pauses).toBe(0);
    expect(entries.lastWaitMs).toBe(0);
    const started = performance.now();
    entries.deliver();
    // No busy wait on the store (its timeout is 5 s): the delivery is tried again later instead.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(entries.undelivered).toBe(2);
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(0);
    // The door's own reads see what it has not handed on.
    expect(entries.pinFailuresSince(CARD, 0)).toBe(1);
    worker.exec('COMMIT');
    await vi.waitFor(() => expect(entries.undelivered).toBe(0), { timeout: 2000, interval: 5 });
    expect(count(store, 'SELECT COUNT(*) FROM entries WHERE id = ? AND card_hash = ?', id, CARD)).toBe(1);
    expect(count(store, 'SELECT COUNT(*) FROM pin_failures WHERE card_hash = ?', CARD)).toBe(1);
    expect(count(journal, 'SELECT COUNT(*) FROM entries')).toBe(0);
    expect(entries.pinFailuresSince(CARD, 0)).toBe(1);
  });

  it('hands on every kind of row: entries, wrong PINs, last live checks, local-patron activity', () => {
    const { store, entries } = setup();
    store
      .prepare(
        "INSERT INTO patrons (card_hash, category, created_at, last_activity_at) VALUES (?, 'V', 1, 1)",
      )
      .run(CARD);
    entries.record({
      ...swipeBookkeeping({ ts: 50, cardHash: CARD }),
      pinFailure: true,
      seenLive: { category: 'V', birthYear: 1990 },
      touchLocalPatron: true,
    });
    expect(entries.lastLiveOk(CARD)).toBe(50);
    entries.deliver();
    expect(entries.undelivered).toBe(0);
    expect(store.prepare('SELECT last_live_ok_at, category, birth_year FROM patron_seen').get()).toEqual({
      last_live_ok_at: 50,
      category: 'V',
      birth_year: 1990,
    });
    expect(count(store, 'SELECT last_activity_at FROM patrons WHERE card_hash = ?', CARD)).toBe(50);
    expect(entries.lastLiveOk(CARD)).toBe(50);
    expect(entries.pinFailuresSince(CARD, 0)).toBe(1);
  });

  it("counts a wrong PIN once while its delivery waits for the store's sync, and hands on later swipes meanwhile", async () => {
    const syncs: (() => void)[] = [];
    const { store, entries } = setup({
      delivery: { syncStore: () => new Promise<void>((resolve) => syncs.push(resolve)) },
    });
    entries.record({ ...swipeBookkeeping({ ts: 10, cardHash: CARD }), pinFailure: true });
    entries.deliver();
    // In the store (unsynced) and still in the journal: one wrong PIN.
    expect(count(store, 'SELECT COUNT(*) FROM pin_failures')).toBe(1);
    expect(entries.undelivered).toBe(2);
    expect(entries.pinFailuresSince(CARD, 0)).toBe(1);
    // A swipe while that sync runs is in the store at once (a reader after the entry event must find it),
    // and its wrong PIN is counted once too.
    entries.record({ ...swipeBookkeeping({ ts: 20, cardHash: CARD }), pinFailure: true });
    entries.deliver();
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(2);
    expect(count(store, 'SELECT COUNT(*) FROM pin_failures')).toBe(2);
    expect(entries.pinFailuresSince(CARD, 0)).toBe(2);
    expect(syncs).toHaveLength(2);
    // The later sync ends first: both swipes' rows leave the journal; the earlier one's end changes nothing.
    syncs[1]?.();
    await vi.waitFor(() => expect(entries.undelivered).toBe(0));
    syncs[0]?.();
    await entries.stop();
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(2);
    expect(count(store, 'SELECT COUNT(*) FROM pin_failures')).toBe(2);
    expect(entries.pinFailuresSince(CARD, 0)).toBe(2);
    // Journal ids of wrong PINs only grow, so an emptied journal does not hide a new one from the count.
    entries.record({ ...swipeBookkeeping({ ts: 30, cardHash: CARD }), pinFailure: true });
    expect(entries.pinFailuresSince(CARD, 0)).toBe(3);
  });

  it('a delivery cut short after the store committed (a failed sync, a crash) adds nothing twice when repeated', async () => {
    let fail = true;
    const errors: unknown[] = [];
    const { store, entries } = setup({
      delivery: {
        syncStore: async () => {
          if (fail) throw Object.assign(new Error('I/O error'), { code: 'EIO' });
        },
        onError: (error) => errors.push(error),
        retryAfterErrorMs: 60_000,
      },
    });
    const id = entries.record({ ...swipeBookkeeping({ ts: 10, cardHash: CARD }), pinFailure: true });
    entries.deliver();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(entries.undelivered).toBe(2);
    fail = false;
    entries.deliver();
    await vi.waitFor(() => expect(entries.undelivered).toBe(0));
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(1);
    expect(count(store, 'SELECT id FROM entries')).toBe(id);
    expect(count(store, 'SELECT COUNT(*) FROM pin_failures')).toBe(1);
  });

  it('a store that refuses the rows: deliver never throws (it runs right after the relay), reports once, keeps them, and hands them on later', () => {
    const errors: unknown[] = [];
    const { store, entries } = setup({
      delivery: { onError: (e) => errors.push(e), retryAfterErrorMs: 60_000 },
    });
    store.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON entries BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    entries.record(swipeBookkeeping({ ts: 10 }));
    expect(() => entries.deliver()).not.toThrow();
    entries.record(swipeBookkeeping({ ts: 11 }));
    expect(() => entries.deliver()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(entries.undelivered).toBe(2);
    store.exec('DROP TRIGGER refuse');
    entries.deliver();
    expect(entries.undelivered).toBe(0);
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(2);
  });

  it('an entry whose id the store gave to another row meanwhile keeps its place under a new id', () => {
    const { store, worker, entries } = setup();
    const id = entries.record(swipeBookkeeping({ ts: 10, cardHash: CARD }));
    worker
      .prepare(
        "INSERT INTO entries (id, ts, door, mode, outcome, reason) VALUES (?, 5, 'back', 'staffless', 'denied', 'closed')",
      )
      .run(id);
    entries.deliver();
    expect(entries.undelivered).toBe(0);
    expect(store.prepare('SELECT id, door FROM entries ORDER BY id').all()).toEqual([
      { id, door: 'back' },
      { id: id + 1, door: 'main' },
    ]);
    // The next swipe's id continues after both.
    expect(entries.record(swipeBookkeeping({ ts: 20 }))).toBe(id + 2);
  });

  it('ids continue from the store', () => {
    const { store, entries } = setup();
    store
      .prepare(
        "INSERT INTO entries (id, ts, door, mode, outcome, reason) VALUES (41, 5, 'main', 'staffless', 'granted', 'allow')",
      )
      .run();
    expect(entries.record(swipeBookkeeping({ ts: 10 }))).toBe(42);
    expect(entries.record(swipeBookkeeping({ ts: 11 }))).toBe(43);
  });

  it("the access report lists the card's rows the door has not handed on, each once", async () => {
    // The door's copy waits for the store's sync, so the first swipe is in both files for now.
    const { storePath, store, entries } = setup({ delivery: { syncStore: () => new Promise(() => {}) } });
    const first = entries.record({
      ...swipeBookkeeping({ ts: Date.UTC(2026, 10, 30, 12), cardHash: CARD }),
      pinFailure: true,
    });
    entries.deliver();
    expect(count(store, 'SELECT COUNT(*) FROM entries WHERE id = ?', first)).toBe(1);
    // The second is only in the journal: the door's connection to the store cannot write.
    store.pragma('query_only = ON');
    const second = entries.record({
      ...swipeBookkeeping({ ts: Date.UTC(2026, 10, 30, 12, 5), cardHash: CARD }),
      seenLive: { category: 'V', birthYear: 1980 },
    });
    entries.record(swipeBookkeeping({ ts: Date.UTC(2026, 10, 30, 12, 6), cardHash: OTHER }));
    entries.deliver();
    expect(count(store, 'SELECT COUNT(*) FROM entries WHERE id = ?', second)).toBe(0);
    // The report runs in another process (the worker, or the CLI), on a connection of its own.
    const admin = openDb(storePath);
    try {
      const report = accessReport(admin, CARD, { actor: 'admin', reason: 'a request' });
      expect(report.entries.map((e) => e.id)).toEqual([first, second]);
      expect(report.pinFailures).toEqual([{ at: '2026-11-30T12:00:00.000Z' }]);
      expect(report.patronSeen).toMatchObject({ lastLiveOkAt: '2026-11-30T12:05:00.000Z', category: 'V' });
    } finally {
      admin.close();
      store.pragma('query_only = OFF');
    }
  });

  it("an erasure takes the card's rows the door has not handed on: they are counted, and the delivery cannot bring them back", async () => {
    const { storePath, store, worker, entries } = setup();
    worker.exec('BEGIN IMMEDIATE');
    entries.record({
      ...swipeBookkeeping({ ts: Date.UTC(2026, 10, 30, 12), cardHash: CARD }),
      pinFailure: true,
      seenLive: { category: 'V', birthYear: null },
    });
    entries.record(swipeBookkeeping({ ts: Date.UTC(2026, 10, 30, 12, 5), cardHash: OTHER }));
    entries.deliver();
    worker.exec('COMMIT');
    // The erasure runs in another process (the worker, or the CLI), on a connection of its own.
    const admin = openDb(storePath);
    try {
      const result = eraseCard(admin, CARD, 'admin', 'a request', { timezone: 'Europe/Oslo' });
      expect(result.entries).toBe(1);
      expect(result.pinFailures).toBe(0);
    } finally {
      admin.close();
    }
    await vi.waitFor(() => expect(entries.undelivered).toBe(0));
    expect(count(store, 'SELECT COUNT(*) FROM entries WHERE card_hash = ?', CARD)).toBe(0);
    expect(count(store, 'SELECT COUNT(*) FROM pin_failures WHERE card_hash = ?', CARD)).toBe(0);
    expect(count(store, 'SELECT COUNT(*) FROM patron_seen WHERE card_hash = ?', CARD)).toBe(0);
    expect(entries.pinFailuresSince(CARD, 0)).toBe(0);
    expect(entries.lastLiveOk(CARD)).toBeNull();
    // The erased card's swipe is in the statistics, the other card's entry is untouched.
    expect(count(store, 'SELECT SUM(count) FROM entry_stats')).toBe(1);
    expect(count(store, 'SELECT COUNT(*) FROM entries WHERE card_hash = ?', OTHER)).toBe(1);
  });

  it("keeps the journal's log short: it is copied back once the journal is empty", () => {
    const { storePath, entries } = setup({ delivery: { checkpointEveryMs: 0 } });
    for (let ts = 1; ts <= 300; ts++) {
      entries.record(swipeBookkeeping({ ts, cardHash: CARD }));
      entries.deliver();
      entries.deliver();
    }
    // Without the copy each swipe and delivery adds pages: 300 would pass a megabyte.
    expect(statSync(`${journalPathFor(storePath)}-wal`).size).toBeLessThan(200_000);
  });

  it("while the store's lock stays taken the tries thin out (each begins a transaction on the door's loop); a new swipe's rows are tried at once and soon after", () => {
    const { store, journal, worker, entries } = setup();
    const mover = new JournalMover(store, journal);
    vi.useFakeTimers();
    try {
      worker.exec('BEGIN IMMEDIATE');
      entries.record(swipeBookkeeping({ ts: 10, cardHash: CARD }));
      mover.deliver();
      vi.advanceTimersByTime(1000);
      // Tries at 0, 2, 6, 14, 30, 62, 126 ms, then every 100 ms: 15 in the first second (a fixed 2 ms: 500).
      expect(mover.attempts).toBe(15);
      entries.record(swipeBookkeeping({ ts: 11, cardHash: CARD }));
      mover.deliver();
      vi.advanceTimersByTime(14);
      expect(mover.attempts).toBe(15 + 4);
      // A long hold: at 30, 62 and 126 ms, then every 100 ms, never longer.
      vi.advanceTimersByTime(60_000);
      expect(mover.attempts).toBe(19 + 3 + 598);
      worker.exec('COMMIT');
      vi.advanceTimersByTime(100);
      expect(mover.pending).toBe(0);
      expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('what a stop could not hand on (the lock still taken) is handed on at the next start', async () => {
    const dir = tempDir('door-journal-');
    const storePath = join(dir.path, 'store.sqlite');
    const store = openDb(storePath);
    store.pragma('busy_timeout = 50');
    const worker = new Database(storePath);
    cleanup = () => {
      worker.close();
      store.close();
      dir.cleanup();
    };
    const errors: unknown[] = [];
    const journal = openDoorJournal(journalPathFor(storePath));
    const entries = new EntryStore(store, journal, { delivery: { onError: (e) => errors.push(e) } });
    worker.exec('BEGIN IMMEDIATE');
    const id = entries.record(swipeBookkeeping({ ts: 10 }));
    await entries.stop();
    expect(errors).toEqual([expect.objectContaining({ code: 'SQLITE_BUSY' })]);
    journal.close();
    worker.exec('COMMIT');
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(0);
    const reopened = openDoorJournal(journalPathFor(storePath));
    try {
      const again = new EntryStore(store, reopened);
      again.deliver();
      expect(store.prepare('SELECT id FROM entries').pluck().all()).toEqual([id]);
      expect(again.undelivered).toBe(0);
    } finally {
      reopened.close();
    }
  });

  it("waits for an erasure's lock on the journal to remove what it handed on, and reports no error", async () => {
    const errors: unknown[] = [];
    let synced: () => void = () => {};
    let pauses = 0;
    let erasure: Database.Database | undefined;
    const { storePath, store, journal, entries } = setup({
      delivery: {
        syncStore: () => new Promise<void>((resolve) => (synced = resolve)),
        onError: (error) => errors.push(error),
        journalWrite: {
          pause: () => {
            pauses++;
            erasure?.exec('COMMIT');
          },
        },
      },
    });
    entries.record(swipeBookkeeping({ ts: 10, cardHash: CARD }));
    entries.deliver();
    expect(count(store, 'SELECT COUNT(*) FROM entries')).toBe(1);
    erasure = new Database(journalPathFor(storePath));
    erasure.exec('BEGIN IMMEDIATE');
    synced();
    await vi.waitFor(() => expect(entries.undelivered).toBe(0), { timeout: 2000, interval: 5 });
    erasure.close();
    expect(pauses).toBe(1);
    expect(errors).toEqual([]);
    expect(count(journal, 'SELECT COUNT(*) FROM entries')).toBe(0);
  });

  it('the journal sits beside the store; an in-memory store has an in-memory journal', () => {
    expect(journalPathFor('/var/lib/dorvakt/store.sqlite')).toBe('/var/lib/dorvakt/store.sqlite.door.sqlite');
    expect(journalPathFor(':memory:')).toBe(':memory:');
  });
});
