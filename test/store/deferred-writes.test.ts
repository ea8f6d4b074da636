import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { DeferredWrites, StoreBusyError } from '../../src/store/deferred-writes.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The door process's one queue of store writes: never waiting on its event loop, order kept. */
describe('DeferredWrites', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  function rig(options: ConstructorParameters<typeof DeferredWrites>[2] = {}) {
    const dir = tempDir('deferred-writes-');
    const db = openDb(join(dir.path, 'store.db'));
    const other = openDb(db.name);
    cleanups.push(() => {
      other.close();
      db.close();
      dir.cleanup();
    });
    const writes = new DeferredWrites(db, createLogger('silent'), options);
    const hold = () => {
      other.exec('BEGIN IMMEDIATE');
      return () => other.exec('COMMIT');
    };
    return { db, writes, hold };
  }
  const note = (db: Db, action: string) => () =>
    db.prepare("INSERT INTO audit (ts, actor, action) VALUES (1, 'test', ?)").run(action);
  /** Writes a note, then answers `value`. */
  const noteAnd = (db: Db, action: string, value: string) => () => {
    note(db, action)();
    return value;
  };
  const notes = (db: Db) => db.prepare('SELECT action FROM audit ORDER BY id').pluck().all() as string[];

  it('a keyed write replaces the one still waiting under its key, in its place', async () => {
    const { db, writes, hold } = rig();
    const release = hold();
    writes.write('tick', note(db, 'tick 1'), 'tick');
    writes.write('other', note(db, 'other'));
    writes.write('tick', note(db, 'tick 2'), 'tick');
    expect(writes.waiting).toEqual(['tick', 'other']);
    release();
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(notes(db)).toEqual(['tick 2', 'other']);
    // Nothing waiting: the same key writes again.
    writes.write('tick', note(db, 'tick 3'), 'tick');
    expect(notes(db)).toEqual(['tick 2', 'other', 'tick 3']);
  });

  it('soon answers at once when the lock is free, after the lock is let go otherwise, in order', async () => {
    const { db, writes, hold } = rig();
    await expect(writes.soon('first', noteAnd(db, 'first', 'one'))).resolves.toBe('one');
    const release = hold();
    const started = performance.now();
    writes.write('before', note(db, 'before'));
    const answer = writes.soon('second', noteAnd(db, 'second', 'two'));
    expect(performance.now() - started).toBeLessThan(100);
    let settled = false;
    void answer.finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    release();
    await expect(answer).resolves.toBe('two');
    expect(notes(db)).toEqual(['first', 'before', 'second']);
  });

  it("soon rejects with the write's own error and the queue goes on", async () => {
    const { db, writes } = rig();
    const failing = writes.soon('refused', () => {
      throw new Error('refused by the rules');
    });
    writes.write('after', note(db, 'after'));
    await expect(failing).rejects.toThrow('refused by the rules');
    expect(notes(db)).toEqual(['after']);
  });

  it('soon gives up with StoreBusyError at its deadline and never writes later', async () => {
    const { db, writes, hold } = rig();
    const release = hold();
    const answer = writes.soon('late', note(db, 'late'), 60);
    await expect(answer).rejects.toBeInstanceOf(StoreBusyError);
    expect(writes.pending).toBe(0);
    release();
    writes.write('next', note(db, 'next'));
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(notes(db)).toEqual(['next']);
  });

  it('a write made by a running write joins the queue and runs once, after it', async () => {
    const { db, writes } = rig();
    let outer = 0;
    let inner = 0;
    writes.write('outer', () => {
      outer++;
      note(db, 'outer')();
      writes.write('inner', () => {
        inner++;
        note(db, 'inner')();
      });
    });
    expect(writes.pending).toBe(0);
    expect({ outer, inner }).toEqual({ outer: 1, inner: 1 });
    expect(notes(db)).toEqual(['outer', 'inner']);
  });

  it('past maxPending the oldest is dropped, and a dropped soon is told', async () => {
    const { db, writes, hold } = rig({ maxPending: 2 });
    const release = hold();
    // Its own deadline is far off: only the drop can answer it in time.
    const dropped = writes.soon('oldest', note(db, 'oldest'), 600_000);
    writes.write('b', note(db, 'b'));
    writes.write('c', note(db, 'c'));
    await expect(
      Promise.race([dropped, new Promise((r) => setTimeout(() => r('still waiting'), 1000))]),
    ).rejects.toBeInstanceOf(StoreBusyError);
    release();
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(notes(db)).toEqual(['b', 'c']);
  });
});
