import type { Statement } from 'better-sqlite3';
import type { Db } from './db.ts';
import type { JournalEntry } from './door-journal.ts';
import { isBusy } from './busy.ts';
import { PromptWriter, type PromptWriteOptions } from './prompt-write.ts';

export interface JournalMoverOptions {
  /**
   * fdatasync of the store's log (its commits are unsynced, entry_sync after_relay): moved rows leave the journal
   * only once it has run, so a power cut cannot lose a row from both files. Unset: the store's commit synced.
   */
  syncStore?: (() => Promise<void>) | undefined;
  /** How soon to try again after finding the store's write lock taken; doubled on each later find. */
  retryMs?: number;
  /** The longest wait between tries while the lock stays taken (a long hold, a stopped worker). */
  maxRetryMs?: number;
  /** After an error other than a taken lock (logged by the caller once per streak). */
  retryAfterErrorMs?: number;
  /** The journal's log is copied back at most this often, and only once the journal is empty. */
  checkpointEveryMs?: number;
  onError?: (error: unknown) => void;
  /** How the removal from the journal waits for an erasure's lock on it (tests inject a pause). */
  journalWrite?: PromptWriteOptions;
}

/** What one delivery moved, to delete from the journal once the store has it for good. */
interface Moved {
  entryMaxId: number;
  pinMaxId: number;
  seen: { card_hash: string; last_live_ok_at: number }[];
  activity: { card_hash: string; at: number }[];
}

/** An entry as the journal holds it: the store's row, id included. */
type EntryRow = JournalEntry & { id: number };

/**
 * Hands the door journal's rows (store/door-journal.ts) on to the shared store. It tries the store's write lock
 * without waiting and, when the worker holds it, tries again a little later: the door's event loop never blocks
 * on the worker. The journal is read inside the store's transaction, so an erasure (which empties the card's
 * journal rows while it holds that lock) cannot be undone by a delivery. Each move keeps the entry's id; a row
 * already in the store under its id (a delivery cut short by a crash) is not added twice.
 */
export class JournalMover {
  private readonly options: Required<Omit<JournalMoverOptions, 'syncStore' | 'onError' | 'journalWrite'>> &
    JournalMoverOptions;
  private readonly s: {
    entries: Statement;
    pins: Statement;
    seen: Statement;
    activity: Statement;
    storeEntry: Statement;
    insertEntry: Statement;
    insertEntryNewId: Statement;
    insertPin: Statement;
    upsertSeen: Statement;
    touchPatron: Statement;
    dropEntries: Statement;
    dropPins: Statement;
    dropSeen: Statement;
    dropActivity: Statement;
    count: Statement;
  };
  private readonly transfer: () => Moved | null;
  private readonly journalWriter: PromptWriter;
  private timer: NodeJS.Timeout | undefined;
  /** Syncs of the store's log whose moved rows wait to leave the journal. */
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private failing = false;
  private lastCheckpoint = Date.now();
  /** The wait before the next try while the store's lock stays taken. */
  private busyDelayMs: number;
  private tries = 0;
  private movedSinceCheckpoint = false;
  /** Wrong PINs up to this journal id are in the store (journal ids only grow: AUTOINCREMENT). */
  private pinsMovedUpTo = 0;
  /** The store connection's own busy timeout, put back after each try without one. */
  private readonly storeBusyTimeoutMs: number;

