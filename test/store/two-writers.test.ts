import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The door and the worker write one store: a transaction that reads, then writes must not fail midway. */
describe('transactions on a store two processes write', () => {
  it('take the write lock at BEGIN: a commit by the other connection waits instead of failing ours', () => {
    const dir = tempDir('two-writers-');
    const path = join(dir.path, 'store.sqlite');
    const ours = openDb(path);
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    let otherError: string | undefined;
    const readThenWrite = ours.transaction(() => {
      const before = ours.prepare('SELECT COUNT(*) FROM audit').pluck().get() as number;
      // The other process tries to commit between our read and our write.
      try {
        other.prepare("INSERT INTO audit (ts, actor, action) VALUES (1, 'other', 'x')").run();
      } catch (error) {
        otherError = (error as { code?: string }).code;
      }
      ours.prepare("INSERT INTO audit (ts, actor, action) VALUES (2, 'ours', 'y')").run();
      return before;
    });
    expect(() => readThenWrite()).not.toThrow();
    expect(otherError).toBe('SQLITE_BUSY');
    // A read-only snapshot asks for a deferred transaction and takes no write lock.
    const snapshot = ours.transaction(() => {
      ours.prepare('SELECT COUNT(*) FROM audit').pluck().get();
      other.prepare("INSERT INTO audit (ts, actor, action) VALUES (3, 'other', 'z')").run();
      return true;
    });
    expect(snapshot.deferred()).toBe(true);
    other.close();
    ours.close();
    dir.cleanup();
  });
});
