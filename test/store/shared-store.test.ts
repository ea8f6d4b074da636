import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Db,
  openDb,
  openDoorStore,
  openWorkerStore,
  WAL_CHECKPOINT_CEILING_PAGES,
} from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const MB = 1024 * 1024;

/** 6 MB over 60 commits: past SQLite's default checkpoint point (1000 pages of 4 KiB). */
function writeSixMegabytes(db: Db): void {
  db.exec('CREATE TABLE filler (x BLOB)');
  const insert = db.prepare('INSERT INTO filler (x) VALUES (randomblob(?))');
  for (let i = 0; i < 60; i++) db.transaction(() => insert.run(100 * 1024))();
}

/** Past the worker's ceiling, in commits of 400 KiB each. */
function writePastTheCeiling(db: Db): number {
  const bytes = (WAL_CHECKPOINT_CEILING_PAGES + 500) * 4096;
  db.exec('CREATE TABLE filler (x BLOB)');
  const insert = db.prepare('INSERT INTO filler (x) VALUES (randomblob(?))');
  for (let written = 0; written < bytes; written += 400 * 1024)
    db.transaction(() => insert.run(400 * 1024))();
  return bytes;
}

/** A fresh store opened by `open`; `check` gets it, its path and the database file's size before any write. */
function withStore(open: (path: string) => Db, check: (db: Db, path: string, before: number) => void): void {
  const dir = tempDir('shared-store-');
  const path = join(dir.path, 'store.sqlite');
  const db = open(path);
  try {
    check(db, path, statSync(path).size);
  } finally {
    db.close();
    dir.cleanup();
  }
}

describe('the store as the door and the worker open it', () => {
  it("the door's commits never checkpoint, not even past the worker's ceiling (that copy ran on the swipe's path)", () => {
    withStore(openDoorStore, (db, path, before) => {
      const bytes = writePastTheCeiling(db);
      expect(statSync(path).size).toBe(before);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(bytes);
    });
  });

  it("the worker's commits checkpoint past the ceiling (its timer fell behind)", () => {
    withStore(openWorkerStore, (db, path, before) => {
      writePastTheCeiling(db);
      expect(statSync(path).size).toBeGreaterThan(before + (WAL_CHECKPOINT_CEILING_PAGES * 4096) / 2);
    });
  });

  it("leaves checkpointing out of the worker's commits below the ceiling (a commit that checkpoints pays for the copy)", () => {
    withStore(openWorkerStore, (db, path, before) => {
      writeSixMegabytes(db);
      // Nothing was copied back into the database file by a commit: it is all still in the WAL.
      expect(statSync(path).size).toBe(before);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(6 * MB);
      // The worker's timer checkpoint (PASSIVE, outside any transaction) does the copying.
      db.pragma('wal_checkpoint(PASSIVE)');
      expect(statSync(path).size).toBeGreaterThan(before + 6 * MB);
    });
  });

  it('SQLite on its own checkpoints inside commits (what the test above would see without the setting)', () => {
    withStore(openDb, (db, path, before) => {
      writeSixMegabytes(db);
      expect(statSync(path).size).toBeGreaterThan(before + 3 * MB);
    });
  });
});