  constructor(
    private readonly store: Db,
    private readonly journal: Db,
    options: JournalMoverOptions = {},
  ) {
    this.storeBusyTimeoutMs = store.pragma('busy_timeout', { simple: true }) as number;
    this.options = {
      retryMs: 2,
      maxRetryMs: 100,
      retryAfterErrorMs: 1000,
      checkpointEveryMs: 60_000,
      ...options,
    };
    this.busyDelayMs = this.options.retryMs;
    this.s = {
      entries: journal.prepare(
        'SELECT id, ts, door, mode, outcome, reason, card_hash, category, age_band, source FROM entries ORDER BY id',
      ),
      pins: journal.prepare('SELECT id, card_hash, ts FROM pin_failures ORDER BY id'),
      seen: journal.prepare('SELECT card_hash, last_live_ok_at, category, birth_year FROM patron_seen'),
      activity: journal.prepare('SELECT card_hash, at FROM patron_activity'),
      storeEntry: store.prepare('SELECT ts, door, outcome, reason, card_hash FROM entries WHERE id = ?'),
      insertEntry: store.prepare(
        `INSERT INTO entries (id, ts, door, mode, outcome, reason, card_hash, category, age_band, source)
         VALUES (@id, @ts, @door, @mode, @outcome, @reason, @card_hash, @category, @age_band, @source)`,
      ),
      insertEntryNewId: store.prepare(
        `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
         VALUES (@ts, @door, @mode, @outcome, @reason, @card_hash, @category, @age_band, @source)`,
      ),
      insertPin: store.prepare(
        `INSERT INTO pin_failures (card_hash, ts) SELECT @card_hash, @ts
          WHERE NOT EXISTS (SELECT 1 FROM pin_failures WHERE card_hash = @card_hash AND ts = @ts)`,
      ),
      upsertSeen: store.prepare(
        `INSERT INTO patron_seen (card_hash, last_live_ok_at, category, birth_year)
         VALUES (@card_hash, @last_live_ok_at, @category, @birth_year)
         ON CONFLICT (card_hash) DO UPDATE SET last_live_ok_at = excluded.last_live_ok_at,
           category = excluded.category, birth_year = excluded.birth_year`,
      ),
      touchPatron: store.prepare('UPDATE patrons SET last_activity_at = @at WHERE card_hash = @card_hash'),
      dropEntries: journal.prepare('DELETE FROM entries WHERE id <= ?'),
      dropPins: journal.prepare('DELETE FROM pin_failures WHERE id <= ?'),
      dropSeen: journal.prepare('DELETE FROM patron_seen WHERE card_hash = ? AND last_live_ok_at = ?'),
      dropActivity: journal.prepare('DELETE FROM patron_activity WHERE card_hash = ? AND at = ?'),
      count: journal
        .prepare(
          `SELECT (SELECT COUNT(*) FROM entries) + (SELECT COUNT(*) FROM pin_failures)
                + (SELECT COUNT(*) FROM patron_seen) + (SELECT COUNT(*) FROM patron_activity)`,
        )
        .pluck(),
    };
    this.transfer = store.transaction((): Moved | null => this.copyToStore()).immediate;
    this.journalWriter = new PromptWriter(journal, options.journalWrite);
  }

  /** Journal ids of wrong PINs at or below this are counted in the store already. */
  get pinFailuresMovedUpTo(): number {
    return this.pinsMovedUpTo;
  }

  /** Rows in the journal (including those moved and waiting for the store's sync). */
  get pending(): number {
    return this.s.count.get() as number;
  }

  /** Tries at the store's lock so far (each a transaction begun without waiting). */
  get attempts(): number {
    return this.tries;
  }

  /**
   * Moves what the journal holds now, or arranges to. Never waits for a lock and never throws. A new swipe's
   * rows are tried at once and soon after, however long the lock has been taken.
   */
  deliver(): void {
    this.busyDelayMs = this.options.retryMs;
    this.attempt();
  }

