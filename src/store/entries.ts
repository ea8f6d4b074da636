import type { ScheduleState } from '../contract/events.ts';
import type { Reason } from '../contract/reasons.ts';
import type { Db } from './db.ts';
import { JournalMover, type JournalMoverOptions } from './journal-mover.ts';
import { PromptWriter, type PromptWriteOptions } from './prompt-write.ts';

export interface EntryRecord {
  ts: number;
  door: string;
  mode: ScheduleState;
  outcome: 'granted' | 'denied';
  reason: Reason;
  cardHash: string | null;
  category: string | null;
  ageBand: string | null;
  source: string | null;
}

export interface SwipeBookkeeping {
  entry: EntryRecord;
  /** A wrong PIN to count toward lockout. */
  pinFailure: boolean;
  /** A live answer in good standing, remembered for the offline policy allow_known. */
  seenLive: { category: string | null; birthYear: number | null } | null;
  /** The card is in the local registry: mark activity (for the inactive-patron purge). */
  touchLocalPatron: boolean;
}

export interface EntryStoreOptions {
  /** How the swipe's commit waits for the journal's write lock (taken by an erasure only; tests inject its pause). */
  write?: PromptWriteOptions;
  /**
   * Asked once the swipe's relay has moved (`afterRelay`) and must not wait: starts the sync of a commit made
   * unsynced (store.entry_sync after_relay).
   */
  requestSync?: () => void;
  /** How the journal's rows are handed on to the store. */
  delivery?: JournalMoverOptions;
}

/**
 * Everything one swipe writes, in one transaction in the door's journal (store/door-journal.ts), which no other
 * process writes: a swipe never waits for the worker's lock on the store. `afterRelay()`, called once the relay
 * has moved, starts the commit's sync and hands the rows on to the store. The door's reads of its own bookkeeping
 * (wrong PINs, last live check) see both files.
 */
export class EntryStore {
  private readonly insertEntry;
  private readonly insertPinFailure;
  private readonly countStorePinFailures;
  private readonly countJournalPinFailures;
  private readonly upsertSeen;
  private readonly getStoreSeen;
  private readonly getJournalSeen;
  private readonly touchPatron;
  private readonly storeMaxId;
  private readonly journalMaxId;
  private readonly journalOldest;
  private readonly writeSwipe;
  private readonly writer;
  private readonly mover;
  private readonly requestSync: () => void;
  private commitMs = 0;

