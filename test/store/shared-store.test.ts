import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Db, openDb, openSharedStore } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';

const MB = 1024 * 1024;

/** 6 MB over 60 commits: past SQLite's default checkpoint point (1000 pages of 4 KiB). */
function writeSixMegabytes(db: Db): void {
  db.exec('CREATE TABLE filler (x BLOB)');
  const insert = db.prepare('INSERT INTO filler (x) VALUES (randomblob(?))');
  for (let i = 0; i < 60; i++) db.transaction(() => insert.run(100 * 1024))();
}

describe('the store as the door and the worker open it', () => {
  it('leaves checkpointing out of every commit (a commit that checkpoints holds the other process waiting)', () => {
    const dir = tempDir('shared-store-');
    try {
      const path = join(dir.path, 'store.sqlite');
      const db = openSharedStore(path);
      const before = statSync(path).size;
      writeSixMegabytes(db);
      // Nothing was copied back into the database file by a commit: it is all still in the WAL.
      expect(statSync(path).size).toBe(before);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(6 * MB);
      // The worker's timer checkpoint (PASSIVE, outside any transaction) does the copying.
      db.pragma('wal_checkpoint(PASSIVE)');
      expect(statSync(path).size).toBeGreaterThan(before + 6 * MB);
      db.close();
    } finally {
      dir.cleanup();
    }
  });

  it('SQLite on its own checkpoints inside commits (what the test above would see without the setting)', () => {
    const dir = tempDir('shared-store-');
    try {
      const path = join(dir.path, 'store.sqlite');
      const db = openDb(path);
      const before = statSync(path).size;
      writeSixMegabytes(db);
      expect(statSync(path).size).toBeGreaterThan(before + 3 * MB);
      db.close();
    } finally {
      dir.cleanup();
    }
  });
});