  private attempt(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.moveOnce();
    } catch (error) {
      // Called right after the relay: whatever went wrong, the swipe is done and the rows stay in the journal.
      this.retry(error);
    }
  }

  /**
   * Copies what the journal holds now, even while an earlier copy waits for its sync: a reader of the store
   * after the entry event (Home Assistant's count of the day) must find the entry there. Copying a row again is
   * harmless (see copyToStore).
   */
  private moveOnce(): void {
    let moved: Moved | null;
    this.tries++;
    this.store.pragma('busy_timeout = 0');
    try {
      moved = this.transfer();
    } finally {
      this.store.pragma(`busy_timeout = ${this.storeBusyTimeoutMs}`);
    }
    this.failing = false;
    if (!moved) {
      this.checkpointIfDue();
      return;
    }
    this.pinsMovedUpTo = Math.max(this.pinsMovedUpTo, moved.pinMaxId);
    const sync = this.options.syncStore;
    if (!sync) {
      this.remove(moved);
      return;
    }
    let synced: Promise<void>;
    try {
      synced = sync();
    } catch (error) {
      synced = Promise.reject(error);
    }
    const removal: Promise<void> = synced
      .then(() => this.remove(moved))
      .catch((error: unknown) => {
        this.options.onError?.(error);
        // What stays in the journal is copied again (harmlessly) and removed after a later sync.
        this.schedule(this.options.retryAfterErrorMs);
      })
      .finally(() => this.inFlight.delete(removal));
    this.inFlight.add(removal);
  }

  /** Stops trying; one last delivery that may wait for the lock (what is left moves at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.inFlight]);
    try {
      const moved = this.transfer();
      if (!moved) return;
      await this.options.syncStore?.();
      this.remove(moved);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private copyToStore(): Moved | null {
    const s = this.s;
    const entries = s.entries.all() as EntryRow[];
    const pins = s.pins.all() as { id: number; card_hash: string; ts: number }[];
    const seen = s.seen.all() as {
      card_hash: string;
      last_live_ok_at: number;
      category: string | null;
      birth_year: number | null;
    }[];
    const activity = s.activity.all() as { card_hash: string; at: number }[];
    if (entries.length + pins.length + seen.length + activity.length === 0) return null;
    for (const entry of entries) {
      const there = s.storeEntry.get(entry.id) as
        | Pick<EntryRow, 'ts' | 'door' | 'outcome' | 'reason' | 'card_hash'>
        | undefined;
      if (!there) s.insertEntry.run(entry);
      else if (!sameEntry(there, entry)) s.insertEntryNewId.run(entry);
    }
    for (const pin of pins) s.insertPin.run(pin);
    for (const row of seen) s.upsertSeen.run(row);
    for (const row of activity) s.touchPatron.run(row);
    return {
      entryMaxId: entries.at(-1)?.id ?? 0,
      pinMaxId: pins.at(-1)?.id ?? 0,
      seen: seen.map(({ card_hash, last_live_ok_at }) => ({ card_hash, last_live_ok_at })),
      activity,
    };
  }

  private remove(moved: Moved): void {
    const s = this.s;
    // An erasure may hold the journal's lock for a moment (takeCardFromDoorJournal).
    this.journalWriter.write(
      this.journal.transaction(() => {
        if (moved.entryMaxId) s.dropEntries.run(moved.entryMaxId);
        if (moved.pinMaxId) s.dropPins.run(moved.pinMaxId);
        for (const row of moved.seen) s.dropSeen.run(row.card_hash, row.last_live_ok_at);
        for (const row of moved.activity) s.dropActivity.run(row.card_hash, row.at);
      }).immediate,
    );
    this.movedSinceCheckpoint = true;
  }

  /** The journal's log is copied back only when it is empty and at most once a while: off the swipe's path. */
  private checkpointIfDue(): void {
    if (!this.movedSinceCheckpoint || Date.now() - this.lastCheckpoint < this.options.checkpointEveryMs)
      return;
    this.journal.pragma('wal_checkpoint(PASSIVE)');
    this.lastCheckpoint = Date.now();
    this.movedSinceCheckpoint = false;
  }

  private retry(error: unknown): void {
    if (isBusy(error)) {
      // Each try is a transaction begun on the door's event loop: while the lock stays taken, fewer of them.
      this.schedule(this.busyDelayMs);
      this.busyDelayMs = Math.min(this.busyDelayMs * 2, this.options.maxRetryMs);
      return;
    }
    if (!this.failing) this.options.onError?.(error);
    this.failing = true;
    this.schedule(this.options.retryAfterErrorMs);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, ms);
    this.timer.unref();
  }
}

function sameEntry(
  a: Pick<EntryRow, 'ts' | 'door' | 'outcome' | 'reason' | 'card_hash'>,
  b: Pick<EntryRow, 'ts' | 'door' | 'outcome' | 'reason' | 'card_hash'>,
): boolean {
  return (
    a.ts === b.ts &&
    a.door === b.door &&
    a.outcome === b.outcome &&
    a.reason === b.reason &&
    a.card_hash === b.card_hash
  );
}
