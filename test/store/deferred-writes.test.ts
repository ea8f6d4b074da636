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

  function rig(options: ConstructorParameters<typeof DeferredWrites>[2] = {}, busyTimeoutMs?: number) {
    const dir = tempDir('deferred-writes-');
    const db = openDb(join(dir.path, 'store.db'));
    if (busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const other = openDb(db.name);
    cleanups.push(() => {
      other.close();
      db.close();
      dir.cleanup();
    });
    const logged: { msg: string; what?: string; err?: string }[] = [];
    const log = createLogger('info', { write: (line: string) => void logged.push(JSON.parse(line)) });
    const writes = new DeferredWrites(db, log, options);
    const hold = () => {
      other.exec('BEGIN IMMEDIATE');
      return () => other.exec('COMMIT');
    };
    return { db, writes, hold, logged };
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
    writes.write('first', note(db, 'first'));
    writes.write('tick', note(db, 'tick 1'), 'tick');
    writes.write('other', note(db, 'other'), 'other');
    writes.write('tick', note(db, 'tick 2'), 'tick');
    expect(writes.waiting).toEqual(['first', 'tick', 'other']);
    release();
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(notes(db)).toEqual(['first', 'tick 2', 'other']);
    // Nothing waiting: the same key writes again.
    writes.write('tick', note(db, 'tick 3'), 'tick');
    expect(notes(db)).toEqual(['first', 'tick 2', 'other', 'tick 3']);
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
    writes.write('earlier', note(db, 'earlier'));
    const answer = writes.soon('late', note(db, 'late'), 60);
    writes.write('later', note(db, 'later'));
    // Its name is what the dashboard shows the admin ("store busy, try again").
    await expect(answer).rejects.toMatchObject({
      name: 'StoreBusyError',
      message: 'late: the store stayed locked by another process',
    });
    await expect(answer).rejects.toBeInstanceOf(StoreBusyError);
    // Only it left the queue.
    expect(writes.waiting).toEqual(['earlier', 'later']);
    release();
    writes.write('next', note(db, 'next'));
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(notes(db)).toEqual(['earlier', 'later', 'next']);
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

  it('past maxPending the oldest is dropped (logged with what it was), and a dropped soon is told', async () => {
    const { db, writes, hold, logged } = rig({ maxPending: 2 });
    const release = hold();
    // Its own deadline is far off: only the drop can answer it in time.
    const dropped = writes.soon('oldest', note(db, 'oldest'), 600_000);
    writes.write('b', note(db, 'b'));
    writes.write('c', note(db, 'c'));
    await expect(
      Promise.race([dropped, new Promise((r) => setTimeout(() => r('still waiting'), 1000))]),
    ).rejects.toBeInstanceOf(StoreBusyError);
    await expect(dropped).rejects.toThrow('oldest: too many writes waiting for the store');
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'store write dropped: the lock stayed taken',
        what: 'oldest',
        pending: 2,
      }),
    );
    release();
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    expect(notes(db)).toEqual(['b', 'c']);
  });

  it('a write that fails for another reason is logged with what it was, and the rest go on', () => {
    const { db, writes, logged } = rig();
    writes.write('broken', () => db.prepare('INSERT INTO no_such_table VALUES (1)').run());
    writes.write('after', note(db, 'after'));
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'store write failed',
        what: 'broken',
        err: expect.stringMatching(/no such table/),
      }),
    );
    expect(notes(db)).toEqual(['after']);
  });

  it('tries again after 5 ms, doubling each time up to maxRetryMs, and leaves the busy timeout as it found it', async () => {
    const { db, writes, hold } = rig({ retryMs: 5, maxRetryMs: 80 });
    const tries: number[] = [];
    const release = hold();
    writes.write('counted', () => {
      tries.push(performance.now());
      note(db, 'counted')();
    });
    await new Promise((r) => setTimeout(r, 450));
    release();
    await vi.waitFor(() => expect(writes.pending).toBe(0));
    const gaps = tries.slice(1).map((at, i) => at - tries[i]!);
    // 5, 10, 20, 40, 80, 80 … ms (timers here run a few ms late).
    expect(gaps[0]).toBeLessThan(40);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]! - 2);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(70);
    expect(Math.max(...gaps)).toBeLessThan(160);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('a write made while the queue waits for its timer waits too, without an extra try', () => {
    const { db, writes, hold } = rig();
    let tries = 0;
    const release = hold();
    writes.write('first', () => {
      tries++;
      note(db, 'first')();
    });
    writes.write('second', note(db, 'second'));
    expect(tries).toBe(1);
    expect(writes.waiting).toEqual(['first', 'second']);
    release();
  });

  it('at the stop, a write still locked out after the busy timeout is given up, not kept for a timer', () => {
    const { db, writes, hold, logged } = rig({}, 50);
    const release = hold();
    writes.write('at stop', note(db, 'at stop'));
    writes.flush();
    expect(writes.pending).toBe(0);
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'store write failed', what: 'at stop' }));
    release();
  });

  it('a write after the store is closed (a late alarm at stop) does nothing and throws nothing', () => {
    const { db, writes } = rig();
    db.close();
    expect(() => writes.write('late', note(db, 'late'))).not.toThrow();
  });
});