  constructor(store: Db, journal: Db, options: EntryStoreOptions = {}) {
    this.writer = new PromptWriter(journal, options.write);
    this.mover = new JournalMover(store, journal, options.delivery);
    this.requestSync = options.requestSync ?? (() => {});
    this.insertEntry = journal.prepare(
      `INSERT INTO entries (id, ts, door, mode, outcome, reason, card_hash, category, age_band, source)
       VALUES (@id, @ts, @door, @mode, @outcome, @reason, @cardHash, @category, @ageBand, @source)`,
    );
    this.insertPinFailure = journal.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)');
    const countPins = 'SELECT COUNT(*) AS n FROM pin_failures WHERE card_hash = ? AND ts >= ?';
    this.countStorePinFailures = store.prepare(countPins).pluck();
    this.countJournalPinFailures = journal.prepare(`${countPins} AND id > ?`).pluck();
    this.upsertSeen = journal.prepare(
      `INSERT INTO patron_seen (card_hash, last_live_ok_at, category, birth_year) VALUES (?, ?, ?, ?)
       ON CONFLICT (card_hash) DO UPDATE SET last_live_ok_at = excluded.last_live_ok_at,
         category = excluded.category, birth_year = excluded.birth_year`,
    );
    const seen = 'SELECT last_live_ok_at FROM patron_seen WHERE card_hash = ?';
    this.getStoreSeen = store.prepare(seen).pluck();
    this.getJournalSeen = journal.prepare(seen).pluck();
    this.touchPatron = journal.prepare(
      `INSERT INTO patron_activity (card_hash, at) VALUES (?, ?)
       ON CONFLICT (card_hash) DO UPDATE SET at = excluded.at`,
    );
    this.storeMaxId = store.prepare('SELECT MAX(id) FROM entries').pluck();
    this.journalMaxId = journal.prepare('SELECT MAX(id) FROM entries').pluck();
    this.journalOldest = journal.prepare('SELECT MIN(ts) FROM entries').pluck();
    this.writeSwipe = journal.transaction((b: SwipeBookkeeping): number => {
      const id = this.nextId();
      this.insertEntry.run({ ...b.entry, id });
      const hash = b.entry.cardHash;
      if (hash && b.pinFailure) this.insertPinFailure.run(hash, b.entry.ts);
      if (hash && b.seenLive)
        this.upsertSeen.run(hash, b.entry.ts, b.seenLive.category, b.seenLive.birthYear);
      if (hash && b.touchLocalPatron) this.touchPatron.run(hash, b.entry.ts);
      return id;
    });
  }

  /** How long the last swipe's commit waited for a write lock on the journal. */
  get lastWaitMs(): number {
    return this.writer.lastWaitMs;
  }

  /** How long the last swipe's commit took, lock waits included. */
  get lastCommitMs(): number {
    return this.commitMs;
  }

  /** Rows the journal holds that the store has not taken for good yet. */
  get undelivered(): number {
    return this.mover.pending;
  }

  /** When the oldest entry the store does not have for good yet was made (null: none). */
  oldestUndeliveredAt(): number | null {
    return this.journalOldest.get() as number | null;
  }

  /** Commits the swipe; returns the entry id. Throws when the journal cannot write (the caller must then deny). */
  record(bookkeeping: SwipeBookkeeping): number {
    const started = performance.now();
    const id = this.writer.write(() => this.writeSwipe(bookkeeping));
    this.commitMs = performance.now() - started;
    return id;
  }

  /**
   * The swipe's work once its relay has moved: the commit's sync is started and the rows handed on. Never waits,
   * never throws. Before the relay, the sync's thread would wake beside the swipe and compete with it for a CPU.
   */
  afterRelay(): void {
    this.requestSync();
    this.mover.deliver();
  }

  /** Hands the journal's rows on to the store now if its lock is free, else soon. Never waits, never throws. */
  deliver(): void {
    this.mover.deliver();
  }

  /** The last delivery (may wait for the store's lock): for stop. */
  async stop(): Promise<void> {
    await this.mover.stop();
  }

  pinFailuresSince(cardHash: string, since: number): number {
    return (
      (this.countStorePinFailures.get(cardHash, since) as number) +
      (this.countJournalPinFailures.get(cardHash, since, this.mover.pinFailuresMovedUpTo) as number)
    );
  }

  lastLiveOk(cardHash: string): number | null {
    const store = this.getStoreSeen.get(cardHash) as number | undefined;
    const journal = this.getJournalSeen.get(cardHash) as number | undefined;
    if (store === undefined && journal === undefined) return null;
    return Math.max(store ?? Number.NEGATIVE_INFINITY, journal ?? Number.NEGATIVE_INFINITY);
  }

  /** Entry ids continue the store's (and stay above anything the store was given meanwhile). */
  private nextId(): number {
    const store = (this.storeMaxId.get() as number | null) ?? 0;
    const journal = (this.journalMaxId.get() as number | null) ?? 0;
    return Math.max(store, journal) + 1;
  }
}

/** Coarse age bands for statistics; a birth year never leaves the entry row. */
export function ageBand(birthYear: number | undefined | null, year: number): string | null {
  if (birthYear === undefined || birthYear === null) return null;
  const age = year - birthYear;
  if (age < 13) return '0-12';
  if (age < 16) return '13-15';
  if (age < 18) return '16-17';
  if (age < 67) return '18-66';
  return '67+';
}
