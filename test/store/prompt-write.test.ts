import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Db, openDb } from '../../src/store/db.ts';
import { journalPathFor, openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { PromptWriter } from '../../src/store/prompt-write.ts';
import { tempDir } from '../helpers/tmp.ts';
import { swipeBookkeeping } from '../helpers/swipe-bookkeeping.ts';

/**
 * A commit that meets another writer's transaction must take the lock the moment it is free, not after
 * SQLite's own busy wait (1, 2, 5, 10 … ms sleeps). Here the other writer is a second connection in this
 * thread, so only a try that returns at once lets the pause release it.
 */
describe('the door commits as soon as the write lock is free', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  const twoWriters = () => {
    const dir = tempDir('prompt-write-');
    const path = join(dir.path, 'store.sqlite');
    const door = openDb(path);
    const worker = new Database(path);
    cleanup = () => {
      worker.close();
      door.close();
      dir.cleanup();
    };
    return { door, worker };
  };
  const auditRows = (db: Db) => db.prepare('SELECT COUNT(*) FROM audit').pluck().get() as number;
  const insertAudit = (db: Db) =>
    db.transaction(() => db.prepare("INSERT INTO audit (ts, actor, action) VALUES (1, 'door', 'x')").run());

  it('tries again after a short pause instead of sleeping in SQLite, and restores the busy timeout', () => {
    const { door, worker } = twoWriters();
    worker.exec('BEGIN IMMEDIATE');
    const pauses: number[] = [];
    const started = performance.now();
    let firstPauseAfter = Number.NaN;
    const writer = new PromptWriter(door, {
      pause: (ms) => {
        if (pauses.length === 0) firstPauseAfter = performance.now() - started;
        pauses.push(ms);
        worker.exec('COMMIT'); // the worker lets go
      },
    });
    writer.write(insertAudit(door));
    expect(pauses).toEqual([0.25]);
    // SQLite's busy wait would have slept its whole 5 s timeout here: the lock cannot go while we sleep.
    expect(firstPauseAfter).toBeLessThan(1000);
    expect(auditRows(door)).toBe(1);
    expect(door.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('gives up with SQLITE_BUSY after its timeout, having written nothing', () => {
    const { door, worker } = twoWriters();
    worker.exec('BEGIN IMMEDIATE');
    let now = 0;
    let pauses = 0;
    const writer = new PromptWriter(door, {
      timeoutMs: 3,
      clock: () => now,
      pause: (ms) => {
        pauses++;
        now += ms * 4; // each pause a millisecond
      },
    });
    expect(() => writer.write(insertAudit(door))).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    expect(pauses).toBe(3);
    worker.exec('ROLLBACK');
    expect(auditRows(door)).toBe(0);
    expect(door.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('says how long the last write waited for the lock: up to the try that took it, 0 when it was free', () => {
    const { door, worker } = twoWriters();
    worker.exec('BEGIN IMMEDIATE');
    let now = 100;
    let pauses = 0;
    const writer = new PromptWriter(door, {
      clock: () => now,
      pause: () => {
        now += 2;
        if (++pauses === 2) worker.exec('COMMIT');
      },
    });
    writer.write(insertAudit(door));
    expect(writer.lastWaitMs).toBe(4);
    writer.write(insertAudit(door));
    expect(writer.lastWaitMs).toBe(0);
  });

  it('passes any other error on at once', () => {
    const { door } = twoWriters();
    let pauses = 0;
    const writer = new PromptWriter(door, { pause: () => pauses++ });
    const broken = door.transaction(() => door.prepare('INSERT INTO audit (ts) VALUES (NULL)').run());
    expect(() => writer.write(broken)).toThrow(/NOT NULL/);
    expect(pauses).toBe(0);
  });

  it("is how a swipe's entry is committed to the door's journal (whose lock only an erasure takes)", () => {
    const dir = tempDir('prompt-write-');
    const storePath = join(dir.path, 'store.sqlite');
    const store = openDb(storePath);
    const journal = openDoorJournal(journalPathFor(storePath));
    const erasure = new Database(journalPathFor(storePath));
    cleanup = () => {
      erasure.close();
      journal.close();
      store.close();
      dir.cleanup();
    };
    let pauses = 0;
    const entries = new EntryStore(store, journal, {
      write: {
        pause: () => {
          pauses++;
          erasure.exec('COMMIT');
        },
      },
    });
    erasure.exec('BEGIN IMMEDIATE');
    const id = entries.record(swipeBookkeeping());
    expect(pauses).toBe(1);
    expect(entries.lastWaitMs).toBeGreaterThan(0);
    // The commit's own time includes the wait.
    expect(entries.lastCommitMs).toBeGreaterThanOrEqual(entries.lastWaitMs);
    expect(journal.prepare('SELECT COUNT(*) FROM entries WHERE id = ?').pluck().get(id)).toBe(1);
  });

  it('on a connection that keeps no busy timeout (the door’s journal) a write sets no pragma and still waits its 5 s', () => {
    const { door, worker } = twoWriters();
    door.pragma('busy_timeout = 0');
    let now = 0;
    let pauses = 0;
    const writer = new PromptWriter(door, {
      clock: () => now,
      pause: () => {
        pauses++;
        now += 1000;
      },
    });
    const pragma = vi.spyOn(door, 'pragma');
    writer.write(insertAudit(door));
    expect(pragma).toHaveBeenCalledTimes(0);
    worker.exec('BEGIN IMMEDIATE');
    expect(() => writer.write(insertAudit(door))).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    expect(pauses).toBe(5);
    worker.exec('ROLLBACK');
    expect(pragma).toHaveBeenCalledTimes(0);
    expect(door.pragma('busy_timeout', { simple: true })).toBe(0);
  });

  it("a swipe's commit to the door's journal sets no pragma", () => {
    const dir = tempDir('prompt-write-');
    const storePath = join(dir.path, 'store.sqlite');
    const store = openDb(storePath);
    const journal = openDoorJournal(journalPathFor(storePath));
    cleanup = () => {
      journal.close();
      store.close();
      dir.cleanup();
    };
    const entries = new EntryStore(store, journal);
    const pragma = vi.spyOn(journal, 'pragma');
    entries.record(swipeBookkeeping());
    expect(pragma).not.toHaveBeenCalled();
  });
});
