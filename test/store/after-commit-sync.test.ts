import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AfterCommitSync, syncAfterRelay } from '../../src/store/after-commit-sync.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { journalPathFor, openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { swipeBookkeeping } from '../helpers/swipe-bookkeeping.ts';
import { tempDir } from '../helpers/tmp.ts';

const swipe = (ts: number) => swipeBookkeeping({ ts });
/** A swipe as the gate makes it: the commit, the relay (nothing here), then the work after the relay. */
const swipeThrough = (entries: EntryStore, ts: number) => {
  const id = entries.record(swipe(ts));
  entries.afterRelay();
  return id;
};

/** A sync the test finishes by hand. */
function heldSyncs() {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const sync = () =>
    new Promise<void>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  return { sync, pending };
}
const ticks = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};
const synchronous = (db: Db) => db.pragma('synchronous', { simple: true }) as number;
const NORMAL = 1;
const FULL = 2;

/**
 * The door's entry is committed into the OS's cache before the relay moves and reaches the disk right after,
 * off the event loop: a swipe never waits for a disk another process is flushing.
 */
describe("the door's entries are synced after the relay", () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());
  const store = () => {
    const dir = tempDir('after-commit-');
    const storePath = join(dir.path, 'store.sqlite');
    const db = openDb(storePath);
    // The swipe commits to the door's journal: that is the log synced after the relay.
    const journal = openDoorJournal(journalPathFor(storePath));
    cleanup = () => {
      journal.close();
      db.close();
      dir.cleanup();
    };
    return { db, journal };
  };

  it('commits unsynced and starts one sync per commit; commits during a sync share one more sync', async () => {
    const { db, journal } = store();
    expect(synchronous(journal)).toBe(FULL);
    const { sync, pending } = heldSyncs();
    const failures: string[] = [];
    const syncer = syncAfterRelay(journal, 'after_relay', (detail) => failures.push(detail), sync);
    expect(syncer).toBeInstanceOf(AfterCommitSync);
    expect(synchronous(journal)).toBe(NORMAL);
    const entries = new EntryStore(db, journal, { requestSync: () => syncer?.request() });

    swipeThrough(entries, 1);
    // Started right after the relay: the entry's window without a sync is the sync's own time.
    expect(pending).toHaveLength(1);
    // The sync hangs: commits still return at once, and wait for nothing.
    const second = swipeThrough(entries, 2);
    const third = swipeThrough(entries, 3);
    expect(third).toBe(second + 1);
    expect(pending).toHaveLength(1);

    let settled = false;
    const settling = syncer?.settle().then(() => {
      settled = true;
    });
    pending[0]?.resolve();
    await ticks();
    // The two commits made during the first sync: one more sync covers both.
    expect(pending).toHaveLength(2);
    expect(settled).toBe(false);
    pending[1]?.resolve();
    await settling;
    expect(settled).toBe(true);
    expect(pending).toHaveLength(2);
    expect(failures).toEqual([]);

    // Idle again: the next commit syncs at once.
    swipeThrough(entries, 4);
    expect(pending).toHaveLength(3);
    pending[2]?.resolve();
    await syncer?.settle();
  });

  it('a commit made at any moment while a sync ends is synced after it', async () => {
    // A swipe's commit can run between microtasks (the gate awaits the library system first), so it may fall
    // between the last sync's end and the syncer noticing it is idle.
    for (let microtasks = 0; microtasks <= 8; microtasks++) {
      const { db, journal } = store();
      const { sync, pending } = heldSyncs();
      const syncer = syncAfterRelay(journal, 'after_relay', () => {}, sync);
      const entries = new EntryStore(db, journal, { requestSync: () => syncer?.request() });
      swipeThrough(entries, 1);
      pending[0]?.resolve();
      for (let i = 0; i < microtasks; i++) await Promise.resolve();
      swipeThrough(entries, 2);
      await ticks();
      expect(pending, `a commit ${microtasks} microtasks after the sync ended`).toHaveLength(2);
      pending[1]?.resolve();
      await syncer?.settle();
      cleanup?.();
      cleanup = undefined;
    }
  });

  it('a failed sync is reported and puts the commits back to syncing before the relay', async () => {
    const { db, journal } = store();
    const { sync, pending } = heldSyncs();
    const failures: string[] = [];
    const syncer = syncAfterRelay(journal, 'after_relay', (detail) => failures.push(detail), sync);
    const entries = new EntryStore(db, journal, { requestSync: () => syncer?.request() });
    swipeThrough(entries, 1);
    pending[0]?.reject(Object.assign(new Error('input/output error'), { code: 'EIO' }));
    await syncer?.settle();
    expect(failures).toEqual(['EIO']);
    expect(synchronous(journal)).toBe(FULL);
    // Later commits are still requested (and so still synced if the fault passes).
    swipeThrough(entries, 2);
    expect(pending).toHaveLength(2);
    pending[1]?.resolve();
    await syncer?.settle();
    expect(failures).toEqual(['EIO']);
  });

  it('before_relay: every commit syncs itself and nothing runs after it', () => {
    const { journal } = store();
    journal.pragma('synchronous = NORMAL');
    expect(syncAfterRelay(journal, 'before_relay', () => {})).toBeUndefined();
    expect(synchronous(journal)).toBe(FULL);
  });

  it("syncs the store's real write-ahead log", async () => {
    const { db, journal } = store();
    const failures: string[] = [];
    const syncer = syncAfterRelay(journal, 'after_relay', (detail) => failures.push(detail));
    const entries = new EntryStore(db, journal, { requestSync: () => syncer?.request() });
    for (let ts = 1; ts <= 20; ts++) swipeThrough(entries, ts);
    await syncer?.settle();
    expect(failures).toEqual([]);
    expect(synchronous(journal)).toBe(NORMAL);
    // Handed on to the store after each relay, and gone from the journal.
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(20);
    expect(journal.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(0);
  });
});
